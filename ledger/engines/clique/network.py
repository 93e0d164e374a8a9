"""The consortium network: :class:`Consortium`, the orchestrator of one directory's nodes.

It composes the parts of this package: :class:`~.layout.NetworkLayout` (files and state),
:mod:`.provision` (keys, genesis, ports), :class:`~.process.NodeProcesses` (geth
processes), :mod:`.sealing` (starting without forks), :mod:`.waits` and
:mod:`.governance` (Clique votes).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ledger.engines.clique import governance, provision, waits
from ledger.engines.clique.errors import (
    ConsortiumAlreadyRunningError,
    ConsortiumConfigError,
    ConsortiumRpcError,
    NodeStartError,
)
from ledger.engines.clique.genesis import (
    CONSORTIUM_CHAIN_ID,
    DEFAULT_BASE_FEE_WEI,
    DEFAULT_GAS_LIMIT,
    DEFAULT_PERIOD_S,
    DEFAULT_PREFUND_WEI,
    DEFAULT_VALIDATORS,
    MAX_VALIDATORS,
    normalize_address,
)
from ledger.engines.clique.geth import GethBinary, ensure_geth
from ledger.engines.clique.keys import DEFAULT_SCRYPT_N
from ledger.engines.clique.layout import GENESIS_FILE, STATE_FILE, NetworkLayout
from ledger.engines.clique.process import NodeProcesses, send_signal
from ledger.engines.clique.rpc import RpcClient
from ledger.engines.clique.sealing import restart_sealing, start_nodes
from ledger.engines.clique.state import (
    ConsortiumState,
    ConsortiumStatus,
    NodeState,
    ProposalResult,
    ValidatorStatus,
)

log = logging.getLogger(__name__)


class Consortium:
    """A Clique network of local geth nodes rooted in one directory.

    Create it with :meth:`up`; :meth:`down` stops it (the chain stays on disk and the
    next :meth:`up` resumes it); :meth:`status` asks every node; :meth:`propose` runs a
    Clique vote. :meth:`stop_node` / :meth:`start_node` drive fault drills.
    """

    def __init__(self, root: Path, *, rpc_timeout_s: float = 10.0) -> None:
        self.layout = NetworkLayout(root)
        self.processes = NodeProcesses(self.layout)
        self.root = self.layout.root
        self.rpc_timeout_s = rpc_timeout_s

    # -- paths and state ----------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        """``state.json``."""
        return self.layout.state_path

    @property
    def genesis_path(self) -> Path:
        """``genesis.json``."""
        return self.layout.genesis_path

    def node_dir(self, node: NodeState | int) -> Path:
        """The node's geth datadir."""
        return self.layout.node_dir(node)

    def log_path(self, node: NodeState | int) -> Path:
        """The node's log file."""
        return self.layout.log_path(node)

    def pid_path(self, node: NodeState | int) -> Path:
        """The node's pid file."""
        return self.layout.pid_path(node)

    def exists(self) -> bool:
        """Whether a consortium was created here."""
        return self.layout.exists()

    def load_state(self) -> ConsortiumState:
        """The recorded state.

        Raises:
            ConsortiumNotFoundError: no consortium here (or its state file is unreadable).
        """
        return self.layout.load_state()

    def rpc(self, node: NodeState | int) -> RpcClient:
        """A JSON-RPC client of one node."""
        if isinstance(node, int):
            node = self.load_state().node(node)
        return RpcClient(node.rpc_url, self.rpc_timeout_s)

    def pid(self, node: NodeState | int) -> int | None:
        """The pid of the node's live geth process, or None if it is not running."""
        return self.processes.pid(node)

    def is_running(self, node: NodeState | int) -> bool:
        """Whether the node's geth process is alive."""
        return self.processes.is_running(node)

    def geth_command(self, state: ConsortiumState, node: NodeState) -> list[str]:
        """The command line that runs ``node`` as a sealing Clique validator."""
        return self.processes.geth_command(state, node)

    # -- waits --------------------------------------------------------------------------

    def wait_for_peers(self, *, timeout_s: float = 60.0) -> None:
        """Wait until every running node is connected to every other running node."""
        running = [n for n in self.load_state().nodes if self.is_running(n)]
        waits.wait_for_peers(running, timeout_s=timeout_s)

    def wait_for_block(
        self, number: int, *, nodes: Sequence[int] | None = None, timeout_s: float = 60.0
    ) -> int:
        """Wait until the given nodes (default: all running) have a head >= ``number``;
        return the lowest of their heads."""
        state = self.load_state()
        chosen = [state.node(i) for i in nodes] if nodes is not None else None
        targets = chosen or [n for n in state.nodes if self.is_running(n)]
        return waits.wait_for_block(
            targets, number, timeout_s=timeout_s, describe=self.describe_heads
        )

    def describe_heads(self) -> str:
        """One line per running node: head number, hash and the signer of the head (for
        the error of a stalled wait)."""
        return waits.describe_heads(self.load_state().nodes, self.is_running)

    # -- lifecycle ----------------------------------------------------------------------

    def up(
        self,
        *,
        validators: int | None = None,
        period_s: int | None = None,
        prefund: Sequence[str] = (),
        chain_id: int = CONSORTIUM_CHAIN_ID,
        prefund_wei: int = DEFAULT_PREFUND_WEI,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        base_fee_wei: int = DEFAULT_BASE_FEE_WEI,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        geth: GethBinary | None = None,
        ready_timeout_s: float = 120.0,
    ) -> ConsortiumState:
        """Create the network if needed and start every node that is not running.

        A new network gets ``validators`` (default 4) fresh validator keys, a Clique
        genesis with ``period_s`` (default 2) and ``prefund``. An existing one is resumed
        as it was created; passing a different ``validators`` or ``period_s`` is an error
        (``prefund`` is then ignored: the genesis is fixed). When no node runs, every
        node gets new free ports. Returns once every node answers RPC, the nodes are
        peered and a new block has been sealed.

        Raises:
            ConsortiumAlreadyRunningError: every node already runs.
            ConsortiumConfigError: invalid or clashing parameters.
            GethNotAvailableError: no geth 1.13.x and it could not be built.
            NodeStartError: a node did not start or the chain did not seal.
        """
        if validators is not None and not 1 <= validators <= MAX_VALIDATORS:
            raise ConsortiumConfigError(f"validators must be 1..{MAX_VALIDATORS}")
        if period_s is not None and period_s < 1:
            raise ConsortiumConfigError("the period must be at least 1 second")
        with self.layout.lock():
            if self.exists():
                state = self._resumable_state(validators, period_s)
            else:
                state = provision.create_network(
                    self.layout,
                    geth=geth or ensure_geth(),
                    validators=validators or DEFAULT_VALIDATORS,
                    period_s=period_s or DEFAULT_PERIOD_S,
                    chain_id=chain_id,
                    prefund=prefund,
                    prefund_wei=prefund_wei,
                    gas_limit=gas_limit,
                    base_fee_wei=base_fee_wei,
                    scrypt_n=scrypt_n,
                )
            self._start_stopped(state, geth, ready_timeout_s)
            return state

    def _resumable_state(self, validators: int | None, period_s: int | None) -> ConsortiumState:
        """The existing network's state, if ``validators`` and ``period_s`` match it."""
        state = self.load_state()
        if validators is not None and validators != len(state.nodes):
            raise ConsortiumConfigError(
                f"the consortium in {self.root} has {len(state.nodes)} validators, "
                f"not {validators}; purge it (`down --purge`) to create another"
            )
        if period_s is not None and period_s != state.period_s:
            raise ConsortiumConfigError(
                f"the consortium in {self.root} has a {state.period_s} s period "
                f"fixed in its genesis, not {period_s} s"
            )
        return state

    def _start_stopped(
        self, state: ConsortiumState, geth: GethBinary | None, ready_timeout_s: float
    ) -> None:
        """Start every stopped node (new ports if none runs) and wait for a new block."""
        stopped = [n for n in state.nodes if not self.is_running(n)]
        if not stopped:
            raise ConsortiumAlreadyRunningError(
                f"the consortium in {self.root} is already running "
                f"({len(state.nodes)} nodes); `gridledger consortium status` shows it"
            )
        if len(stopped) == len(state.nodes):
            provision.assign_ports(self.layout, state)
        if geth is not None:
            state.geth_path, state.geth_version = str(geth.path), geth.version
        state.started_at = datetime.now(UTC)
        try:
            self._start(state, stopped, ready_timeout_s)
            self._wait_for_first_block(state)
        except ConsortiumRpcError as exc:
            raise NodeStartError(
                f"the consortium started but is not healthy: {exc}; logs in {self.root}. "
                "If `status` shows different heads (a Clique fork), `down` then `up` "
                "lets the nodes re-sync"
            ) from exc

    def _wait_for_first_block(self, state: ConsortiumState) -> None:
        """Wait for a block sealed after the start; if none comes, restart every miner
        once (fresh vanity) and wait again before giving up."""
        start_head = max(RpcClient(n.rpc_url, 2.0).block_number() for n in state.nodes)
        timeout_s = max(60.0, 10.0 * state.period_s)
        try:
            self.wait_for_block(start_head + 1, timeout_s=timeout_s)
        except ConsortiumRpcError as first:
            running = [n for n in state.nodes if self.is_running(n)]
            log.warning("no block after the start (%s); restarting the miners", first)
            restart_sealing(running, attempt=1, rpc_timeout_s=self.rpc_timeout_s)
            self.wait_for_block(start_head + 1, timeout_s=timeout_s)

    def _start(self, state: ConsortiumState, nodes: Sequence[NodeState], timeout_s: float) -> None:
        provision.resolve_geth(state)
        self.layout.save_state(state)
        start_nodes(
            self.processes, state, nodes, timeout_s=timeout_s, rpc_timeout_s=self.rpc_timeout_s
        )

    def start_node(self, ref: int | str, *, timeout_s: float = 60.0) -> NodeState:
        """Start one stopped node on its recorded ports (a fault drill's restart).

        Raises:
            ConsortiumAlreadyRunningError: it is running.
            NodeStartError: it did not start.
        """
        with self.layout.lock():
            state = self.load_state()
            node = state.node(ref)
            if self.is_running(node):
                raise ConsortiumAlreadyRunningError(f"{node.name} is already running")
            if node.http_port == 0:
                raise ConsortiumConfigError("the consortium was never started; run up")
            self._start(state, [node], timeout_s)
            return node

    def stop_node(self, ref: int | str, *, kill: bool = False, timeout_s: float = 30.0) -> bool:
        """Stop one node: SIGTERM (or SIGKILL if ``kill``, a crash), wait, then SIGKILL.

        Returns whether it was running.
        """
        with self.layout.lock():
            node = self.load_state().node(ref)
            pid = self.pid(node)
            if pid is None:
                return False
            self.processes.stop(node, pid, timeout_s=timeout_s, kill=kill)
            return True

    def down(self, *, timeout_s: float = 30.0) -> list[str]:
        """Stop every running node (SIGTERM, wait ``timeout_s``, then SIGKILL); the
        chain and keys stay on disk. Returns the names of the nodes stopped.

        Raises:
            ConsortiumNotFoundError: no consortium here.
        """
        with self.layout.lock():
            state = self.load_state()
            running = [(n, pid) for n in state.nodes if (pid := self.pid(n)) is not None]
            for _node, pid in running:
                send_signal(pid, signal.SIGTERM)
            for node, pid in running:
                self.processes.stop(node, pid, timeout_s=timeout_s, kill=False, signalled=True)
            return [node.name for node, _ in running]

    def purge(self) -> None:
        """Delete the stopped consortium: chain data, validator keys and state.

        Raises:
            ConsortiumAlreadyRunningError: a node still runs.
        """
        with self.layout.lock():
            if self.exists():
                state = self.load_state()
                if any(self.is_running(n) for n in state.nodes):
                    raise ConsortiumAlreadyRunningError(
                        "the consortium is running; run `down` before purging it"
                    )
            for path in self.root.glob("node*"):
                if path.is_dir():
                    shutil.rmtree(path)
            for name in (STATE_FILE, GENESIS_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.root / name).unlink()

    # -- inspection ---------------------------------------------------------------------

    def status(self) -> ConsortiumStatus:
        """Ask every node for its peers, head and signer set.

        Raises:
            ConsortiumNotFoundError: no consortium here.
        """
        state = self.load_state()
        return ConsortiumStatus(
            root=str(self.root),
            chain_id=state.chain_id,
            period_s=state.period_s,
            geth_version=state.geth_version,
            nodes=[_validator_status(node, self.pid(node)) for node in state.nodes],
        )

    def signers(self) -> list[str]:
        """The current Clique signer set, from the first running node that answers.

        Raises:
            ConsortiumRpcError: no node answers.
        """
        state = self.load_state()
        errors: list[str] = []
        for node in state.nodes:
            if self.is_running(node):
                try:
                    return RpcClient(node.rpc_url, 3.0).signers()
                except ConsortiumRpcError as exc:
                    errors.append(str(exc))
        raise ConsortiumRpcError("no consortium node answers: " + "; ".join(errors or ["-"]))

    # -- governance ---------------------------------------------------------------------

    def propose(
        self,
        address: str,
        authorize: bool,
        *,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> ProposalResult:
        """Vote to add (``authorize``) or remove a Clique signer on every running signer's
        node (at least a majority of the signers is required) and, if ``wait``, wait until
        every running node sees the new signer set, then withdraw the votes.

        Votes are cast in the blocks each signer seals, so a change takes a few periods.

        Raises:
            ValidationError: ``address`` is not an address.
            GovernanceError: the change is moot, fewer than a majority of the signers'
                nodes run, or it did not take effect within ``timeout_s``.
        """
        target = normalize_address(address)
        with self.layout.lock():
            state = self.load_state()
            before = self.signers()
            result = governance.cast_votes(
                state, self.is_running, before, target, authorize, rpc_timeout_s=self.rpc_timeout_s
            )
            if not wait:
                return result
            return governance.await_outcome(
                state,
                self.is_running,
                result,
                timeout_s=timeout_s,
                rpc_timeout_s=self.rpc_timeout_s,
            )


def _validator_status(node: NodeState, pid: int | None) -> ValidatorStatus:
    """What ``node`` (geth ``pid``, None if stopped) reports about itself."""
    entry = ValidatorStatus(
        index=node.index,
        name=node.name,
        validator=node.validator,
        rpc_url=node.rpc_url,
        running=pid is not None,
        pid=pid,
    )
    if pid is None:
        return entry
    rpc = RpcClient(node.rpc_url, timeout_s=3.0)
    try:
        entry.peers = rpc.peer_count()
        coinbase = str(rpc.call("eth_coinbase"))
        entry.sealing = bool(rpc.call("eth_mining")) and (
            coinbase.lower() == node.validator.lower()
        )
        entry.head_number, entry.head_hash = rpc.head()
        entry.signers = rpc.signers()
    except ConsortiumRpcError as exc:
        entry.error = str(exc)
    return entry
