"""Client of ``SurveillanceDesk`` (contracts/interfaces/ISurveillanceDesk.sol): registered
surveillance models, node reports with evidence, responses and REGULATOR rulings."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from eth_typing import HexStr
from pydantic import BaseModel, ConfigDict
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.errors import ChainError, ValidationError

#: Largest number of trade ids one report names.
MAX_TRADE_IDS = 32
PPM = 1_000_000


class ReportStatus(IntEnum):
    NONE = 0
    PENDING = 1
    CONFIRMED = 2
    DISMISSED = 3
    EXPIRED = 4


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def to_bytes32(value: str | bytes) -> bytes:
    """A 0x-hex (or raw) 32-byte hash."""
    raw = bytes(Web3.to_bytes(hexstr=HexStr(value))) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValidationError(f"not a 32-byte hash: {value!r}")
    return raw


def _addr(value: str) -> str:
    if not Web3.is_address(value):
        raise ValidationError(f"not an address: {value!r}")
    return Web3.to_checksum_address(value)


class ModelInfo(BaseModel):
    """A registered model (hashes as 0x-hex)."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    schema_hash: str
    threshold_ppm: int
    registered_at: int
    regulator: str

    @classmethod
    def from_tuple(cls, v: Sequence[Any]) -> ModelInfo:
        return cls(
            model_id=_hex(v[0]),
            schema_hash=_hex(v[1]),
            threshold_ppm=int(v[2]),
            registered_at=int(v[3]),
            regulator=str(v[4]),
        )


class ReportInfo(BaseModel):
    """One report and its ruling (hashes as 0x-hex)."""

    model_config = ConfigDict(frozen=True)

    report_id: int
    status: ReportStatus
    reporter: str
    accused: str
    model_id: str
    feature_hash: str
    score_ppm: int
    first_period: int
    last_period: int
    filed_at: int
    rule_by: int
    response_hash: str
    responded_at: int
    ruled_at: int
    penalty_fen: int
    slashed_fen: int
    reputation_points: int
    reason_hash: str
    trade_ids: list[int]

    @classmethod
    def from_tuple(cls, v: Sequence[Any], trade_ids: Sequence[int]) -> ReportInfo:
        """From the ``reportInfo`` tuple and the evidence trade ids of the report's
        ``ViolationReported`` event (the contract does not store them)."""
        return cls(
            report_id=int(v[0]),
            status=ReportStatus(int(v[1])),
            reporter=str(v[2]),
            accused=str(v[3]),
            model_id=_hex(v[4]),
            feature_hash=_hex(v[5]),
            score_ppm=int(v[6]),
            first_period=int(v[7]),
            last_period=int(v[8]),
            filed_at=int(v[9]),
            rule_by=int(v[10]),
            response_hash=_hex(v[11]),
            responded_at=int(v[12]),
            ruled_at=int(v[13]),
            penalty_fen=int(v[14]),
            slashed_fen=int(v[15]),
            reputation_points=int(v[16]),
            reason_hash=_hex(v[17]),
            trade_ids=[int(t) for t in trade_ids],
        )


class ReporterRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    filed: int
    confirmed: int
    dismissed: int


class SurveillanceDeskClient(ContractClient):
    """Models, reports, responses and rulings."""

    ARTIFACT = "SurveillanceDesk"

    # ---------------------------------------------------------------- writes
    def register_model(
        self, model_id: str | bytes, schema_hash: str | bytes, threshold_ppm: int
    ) -> TxReceipt:
        return self._transact(
            "registerModel", to_bytes32(model_id), to_bytes32(schema_hash), threshold_ppm
        )

    def file_report(
        self,
        accused: str,
        model_id: str | bytes,
        feature_hash: str | bytes,
        score_ppm: int,
        first_period: int,
        last_period: int,
        trade_ids: Sequence[int],
    ) -> TxReceipt:
        return self._transact(
            "fileReport",
            _addr(accused),
            to_bytes32(model_id),
            to_bytes32(feature_hash),
            score_ppm,
            first_period,
            last_period,
            list(trade_ids),
        )

    def respond(self, report_id: int, response_hash: str | bytes) -> TxReceipt:
        return self._transact("respond", report_id, to_bytes32(response_hash))

    def rule(
        self,
        report_id: int,
        confirmed: bool,
        penalty_fen: int,
        reputation_points: int,
        reason_hash: str | bytes,
    ) -> TxReceipt:
        return self._transact(
            "rule", report_id, confirmed, penalty_fen, reputation_points, to_bytes32(reason_hash)
        )

    def expire(self, report_id: int) -> TxReceipt:
        return self._transact("expire", report_id)

    def pay_penalty(self, node: str, amount_fen: int) -> TxReceipt:
        """Pay up to ``amount_fen`` of ``node``'s unpaid penalties from the sender's allowance."""
        return self._transact("payPenalty", _addr(node), amount_fen)

    def set_ruling_period(self, period_s: int) -> TxReceipt:
        return self._transact("setRulingPeriod", period_s)

    def set_reporter_policy(self, dismissal_limit: int, points: int) -> TxReceipt:
        return self._transact("setReporterPolicy", dismissal_limit, points)

    def set_penalty_account(self, account: str) -> TxReceipt:
        return self._transact("setPenaltyAccount", _addr(account))

    def filed_report_id(self, receipt: TxReceipt) -> int:
        """The id of the report ``receipt`` filed."""
        return int(self.events(receipt, "ViolationReported")[0]["args"]["reportId"])

    # ---------------------------------------------------------------- reads
    def penalty_account(self) -> str:
        return str(self._call("penaltyAccount"))

    def ruling_period(self) -> int:
        return int(self._call("rulingPeriod"))

    def reporter_policy(self) -> tuple[int, int]:
        limit, points = self._call("reporterPolicy")
        return int(limit), int(points)

    def is_model_registered(self, model_id: str | bytes) -> bool:
        return bool(self._call("isModelRegistered", to_bytes32(model_id)))

    def model_info(self, model_id: str | bytes) -> ModelInfo:
        return ModelInfo.from_tuple(self._call("modelInfo", to_bytes32(model_id)))

    def model_count(self) -> int:
        return int(self._call("modelCount"))

    def models(self, offset: int = 0, limit: int = 100) -> list[ModelInfo]:
        return [ModelInfo.from_tuple(v) for v in self._call("models", offset, limit)]

    def report_count(self) -> int:
        return int(self._call("reportCount"))

    def report_info(self, report_id: int) -> ReportInfo:
        """Report ``report_id``: the contract's record, with the evidence trade ids of its
        ``ViolationReported`` event (the contract does not store them)."""
        v = self._call("reportInfo", report_id)
        logs = self._contract.events["ViolationReported"]().get_logs(
            from_block=0, argument_filters={"reportId": report_id}
        )
        if not logs:
            raise ChainError(f"report {report_id}: no ViolationReported event")
        return ReportInfo.from_tuple(v, [int(t) for t in logs[0]["args"]["tradeIds"]])

    def open_report_of(self, reporter: str, accused: str, feature_hash: str | bytes) -> int:
        return int(
            self._call("openReportOf", _addr(reporter), _addr(accused), to_bytes32(feature_hash))
        )

    def reporter_record(self, reporter: str) -> ReporterRecord:
        filed, confirmed, dismissed = self._call("reporterRecord", _addr(reporter))
        return ReporterRecord(filed=filed, confirmed=confirmed, dismissed=dismissed)

    def unpaid_penalty_of(self, node: str) -> tuple[int, bool]:
        """(unpaid fen, registry obligation held) of ``node``."""
        unpaid_fen, held = self._call("unpaidPenaltyOf", _addr(node))
        return int(unpaid_fen), bool(held)

    def pending_ids(self) -> list[int]:
        """Ids of the pending reports in filing order, from the events: filed
        (``ViolationReported``) and not yet ruled (``ViolationRuled``) nor expired
        (``ReportExpired``); the contract keeps no pending list."""
        events = self._contract.events
        filed = [
            int(e["args"]["reportId"]) for e in events.ViolationReported().get_logs(from_block=0)
        ]
        closed = {
            int(e["args"]["reportId"])
            for name in ("ViolationRuled", "ReportExpired")
            for e in events[name]().get_logs(from_block=0)
        }
        return sorted(i for i in filed if i not in closed)

    def pending_count(self) -> int:
        return len(self.pending_ids())

    def pending_reports(self, offset: int = 0, limit: int = 100) -> list[ReportInfo]:
        """A page of the pending reports in filing order."""
        return [self.report_info(i) for i in self.pending_ids()[offset : offset + limit]]
