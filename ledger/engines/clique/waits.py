"""Waiting on the network: a full peer mesh, a block height, and a one-line picture of the
nodes' heads for the error of a stalled wait."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.engines.clique.errors import ConsortiumRpcError
from ledger.engines.clique.rpc import RpcClient, wait_until
from ledger.engines.clique.state import NodeState


def wait_for_peers(running: Sequence[NodeState], *, timeout_s: float) -> None:
    """Wait until every node of ``running`` is connected to every other one."""
    want = len(running) - 1

    def meshed() -> bool | None:
        for node in running:
            if RpcClient(node.rpc_url, 2.0).peer_count() < want:
                return None
        return True

    wait_until(meshed, timeout_s=timeout_s, what=f"{want} peers on every running node")


def wait_for_block(
    targets: Sequence[NodeState], number: int, *, timeout_s: float, describe: Callable[[], str]
) -> int:
    """Wait until every node of ``targets`` has a head >= ``number``; return the lowest of
    their heads. A timeout's error ends with ``describe()``."""

    def reached() -> int | None:
        heads = [RpcClient(n.rpc_url, 2.0).block_number() for n in targets]
        return min(heads) if min(heads) >= number else None

    try:
        return wait_until(reached, timeout_s=timeout_s, what=f"block {number}")
    except ConsortiumRpcError as exc:
        raise ConsortiumRpcError(f"{exc}; {describe()}") from exc


def describe_heads(nodes: Sequence[NodeState], running: Callable[[NodeState], bool]) -> str:
    """One line per node: head number, hash and the signer of the head, or ``stopped``."""
    parts: list[str] = []
    for node in nodes:
        if not running(node):
            parts.append(f"{node.name}: stopped")
            continue
        try:
            rpc = RpcClient(node.rpc_url, 2.0)
            number, block_hash = rpc.head()
            parts.append(
                f"{node.name}: head {number} {block_hash[:10]} by {rpc.signer_of(number)[:10]}"
                f" peers {rpc.peer_count()}"
            )
        except ConsortiumRpcError as exc:
            parts.append(f"{node.name}: {exc}")
    return "heads: " + "; ".join(parts)
