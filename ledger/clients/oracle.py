"""Clients of the meter oracle's contracts: ``MeterOracle`` and ``DispatchResults``."""

from __future__ import annotations

from typing import Any, NamedTuple

from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient


class MeterInfo(NamedTuple):
    node: str
    signer: str
    capacity_w: int
    registered_at: int
    revoked_at: int

    @property
    def registered(self) -> bool:
        return int(self.signer, 16) != 0


class Installation(NamedTuple):
    """What an installation declares of a meter (``IMeterOracle.Installation``)."""

    meter_id: bytes
    node: str
    signer: str
    capacity_w: int
    phases: int
    nominal_voltage_dv: int
    import_register_wh: int = 0
    export_register_wh: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.meter_id,
            Web3.to_checksum_address(self.node),
            Web3.to_checksum_address(self.signer),
            self.capacity_w,
            self.phases,
            self.nominal_voltage_dv,
            self.import_register_wh,
            self.export_register_wh,
        )


class MeterLife(NamedTuple):
    """A meter's life record (``IMeterOracle.MeterLife``)."""

    phases: int
    nominal_voltage_dv: int
    initial_import_register_wh: int
    initial_export_register_wh: int
    final_import_register_wh: int
    final_export_register_wh: int
    retired_at: int
    replaces: bytes
    replaced_by: bytes
    certificate_hash: bytes
    calibrated_at: int
    calibration_due_at: int


class BatchInfo(NamedTuple):
    root: bytes
    reading_count: int
    first_interval_start: int
    anchored_at: int


class PeriodInfo(NamedTuple):
    totals_root: bytes
    node_count: int
    reading_count: int
    posted_at: int


class MeteredEnergy(NamedTuple):
    recorded: bool
    import_wh: int
    export_wh: int
    net_wh: int


class StoredDispatchResult(NamedTuple):
    recorded: bool
    period: int
    executed_wh: int
    curtailed_wh: int
    reason_code: int
    signer: str


#: A ``MeterReading`` as the ABI tuple: the meter id, then its integer fields in order.
ReadingTuple = tuple[Any, ...]
NodeTotalTuple = tuple[str, int, int, int, int, bytes]
DispatchTuple = tuple[int, int, int, int, int]


#: The integer fields of a ``MeterReading`` after its ``meterId``, in ABI order (the same
#: order as ``oracle.eip712.METER_READING_FIELDS``; a test keeps them equal).
READING_INT_FIELDS = (
    "intervalStart",
    "intervalSeconds",
    "importWh",
    "exportWh",
    "reactiveVarh",
    "importRegisterWh",
    "exportRegisterWh",
    "sequence",
    "powerFactorMilli",
    "voltageL1Dv",
    "voltageL2Dv",
    "voltageL3Dv",
    "currentL1Ma",
    "currentL2Ma",
    "currentL3Ma",
)


class MeterOracleClient(ContractClient):
    """Meter registry, batch and period anchors, on-chain audit views."""

    ARTIFACT = "MeterOracle"

    def register_meter(self, meter_id: bytes, node: str, signer: str, capacity_w: int) -> TxReceipt:
        return self._transact(
            "registerMeter",
            meter_id,
            Web3.to_checksum_address(node),
            Web3.to_checksum_address(signer),
            capacity_w,
        )

    def revoke_meter(self, meter_id: bytes) -> TxReceipt:
        return self._transact("revokeMeter", meter_id)

    def install_meter(self, installation: Installation) -> TxReceipt:
        return self._transact("installMeter", installation.as_tuple())

    def record_calibration(
        self, meter_id: bytes, certificate_hash: bytes, calibrated_at: int, next_due_at: int
    ) -> TxReceipt:
        return self._transact(
            "recordCalibration", meter_id, certificate_hash, calibrated_at, next_due_at
        )

    def retire_meter(
        self, meter_id: bytes, final_import_wh: int, final_export_wh: int, retired_at: int = 0
    ) -> TxReceipt:
        return self._transact("retireMeter", meter_id, final_import_wh, final_export_wh, retired_at)

    def replace_meter(
        self,
        old_meter_id: bytes,
        final_import_wh: int,
        final_export_wh: int,
        retired_at: int,
        new: Installation,
    ) -> TxReceipt:
        return self._transact(
            "replaceMeter",
            old_meter_id,
            final_import_wh,
            final_export_wh,
            retired_at,
            new.as_tuple(),
        )

    def meter_life_of(self, meter_id: bytes) -> MeterLife:
        return MeterLife(*self._call("meterLifeOf", meter_id))

    def set_node_status_source(self, source: str) -> TxReceipt:
        return self._transact("setNodeStatusSource", Web3.to_checksum_address(source))

    def node_status_source(self) -> str:
        return str(self._call("nodeStatusSource"))

    def anchor_batch(
        self, batch_id: int, root: bytes, reading_count: int, first_interval_start: int
    ) -> TxReceipt:
        return self._transact("anchorBatch", batch_id, root, reading_count, first_interval_start)

    def post_period(
        self, period: int, totals_root: bytes, node_count: int, reading_count: int
    ) -> TxReceipt:
        return self._transact("postPeriod", period, totals_root, node_count, reading_count)

    def submit_node_total(self, total: NodeTotalTuple, proof: list[bytes]) -> TxReceipt:
        return self._transact("submitNodeTotal", total, proof)

    def meter_of(self, meter_id: bytes) -> MeterInfo:
        return MeterInfo(*self._call("meterOf", meter_id))

    def meter_ids(self, offset: int = 0, limit: int = 100) -> list[bytes]:
        return list(self._call("meterIds", offset, limit))

    def meter_count(self) -> int:
        return int(self._call("meterCount"))

    def batch_of(self, batch_id: int) -> BatchInfo:
        return BatchInfo(*self._call("batchOf", batch_id))

    def next_batch_id(self) -> int:
        return int(self._call("nextBatchId"))

    def period_of(self, period: int) -> PeriodInfo:
        return PeriodInfo(*self._call("periodOf", period))

    def metered_energy_of(self, node: str, period: int) -> MeteredEnergy:
        return MeteredEnergy(*self._call("meteredEnergyOf", Web3.to_checksum_address(node), period))

    def domain_separator(self) -> bytes:
        return bytes(self._call("domainSeparator"))

    def reading_digest(self, reading: ReadingTuple) -> bytes:
        return bytes(self._call("readingDigest", reading))

    def reading_leaf(self, reading: ReadingTuple, signature: bytes) -> bytes:
        return bytes(self._call("readingLeaf", reading, signature))

    def node_total_leaf(self, total: NodeTotalTuple) -> bytes:
        return bytes(self._call("nodeTotalLeaf", total))

    def verify_reading(
        self, reading: ReadingTuple, signature: bytes, batch_id: int, proof: list[bytes]
    ) -> bool:
        return bool(self._call("verifyReading", reading, signature, batch_id, proof))

    def verify_node_total(self, total: NodeTotalTuple, proof: list[bytes]) -> bool:
        return bool(self._call("verifyNodeTotal", total, proof))


class DispatchResultsClient(ContractClient):
    """Dispatch-signed trade execution results and the settlement schedule."""

    ARTIFACT = "DispatchResults"

    def submit_results(self, results: list[DispatchTuple], signatures: list[bytes]) -> TxReceipt:
        return self._transact("submitResults", results, signatures)

    def submit_result_batch(self, results: list[DispatchTuple], signature: bytes) -> TxReceipt:
        """Results signed once as a ``DispatchBatch`` (``oracle.eip712``)."""
        return self._transact("submitResultBatch", results, signature)

    def set_settlement_opens_at(self, period: int, opens_at: int) -> TxReceipt:
        return self._transact("setSettlementOpensAt", period, opens_at)

    def settlement_opens_at(self, period: int) -> int:
        return int(self._call("settlementOpensAt", period))

    def result_of(self, trade_id: int) -> StoredDispatchResult:
        return StoredDispatchResult(*self._call("resultOf", trade_id))

    def result_digest(self, result: DispatchTuple) -> bytes:
        return bytes(self._call("resultDigest", result))

    def batch_digest(self, results: list[DispatchTuple]) -> bytes:
        return bytes(self._call("batchDigest", results))


def reading_tuple(message: dict[str, Any]) -> ReadingTuple:
    """A ``MeterReading`` message (camelCase keys) as the ABI tuple."""
    meter_id = message["meterId"]
    raw = bytes.fromhex(meter_id[2:]) if isinstance(meter_id, str) else bytes(meter_id)
    return (raw, *(int(message[name]) for name in READING_INT_FIELDS))
