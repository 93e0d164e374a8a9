"""Bringing started nodes to seal without forking the chain.

Geth drops the blocks its peers propagate until it has started its miner (or synced
once). A node that seals while a peer is still in that state forks the chain: the peer
later seals its own block at the same height, and with equal difficulty neither side may
extend the other's branch (Clique's "signed recently" rule), which stalls the network for
good. So every started node first runs its miner with its standby key, which is no signer
and cannot seal; only when all of them do is each switched to its validator key.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ledger.engines.clique.errors import ConsortiumRpcError, NodeStartError
from ledger.engines.clique.process import STANDBY_EXTRA, NodeProcesses
from ledger.engines.clique.rpc import RpcClient, wait_until
from ledger.engines.clique.state import ConsortiumState, NodeState
from ledger.engines.clique.waits import wait_for_peers


def start_nodes(
    procs: NodeProcesses,
    state: ConsortiumState,
    nodes: Sequence[NodeState],
    *,
    timeout_s: float,
    rpc_timeout_s: float,
) -> None:
    """Spawn ``nodes`` and, once they answer, are peered and have caught up with the
    running nodes, make them seal (see the module's docstring)."""
    started = [(node, procs.spawn(state, node)) for node in nodes]
    for node, pid in started:
        procs.wait_ready(node, pid, timeout_s)
    running = [n for n in state.nodes if procs.is_running(n)]
    starting = {n.index for n in nodes}
    reference = [n for n in running if n.index not in starting]

    def caught_up() -> bool | None:
        """A node joining a running network has its head, number and hash.

        One block behind is not enough: a node that starts sealing on its parent
        makes a sibling of the head, and after a stall (2 of 4 signers down) a tie
        between two such siblings is exactly the Clique deadlock described above.
        A whole-network start has no reference; its nodes need only be within a
        block of each other (nobody seals yet, so there is no head to chase).
        """
        if reference:
            heads = {RpcClient(n.rpc_url, 2.0).head() for n in [*reference, *nodes]}
            return True if len(heads) == 1 else None
        numbers = [RpcClient(n.rpc_url, 2.0).block_number() for n in nodes]
        return True if min(numbers) >= max(numbers) - 1 else None

    try:
        wait_for_peers(running, timeout_s=timeout_s)
        wait_until(caught_up, timeout_s=timeout_s, what="the started nodes to sync")
        rpcs = [(node, RpcClient(node.rpc_url, rpc_timeout_s)) for node in nodes]
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(lambda pair: _start_standby_miner(*pair), rpcs))
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(lambda pair: _start_sealing(*pair), rpcs))
    except ConsortiumRpcError as exc:
        raise NodeStartError(f"{exc}; logs in {procs.layout.root}/node*/geth.log") from exc


def _set_mining(rpc: RpcClient, on: bool) -> None:
    rpc.call("miner_start" if on else "miner_stop")
    wait_until(
        lambda: True if bool(rpc.call("eth_mining")) == on else None,
        timeout_s=15.0,
        interval_s=0.05,
        what=f"{rpc.url} to {'start' if on else 'stop'} its miner",
    )


def _start_standby_miner(node: NodeState, rpc: RpcClient) -> None:
    """Start the miner with the standby key (marks the node synced; cannot seal)."""
    rpc.call("miner_setExtra", STANDBY_EXTRA)
    rpc.call("miner_setEtherbase", node.standby)
    _set_mining(rpc, True)


def restart_sealing(nodes: Sequence[NodeState], *, attempt: int, rpc_timeout_s: float) -> None:
    """Restart every node's miner with its validator key and a vanity new to this
    ``attempt``: the recovery of a network that started but sealed nothing (each node's
    sealing work was dropped, e.g. as a repeat of an earlier task's seal hash)."""
    rpcs = [(node, RpcClient(node.rpc_url, rpc_timeout_s)) for node in nodes]
    try:
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            list(pool.map(lambda pair: _start_sealing(*pair, attempt=attempt), rpcs))
    except ConsortiumRpcError as exc:
        raise NodeStartError(f"restarting the miners failed: {exc}") from exc


def _start_sealing(node: NodeState, rpc: RpcClient, *, attempt: int = 0) -> None:
    """Restart the miner with the validator key: Clique takes its signer from the
    etherbase when the miner starts.

    The block vanity changes too: geth skips sealing work whose seal hash equals the
    previous task's, and the standby's work at the same height and second would
    otherwise hash the same, leaving an idle network with nothing to seal. A restart
    (``attempt`` > 0) changes it again for the same reason.
    """
    suffix = f" r{attempt}" if attempt else ""
    rpc.call("miner_setExtra", f"gridledger {node.name}{suffix}")
    rpc.call("miner_setEtherbase", node.validator)
    _set_mining(rpc, False)
    _set_mining(rpc, True)
