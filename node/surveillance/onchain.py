"""The on-chain half of market surveillance: register a model, file a computed report with
its evidence, answer it, and the REGULATOR's queue and rulings (``SurveillanceDesk``).

The chain keeps hashes only: the model id (keccak256 of the model file), the feature
schema hash, the feature-vector hash, response and reason documents' hashes. The full
feature vector travels off chain so anyone can recompute its hash and the model's score.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.surveillance import (
    MAX_TRADE_IDS,
    ReportInfo,
    SurveillanceDeskClient,
    to_bytes32,
)
from node.surveillance.model import SurveillanceModel
from node.surveillance.scan import SurveillanceReport


class FiledReport(BaseModel):
    """What filing a report returned."""

    report_id: int
    tx_hash: str
    gas_used: int
    trade_ids: list[int]


def document_hash(text: str | None = None, path: Path | None = None) -> str:
    """keccak256 (0x-hex) of a response or reason document given as text or a file."""
    if (text is None) == (path is None):
        raise ValueError("give exactly one of text or path")
    data = path.read_bytes() if path is not None else str(text).encode()
    return "0x" + Web3.keccak(data).hex().removeprefix("0x")


def evidence_trade_ids(report: SurveillanceReport, limit: int = MAX_TRADE_IDS) -> list[int]:
    """The trade ids a report names on chain: the latest ``limit`` evidence trades."""
    return sorted(report.trade_ids)[-limit:] if report.trade_ids else []


def register_model(desk: SurveillanceDeskClient, model: SurveillanceModel) -> TxReceipt:
    """REGULATOR: register ``model``'s id, feature schema hash and threshold."""
    return desk.register_model(
        model.model_id, model.metadata.schema_hash, model.metadata.threshold_ppm
    )


def file_report(desk: SurveillanceDeskClient, report: SurveillanceReport) -> FiledReport:
    """File ``report`` (from :func:`node.surveillance.scan.build_report`) as the desk's
    sender; the contract checks the model, the threshold, duplicates and self-reports."""
    trade_ids = evidence_trade_ids(report)
    receipt = desk.file_report(
        report.node,
        report.model_id,
        report.feature_hash,
        report.score_ppm,
        report.first_period,
        report.last_period,
        trade_ids,
    )
    return FiledReport(
        report_id=desk.filed_report_id(receipt),
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        gas_used=int(receipt["gasUsed"]),
        trade_ids=trade_ids,
    )


def queue(desk: SurveillanceDeskClient, page_size: int = 100) -> list[ReportInfo]:
    """Every pending report, paged through the contract's view."""
    out: list[ReportInfo] = []
    offset = 0
    while True:
        page = desk.pending_reports(offset, page_size)
        out.extend(page)
        if len(page) < page_size:
            return sorted(out, key=lambda r: r.report_id)
        offset += page_size


def rule(
    desk: SurveillanceDeskClient,
    report_id: int,
    *,
    confirmed: bool,
    reason_hash: str | bytes,
    penalty_fen: int = 0,
    reputation_points: int = 0,
) -> TxReceipt:
    """REGULATOR: confirm (with a penalty) or dismiss report ``report_id``."""
    return desk.rule(report_id, confirmed, penalty_fen, reputation_points, to_bytes32(reason_hash))
