"""The day's surveillance stage, shared by both engines: the shipped model calibrated for
one-day windows scores every node on the day's chain history; a node files a report on each
node the model flags (score at or above the registered threshold, the highest
:data:`MAX_REPORTS` first), the accused responds and REGULATOR rules it from the report's
evidence alone by :func:`ruling` (:mod:`node.surveillance.ruling`, documented in
``docs/surveillance.md``): confirmed when the recomputed score reaches the registered
threshold and the vector shows one violation kind's pattern beyond the honest bounds the model
publishes, dismissed otherwise. The scenario's truth is used only afterwards, to score the
rulings (:func:`confusion`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.context import LedgerContext
from node.surveillance.ruling import Ruling, rule
from scripts.day import plan

#: The window the day's scan is calibrated for.
WINDOW = "day"
#: At most this many reports are filed a day (the highest scores first).
MAX_REPORTS = 8


def ruling(report: Any, model: Any, threshold_ppm: int) -> Ruling:
    """REGULATOR's decision on a report, from its evidence alone: the score recomputed from
    the report's feature vector with the registered model, against the registered threshold,
    and the vector against the model's published honest bounds
    (:func:`node.surveillance.ruling.rule`)."""
    from node.surveillance.scan import report_vectors

    # A report of a model with trailing context also carries the context vector.
    vector, context = report_vectors(report)
    bounds = model.metadata.honest_bounds
    return rule(
        model.score(vector, context),
        threshold_ppm,
        report.features,
        bounds,
        report.context_features,
    )


def confusion(confirmed: set[str], truth: set[str], scored: list[str]) -> dict[str, int]:
    """Rulings against the scenario's truth over the ``scored`` nodes: a confirmed violator is
    a true positive, a confirmed honest node a false positive, a violator not confirmed
    (dismissed or never reported) a false negative."""
    nodes = set(scored)
    return {
        "tp": len(nodes & confirmed & truth),
        "fp": len((nodes & confirmed) - truth),
        "fn": len((nodes & truth) - confirmed),
        "tn": len(nodes - confirmed - truth),
    }


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

    @property
    def to_report(self) -> list[Any]:
        """The rows reports are filed on: flagged, highest first, at most MAX_REPORTS."""
        return [r for r in self.rows if r.score_ppm >= self.threshold][:MAX_REPORTS]


def scan_day(ctx: LedgerContext, regulator: LocalAccount, period_id: int) -> DayScan:
    """Register the shipped model if needed and score every node of ``period_id``."""
    from node.surveillance import onchain
    from node.surveillance.chain import ChainHistorySource
    from node.surveillance.history import collect
    from node.surveillance.model import SurveillanceModel
    from node.surveillance.scan import scan

    model = SurveillanceModel.load(window=WINDOW)
    desk = ctx.client(SurveillanceDeskClient, regulator)
    sent = 0
    if not desk.is_model_registered(model.model_id):
        onchain.register_model(desk, model)
        sent += 1
    threshold = desk.model_info(model.model_id).threshold_ppm
    t0 = time.perf_counter()
    history = collect(ChainHistorySource(ctx, regulator), period_id, period_id)
    t1 = time.perf_counter()
    result = scan(history, model, WINDOW)
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
    ruling: Ruling

    @property
    def confirmed(self) -> bool:
        return self.ruling.confirmed


def file_and_rule(
    ctx: LedgerContext,
    day: DayScan,
    reporter: LocalAccount | None,
    accused: LocalAccount,
    *,
    response: Callable[[int], str],
    reason: Callable[[int, bool], str],
) -> Filed | None:
    """``reporter`` files a report on ``accused`` (a flagged node), which responds;
    REGULATOR rules it by :func:`ruling` on the report's score (with
    :func:`scripts.day.plan.penalty`). None (nothing sent) without a reporter or without
    evidence trades. ``response`` and ``reason``: the texts of the response and the ruling,
    given the report id (and the ruling)."""
    from node.surveillance import onchain
    from node.surveillance.scan import build_report

    report = build_report(day.history, accused.address, day.model, WINDOW)
    if reporter is None or not onchain.evidence_trade_ids(report):
        return None
    decision = ruling(report, day.model, day.threshold)
    confirmed = decision.confirmed
    filed = onchain.file_report(ctx.client(SurveillanceDeskClient, reporter), report)
    ctx.client(SurveillanceDeskClient, accused).respond(
        filed.report_id, onchain.document_hash(text=response(filed.report_id))
    )
    penalty_fen, points = plan.penalty(confirmed)
    onchain.rule(
        day.regulator,
        filed.report_id,
        confirmed=confirmed,
        reason_hash=onchain.document_hash(text=reason(filed.report_id, confirmed)),
        penalty_fen=penalty_fen,
        reputation_points=points,
    )
    return Filed(
        report=report,
        report_id=filed.report_id,
        trade_ids=list(filed.trade_ids),
        ruling=decision,
    )
