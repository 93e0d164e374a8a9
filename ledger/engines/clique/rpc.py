"""JSON-RPC to one geth node, and polling until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from eth_utils.address import to_checksum_address

from ledger.engines.clique.errors import ConsortiumRpcError

_T = TypeVar("_T")


class RpcClient:
    """A minimal JSON-RPC 2.0 client over HTTP for one node."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` and return its ``result``.

        Raises:
            ConsortiumRpcError: the node is unreachable or answered with an error.
        """
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout_s)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ConsortiumRpcError(f"{self.url} {method}: {exc}") from exc
        if not isinstance(body, dict):
            raise ConsortiumRpcError(f"{self.url} {method}: malformed answer {body!r}")
        if body.get("error") is not None:
            error = body["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ConsortiumRpcError(f"{self.url} {method}: {message}")
        return body.get("result")

    def block_number(self) -> int:
        """The node's head block number."""
        return int(self.call("eth_blockNumber"), 16)

    def block(self, number: int | str = "latest") -> dict[str, Any] | None:
        """A block header (no transactions) by number or tag, or None if unknown."""
        tag = hex(number) if isinstance(number, int) else number
        result = self.call("eth_getBlockByNumber", tag, False)
        return dict(result) if isinstance(result, dict) else None

    def head(self) -> tuple[int, str]:
        """The node's head as (number, hash)."""
        block = self.block("latest")
        if block is None:
            raise ConsortiumRpcError(f"{self.url}: no latest block")
        return int(block["number"], 16), str(block["hash"])

    def block_hash(self, number: int) -> str | None:
        """The hash of the node's canonical block ``number`` (None if it has none yet)."""
        block = self.block(number)
        return None if block is None else str(block["hash"])

    def peer_count(self) -> int:
        """How many peers the node is connected to."""
        return int(self.call("net_peerCount"), 16)

    def signers(self) -> list[str]:
        """The Clique signer set at the node's head (``clique_getSigners``)."""
        return [str(to_checksum_address(a)) for a in self.call("clique_getSigners")]

    def signer_of(self, number: int) -> str:
        """The Clique signer who sealed block ``number`` (``clique_getSigner``)."""
        return str(to_checksum_address(self.call("clique_getSigner", hex(number))))

    def client_version(self) -> str:
        """``web3_clientVersion``."""
        return str(self.call("web3_clientVersion"))


def wait_until(
    check: Callable[[], _T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.25,
    what: str,
    error: type[Exception] = ConsortiumRpcError,
) -> _T:
    """Poll ``check`` until it returns something other than None (RPC errors count as
    None) and return that; raise ``error`` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last_error: str | None = None
    while True:
        try:
            value = check()
        except ConsortiumRpcError as exc:
            value = None
            last_error = str(exc)
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise error(f"timed out after {timeout_s:g} s waiting for {what}{detail}")
        time.sleep(interval_s)
