"""The registered meters, kept in step with the ``MeterOracle`` contract's events."""

from __future__ import annotations

import threading

from web3 import Web3

from ledger.clients.oracle import MeterInfo, MeterOracleClient
from oracle.encoding import to_hex


class MeterDirectory:
    """Registered meters, kept in step with ``MeterRegistered``/``MeterRevoked`` events.

    :meth:`refresh` reads only the logs since the last sync (one ``eth_getLogs``), so every
    request sees registrations and revocations up to the chain head.
    """

    def __init__(self, client: MeterOracleClient, from_block: int) -> None:
        self._client = client
        self._next_block = from_block
        self._meters: dict[str, MeterInfo] = {}
        events = client.contract.events
        self._registered = events.MeterRegistered()
        self._revoked = events.MeterRevoked()
        self._topics = [
            [
                Web3.keccak(text="MeterRegistered(bytes32,address,address,uint64)").to_0x_hex(),
                Web3.keccak(text="MeterRevoked(bytes32,address,uint64)").to_0x_hex(),
            ]
        ]
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
            registered_topic = self._topics[0][0]
            for log in logs:
                if log["topics"][0].to_0x_hex() == registered_topic:
                    ev = self._registered.process_log(log)["args"]
                    self._meters[to_hex(ev["meterId"])] = MeterInfo(
                        node=ev["node"],
                        signer=ev["signer"],
                        capacity_w=int(ev["capacityW"]),
                        registered_at=0,
                        revoked_at=0,
                    )
                else:
                    ev = self._revoked.process_log(log)["args"]
                    key = to_hex(ev["meterId"])
                    if key in self._meters:
                        self._meters[key] = self._meters[key]._replace(
                            revoked_at=int(ev["revokedAt"])
                        )
            self._next_block = head + 1

    def get(self, meter_id: str) -> MeterInfo | None:
        return self._meters.get(meter_id.lower())
