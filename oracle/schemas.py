"""Pydantic schemas of the oracle's HTTP API (camelCase on the wire, as signed)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

#: Registers and counters are stored as signed 64-bit SQL integers.
MAX_SQL_INT = 2**63 - 1

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32])]
HexSig = Annotated[
    str,
    Field(
        pattern=r"^0x(?:[0-9a-fA-F]{2})*$",
        max_length=2 + 2 * 1024,
        description="65-byte r||s||v hex (whole bytes: an even number of hex digits)",
    ),
]
#: The pattern of an address in a path or query.
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
Address = Annotated[str, Field(pattern=ADDRESS_PATTERN)]
U64 = Annotated[int, Field(ge=0, le=MAX_SQL_INT)]
U32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
U16 = Annotated[int, Field(ge=0, le=2**16 - 1)]


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class MeterReading(Wire):
    """The EIP-712 ``MeterReading`` a meter signs."""

    meter_id: Hex32 = Field(description="bytes32 metering-point id.")
    interval_start: U64 = Field(description="Unix time (s) the interval starts.")
    interval_seconds: Annotated[int, Field(ge=1, le=2**32 - 1)] = Field(
        description="Interval length (s); the oracle accepts its configured interval (900)."
    )
    import_wh: U64 = Field(description="Active energy drawn from the grid (Wh).")
    export_wh: U64 = Field(description="Active energy fed into the grid (Wh).")
    reactive_varh: U64 = Field(description="Reactive energy (varh).")
    import_register_wh: U64 = Field(description="Cumulative import register at interval end.")
    export_register_wh: U64 = Field(description="Cumulative export register at interval end.")
    sequence: U64 = Field(description="The meter's message counter (increases with time).")
    power_factor_milli: U16 = Field(
        description="Mean power factor x 1000 (0..1000; above 1000 is refused)."
    )
    voltage_l1_dv: U32 = Field(
        description="Mean RMS voltage of phase L1 in decivolts (line-to-line on a three-phase "
        "meter, phase-to-neutral on a single-phase one)."
    )
    voltage_l2_dv: U32 = Field(description="Phase L2 voltage (dV); 0 on a single-phase meter.")
    voltage_l3_dv: U32 = Field(description="Phase L3 voltage (dV); 0 on a single-phase meter.")
    current_l1_ma: U64 = Field(description="Mean RMS current of phase L1 in milliamperes.")
    current_l2_ma: U64 = Field(description="Phase L2 current (mA); 0 on a single-phase meter.")
    current_l3_ma: U64 = Field(description="Phase L3 current (mA); 0 on a single-phase meter.")

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (camelCase keys, bytes32 as hex)."""
        return self.model_dump(by_alias=True)


class SignedReading(Wire):
    reading: MeterReading
    signature: HexSig


class ReadingBatch(Wire):
    """A batch of signed readings (from meters or the grid's metering system)."""

    chain_id: int | None = Field(
        default=None, description="Chain id the readings were signed for (checked if given)."
    )
    verifying_contract: Address | None = Field(
        default=None, description="MeterOracle address signed for (checked if given)."
    )
    readings: list[SignedReading] = Field(min_length=1, max_length=10_000)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    FLAGGED = "flagged"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why a reading was rejected (each maps to one HTTP status)."""

    WRONG_CHAIN = "wrong_chain"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_METER = "unknown_meter"
    REVOKED_METER = "revoked_meter"
    RETIRED_METER = "retired_meter"
    REPLAY = "replay"
    IMPLAUSIBLE = "implausible"
    PERIOD_CLOSED = "period_closed"
    NO_PERIOD = "no_period"


REASON_STATUS: dict[Reason, int] = {
    Reason.WRONG_CHAIN: 400,
    Reason.BAD_SIGNATURE: 401,
    Reason.UNKNOWN_METER: 403,
    Reason.REVOKED_METER: 403,
    Reason.RETIRED_METER: 403,
    Reason.REPLAY: 409,
    Reason.IMPLAUSIBLE: 422,
    Reason.PERIOD_CLOSED: 422,
    Reason.NO_PERIOD: 422,
}


class ReadingResult(Wire):
    index: int = Field(description="Position of the reading in the request.")
    outcome: Outcome
    reason: Reason | None = None
    detail: str | None = None
    field: str | None = Field(
        default=None, description="The refused field (wire name), when one field is at fault."
    )
    reading_id: int | None = None
    digest: str | None = None
    flags: list[str] = Field(default_factory=list)


class BatchResult(Wire):
    accepted: int
    flagged: int
    duplicate: int
    rejected: int
    results: list[ReadingResult]


class PendingReading(Wire):
    reading_id: int
    meter_id: str
    node: str
    interval_start: int
    import_wh: int
    export_wh: int
    flags: list[str]
    status: str


class ReviewDecision(Wire):
    decision: str = Field(pattern="^(clear|reject)$")
    note: str = Field(default="", max_length=500)


class Trade(Wire):
    """A trade the dispatch center checks (from the trading contract, via a TradeSource)."""

    trade_id: Annotated[int, Field(ge=0, lt=2**256)]
    period: U64
    seller: Address
    buyer: Address
    from_region: str
    to_region: str
    energy_wh: U64
    interval_start: U64
    interval_seconds: Annotated[int, Field(ge=1)] = 900


class DispatchResult(Wire):
    """The EIP-712 ``DispatchResult`` the DISPATCH key signs."""

    trade_id: Annotated[int, Field(ge=0, lt=2**256)]
    period: U64
    executed_wh: U64
    curtailed_wh: U64
    reason_code: Annotated[int, Field(ge=0, le=65535)]

    def message(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class SignedDispatchResult(Wire):
    """One result signed on its own (EIP-712 ``DispatchResult``), for ``submitResults``."""

    result: DispatchResult
    signature: HexSig


class DispatchSubmission(Wire):
    """Results of trades with one DISPATCH signature over all of them (EIP-712
    ``DispatchBatch(DispatchResult[] results)``, what ``submitResultBatch`` checks)."""

    chain_id: int | None = None
    verifying_contract: Address | None = None
    results: list[DispatchResult] = Field(min_length=1, max_length=1000)
    signature: HexSig

    @field_validator("results")
    @classmethod
    def _unique_trades(cls, value: list[DispatchResult]) -> list[DispatchResult]:
        ids = [r.trade_id for r in value]
        if len(set(ids)) != len(ids):
            raise ValueError("each trade may appear once per submission")
        return value

    def messages(self) -> list[dict[str, Any]]:
        """The results as EIP-712 messages (camelCase keys)."""
        return [r.message() for r in self.results]


class DispatchAccepted(Wire):
    outbox_id: int
    trade_ids: list[int]
    signer: str


class Problem(Wire):
    """Every error body (4xx, and 503 while the database or the chain is unreachable): a
    machine-readable reason and a human-readable detail."""

    reason: str
    detail: str
    results: list[ReadingResult] | None = None


class Health(Wire):
    chain_id: int
    meter_oracle: str
    dispatch_results: str
    oracle_address: str
    unbatched: int
    pending_review: int
    outbox_pending: int
    outbox_failed: int
    last_batch_id: int


class ProofReading(Wire):
    reading: MeterReading
    signature: str
    leaf: str
    batch_id: int
    batch_root: str
    batch_proof: list[str]
    node_proof: list[str]


class NodeProof(Wire):
    node: str
    period: int
    import_wh: int
    export_wh: int
    net_wh: int
    reading_count: int
    readings_root: str
    node_leaf: str
    totals_root: str
    totals_proof: list[str]
    readings: list[ProofReading]


class DispatchReason(StrEnum):
    WRONG_CHAIN = "wrong_chain"
    BAD_SIGNATURE = "bad_signature"
    NOT_DISPATCH = "not_dispatch_signer"
    UNKNOWN_TRADE = "unknown_trade"
    INCONSISTENT = "inconsistent_result"
    REPLAY = "replay"
    SETTLEMENT_OPEN = "settlement_open"
