"""Decoding raw logs of the suite's contracts with each contract's ABI, by topic0."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.codec import ABICodec
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3._utils.events import get_event_data
from web3.types import LogReceipt

from ledger.artifacts import ArtifactStore
from ledger.clients.access import ROLE_NAMES
from ledger.manifest import Manifest

UNKNOWN_EVENT = "UnknownEvent"
#: Argument names (case-insensitive, without a trailing ``Id``) whose values are ids worth
#: indexing for search: ``tradeId`` -> kind ``trade``.
ID_ARGUMENT = re.compile(
    r"^(trade|listing|certificate|cert|report|settlement|retirement)Ids?$", re.I
)

#: Role id (hex) -> role name, for humane display.
ROLE_BY_ID: dict[str, str] = {
    "0x" + bytes(Web3.keccak(text=name)).hex(): name for name in ROLE_NAMES
} | {"0x" + "00" * 32: "DEFAULT_ADMIN"}


@dataclass(frozen=True)
class DecodedEvent:
    """One log decoded into domain terms (what goes into ``gw_events``)."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    contract: str
    address: str
    event: str
    args: dict[str, Any]
    block_time: int = 0

    @property
    def args_json(self) -> str:
        return json.dumps(self.args, sort_keys=True, separators=(",", ":"))

    def refs(self) -> list[tuple[str, str]]:
        """(kind, value) pairs to index: every address argument and id argument."""
        found: list[tuple[str, str]] = []
        for key, value in self.args.items():
            _refs(key, value, found)
        return sorted(set(found))


def _refs(key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, str) and Web3.is_address(value) and len(value) == 42:
        out.append(("address", value.lower()))
    elif isinstance(value, list):
        for item in value:
            _refs(key, item, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _refs(k, v, out)
    m = ID_ARGUMENT.match(key)
    if m and isinstance(value, str) and value.isdigit():
        kind = m.group(1).lower()
        out.append(("certificate" if kind == "cert" else kind, value))


def normalize(value: Any) -> Any:
    """JSON-safe form: ints as decimal strings, bytes as 0x-hex, tuples as lists/dicts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    return value


def hex_str(value: Any) -> str:
    """Bytes or a hex string as ``0x``-prefixed hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


class EventDecoder:
    """Decodes logs of the manifest's contracts; unknown topics become ``UnknownEvent``."""

    def __init__(self, manifest: Manifest, store: ArtifactStore) -> None:
        self._codec: ABICodec = Web3().codec
        self.names: dict[str, str] = {}
        self._abis: dict[tuple[str, str], dict[str, Any]] = {}
        for name, deployed in manifest.contracts.items():
            address = deployed.address.lower()
            self.names[address] = name
            for item in store.get(name).abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    topic = "0x" + event_abi_to_log_topic(cast(Any, item)).hex()
                    self._abis[(address, topic)] = item

    @property
    def addresses(self) -> list[str]:
        return [Web3.to_checksum_address(a) for a in self.names]

    def decode(self, log: LogReceipt, block_time: int = 0) -> DecodedEvent:
        address = str(log["address"]).lower()
        topics = [hex_str(t) for t in log["topics"]]
        abi = self._abis.get((address, topics[0])) if topics else None
        event = UNKNOWN_EVENT
        args: dict[str, Any]
        if abi is not None:
            try:
                data = get_event_data(self._codec, cast(Any, abi), log)
                event = str(data["event"])
                args = {k: normalize(v) for k, v in data["args"].items()}
            except Exception:  # noqa: BLE001 - an undecodable log is kept raw, never dropped
                abi = None
        if abi is None:
            args = {"topics": topics, "data": hex_str(log["data"])}
        return DecodedEvent(
            block_number=int(log["blockNumber"]),
            block_hash=hex_str(log["blockHash"]),
            tx_hash=hex_str(log["transactionHash"]),
            tx_index=int(log["transactionIndex"]),
            log_index=int(log["logIndex"]),
            contract=self.names.get(address, "?"),
            address=Web3.to_checksum_address(address),
            event=event,
            args=args,
            block_time=block_time,
        )
