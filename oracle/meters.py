"""The registered meters and their lives, kept in step with the ``MeterOracle`` contract's
events (installation, calibration, retirement, replacement, revocation)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from web3 import Web3

from ledger.clients.oracle import MeterOracleClient
from oracle.encoding import to_hex


@dataclass(frozen=True)
class MeterRecord:
    """What the oracle checks a meter's readings against."""

    node: str
    signer: str
    capacity_w: int
    phases: int
    nominal_voltage_dv: int
    initial_import_register_wh: int = 0
    initial_export_register_wh: int = 0
    revoked_at: int = 0
    retired_at: int = 0
    """When the meter was removed (0 = in service)."""
    final_import_register_wh: int = 0
    final_export_register_wh: int = 0
    replaced_by: str = ""
    calibration_due_at: int = 0
    """The next calibration is due (0 = no calibration recorded)."""


#: Event signature -> how it changes the directory (``None`` record = not known yet).
_Update = Callable[[MeterRecord | None, dict[str, Any]], MeterRecord | None]


def _installed(_: MeterRecord | None, ev: dict[str, Any]) -> MeterRecord:
    return MeterRecord(
        node=ev["node"],
        signer=ev["signer"],
        capacity_w=int(ev["capacityW"]),
        phases=int(ev["phases"]),
        nominal_voltage_dv=int(ev["nominalVoltageDv"]),
        initial_import_register_wh=int(ev["importRegisterWh"]),
        initial_export_register_wh=int(ev["exportRegisterWh"]),
    )


def _revoked(m: MeterRecord | None, ev: dict[str, Any]) -> MeterRecord | None:
    return m and replace(m, revoked_at=int(ev["revokedAt"]))


def _calibrated(m: MeterRecord | None, ev: dict[str, Any]) -> MeterRecord | None:
    return m and replace(m, calibration_due_at=int(ev["nextDueAt"]))


def _retired(m: MeterRecord | None, ev: dict[str, Any]) -> MeterRecord | None:
    return m and replace(
        m,
        retired_at=int(ev["retiredAt"]),
        final_import_register_wh=int(ev["finalImportRegisterWh"]),
        final_export_register_wh=int(ev["finalExportRegisterWh"]),
    )


_EVENTS: dict[str, tuple[str, _Update]] = {
    "MeterInstalled": (
        "MeterInstalled(bytes32,address,address,uint64,uint8,uint32,uint64,uint64)",
        _installed,
    ),
    "MeterRevoked": ("MeterRevoked(bytes32,address,uint64)", _revoked),
    "MeterCalibrated": ("MeterCalibrated(bytes32,bytes32,uint64,uint64)", _calibrated),
    "MeterRetired": ("MeterRetired(bytes32,address,uint64,uint64,uint64)", _retired),
    "MeterReplaced": ("MeterReplaced(bytes32,bytes32,address)", lambda m, _: m),
}


class MeterDirectory:
    """Registered meters, kept in step with the contract's meter events.

    :meth:`refresh` reads only the logs since the last sync (one ``eth_getLogs``), so every
    request sees installations, calibrations, retirements and revocations up to the chain
    head.
    """

    def __init__(self, client: MeterOracleClient, from_block: int) -> None:
        self._client = client
        self._next_block = from_block
        self._meters: dict[str, MeterRecord] = {}
        events = client.contract.events
        self._handlers: dict[str, tuple[Any, _Update]] = {
            Web3.keccak(text=signature).to_0x_hex(): (getattr(events, name)(), update)
            for name, (signature, update) in _EVENTS.items()
        }
        self._topics = [list(self._handlers)]
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._lock:
            w3 = self._client.sender.w3
            head = w3.eth.block_number
            if head < self._next_block:
                return
            logs = w3.eth.get_logs(
                {
                    "address": self._client.address,
                    "fromBlock": self._next_block,
                    "toBlock": head,
                    "topics": self._topics,
                }
            )
            for log in logs:
                event, update = self._handlers[log["topics"][0].to_0x_hex()]
                args = event.process_log(log)["args"]
                if "oldMeterId" in args:
                    old, new = to_hex(args["oldMeterId"]), to_hex(args["newMeterId"])
                    if old in self._meters:
                        self._meters[old] = replace(self._meters[old], replaced_by=new)
                    continue
                key = to_hex(args["meterId"])
                record = update(self._meters.get(key), args)
                if record is not None:
                    self._meters[key] = record
            self._next_block = head + 1

    def get(self, meter_id: str) -> MeterRecord | None:
        return self._meters.get(meter_id.lower())
