"""The day's surveillance stage, shared by both engines: the shipped model scores every node
on the day's chain history; when the top score passes the registered threshold an honest
node files a report on the top-scoring node, the accused responds and REGULATOR rules it
(the investigation simulated by the scenario's ground truth, :func:`scripts.day.plan.penalty`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.context import LedgerContext
from scripts.day import plan


@dataclass
class DayScan:
    """The model's scores of the period's nodes."""

    model: Any
    regulator: SurveillanceDeskClient
    threshold: int
    history: Any
    rows: list[Any]
    #: Transactions sent (the model's registration, if it was not registered).
    sent: int = 0
    read_s: float = 0.0
    scan_s: float = 0.0

    @property
    def top(self) -> Any:
        return self.rows[0] if self.rows else None

    @property
    def top_score(self) -> int:
        return int(self.rows[0].score_ppm) if self.rows else 0

    @property
    def flagged(self) -> int:
        return sum(1 for r in self.rows if r.score_ppm >= self.threshold)

    @property
    def reportable(self) -> bool:
        """Whether the top score passes the threshold (a report may be filed)."""
        return self.top is not None and self.top_score >= self.threshold


def scan_day(ctx: LedgerContext, regulator: LocalAccount, period_id: int) -> DayScan:
    """Register the shipped model if needed and score every node of ``period_id``."""
    from node.surveillance import onchain
    from node.surveillance.chain import ChainHistorySource
    from node.surveillance.history import collect
    from node.surveillance.model import SurveillanceModel
    from node.surveillance.scan import scan

    model = SurveillanceModel.load()
    desk = ctx.client(SurveillanceDeskClient, regulator)
    sent = 0
    if not desk.is_model_registered(model.model_id):
        onchain.register_model(desk, model)
        sent += 1
    threshold = desk.model_info(model.model_id).threshold_ppm
    t0 = time.perf_counter()
    history = collect(ChainHistorySource(ctx, regulator), period_id, period_id)
    t1 = time.perf_counter()
    result = scan(history, model)
    return DayScan(
        model=model,
        regulator=desk,
        threshold=threshold,
        history=history,
        rows=list(result.rows),
        sent=sent,
        read_s=round(t1 - t0, 2),
        scan_s=round(time.perf_counter() - t1, 2),
    )


@dataclass
class Filed:
    """A report filed, answered and ruled."""

    report: Any
    report_id: int
    trade_ids: list[int]
    confirmed: bool


def file_and_rule(
    ctx: LedgerContext,
    day: DayScan,
    reporter: LocalAccount | None,
    accused: LocalAccount,
    confirmed: bool,
    *,
    response: Callable[[int], str],
    reason: Callable[[int], str],
) -> Filed | None:
    """``reporter`` files a report on the top-scoring node (``accused``), which responds;
    REGULATOR rules it (``confirmed``: with :func:`scripts.day.plan.penalty`). None (nothing
    sent) without a reporter or without evidence trades. ``response`` and ``reason``: the
    texts of the response and the ruling, given the report id."""
    from node.surveillance import onchain
    from node.surveillance.scan import build_report

    report = build_report(day.history, day.top.node, day.model)
    if reporter is None or not onchain.evidence_trade_ids(report):
        return None
    filed = onchain.file_report(ctx.client(SurveillanceDeskClient, reporter), report)
    ctx.client(SurveillanceDeskClient, accused).respond(
        filed.report_id, onchain.document_hash(text=response(filed.report_id))
    )
    penalty_fen, points = plan.penalty(confirmed)
    onchain.rule(
        day.regulator,
        filed.report_id,
        confirmed=confirmed,
        reason_hash=onchain.document_hash(text=reason(filed.report_id)),
        penalty_fen=penalty_fen,
        reputation_points=points,
    )
    return Filed(
        report=report,
        report_id=filed.report_id,
        trade_ids=list(filed.trade_ids),
        confirmed=confirmed,
    )
