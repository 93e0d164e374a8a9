"""Supervision of the geth processes: the command line that runs a validator, spawning it
detached, waiting for its RPC, telling a live geth from a recycled pid, and stopping it.

Linux-only: it reads ``/proc`` to tell its geth processes from recycled pids.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger.engines.clique.errors import NodeStartError
from ledger.engines.clique.files import write_atomic
from ledger.engines.clique.layout import NetworkLayout
from ledger.engines.clique.p2p import LOOPBACK
from ledger.engines.clique.rpc import RpcClient, wait_until
from ledger.engines.clique.state import ConsortiumState, NodeState
from ledger.engines.procs import pid_exists

log = logging.getLogger(__name__)

#: ``miner`` is there so sealing starts (``miner_start``) only once a node is peered
#: and caught up: a geth that is not sealing yet drops propagated blocks, which can
#: fork a freshly started Clique network.
RPC_APIS = ("eth", "net", "web3", "clique", "admin", "txpool", "miner")
#: Block vanity while a node's miner runs with its standby key (see
#: :func:`~ledger.engines.clique.sealing.start_nodes`).
STANDBY_EXTRA = "gridledger standby"

#: The geth processes this Python process started, kept so they can be reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def process_alive(pid: int, datadir: Path) -> bool:
    """Whether ``pid`` is a live (non-zombie) geth serving ``datadir``."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs: trust the pid
        return pid_exists(pid)
    try:
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        stat = (proc / "stat").read_text()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] in ("Z", "X"):
        return False
    return str(datadir) in cmdline


def send_signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def wait_exit(pid: int, datadir: Path, timeout_s: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        _CHILDREN.pop(pid, None)
        return True
    deadline = time.monotonic() + timeout_s
    while process_alive(pid, datadir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


class NodeProcesses:
    """Starts, finds and stops the geth process of each node of one consortium."""

    def __init__(self, layout: NetworkLayout) -> None:
        self.layout = layout

    def pid(self, node: NodeState | int) -> int | None:
        """The pid of the node's live geth process, or None if it is not running."""
        pid = read_pid(self.layout.pid_path(node))
        if pid is None or not process_alive(pid, self.layout.node_dir(node)):
            return None
        return pid

    def is_running(self, node: NodeState | int) -> bool:
        """Whether the node's geth process is alive."""
        return self.pid(node) is not None

    def geth_command(self, state: ConsortiumState, node: NodeState) -> list[str]:
        """The command line that runs ``node`` as a sealing Clique validator."""
        node_dir = self.layout.node_dir(node)
        return [
            state.geth_path,
            "--datadir",
            str(node_dir),
            "--config",
            str(node_dir / "config.toml"),
            "--nodekey",
            str(node_dir / "nodekey"),
            "--networkid",
            str(state.chain_id),
            "--syncmode",
            "full",
            "--nodiscover",
            "--nat",
            "none",
            "--ipcdisable",
            "--http",
            "--http.addr",
            LOOPBACK,
            "--http.port",
            str(node.http_port),
            "--http.api",
            ",".join(RPC_APIS),
            "--authrpc.addr",
            LOOPBACK,
            "--authrpc.port",
            str(node.authrpc_port),
            "--miner.etherbase",
            node.standby,
            "--miner.extradata",
            STANDBY_EXTRA,
            "--miner.gaslimit",
            str(state.gas_limit),
            # geth sanitises 0 back to its defaults, so 1 wei is the lowest tip it takes.
            "--miner.gasprice",
            "1",
            "--txpool.pricelimit",
            "1",
            "--unlock",
            node.validator,
            "--password",
            str(node_dir / "password.txt"),
            # Sealing needs the unlocked key; HTTP is bound to 127.0.0.1 only.
            "--allow-insecure-unlock",
            "--cache",
            "256",
            "--verbosity",
            "3",
        ]

    def spawn(self, state: ConsortiumState, node: NodeState) -> int:
        """Start ``node``'s geth detached (its output appended to its log); return its pid."""
        node_dir = self.layout.node_dir(node)
        cmd = self.geth_command(state, node)
        with self.layout.log_path(node).open("ab") as log_file:
            log_file.write(f"\n=== {datetime.now(UTC).isoformat()} starting {node.name}\n".encode())
            log_file.flush()
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=node_dir,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                raise NodeStartError(f"{node.name}: cannot run {cmd[0]}: {exc}") from exc
        _CHILDREN[proc.pid] = proc
        write_atomic(self.layout.pid_path(node), f"{proc.pid}\n")
        return proc.pid

    def wait_ready(self, node: NodeState, pid: int, timeout_s: float) -> None:
        """Wait until the started ``node`` answers RPC; stop it if it does not in time."""
        rpc = RpcClient(node.rpc_url, timeout_s=2.0)
        node_dir = self.layout.node_dir(node)

        def ready() -> bool | None:
            if not process_alive(pid, node_dir):
                raise NodeStartError(
                    f"{node.name} exited during start-up; {self.layout.log_path(node)}: "
                    f"{log_tail(self.layout.log_path(node))}"
                )
            return True if rpc.client_version() else None

        try:
            wait_until(ready, timeout_s=timeout_s, what=f"{node.name} RPC", error=NodeStartError)
        except NodeStartError as exc:
            if not process_alive(pid, node_dir):
                raise
            self.stop(node, pid, timeout_s=10.0, kill=False)
            raise NodeStartError(f"{exc}; log: {log_tail(self.layout.log_path(node))}") from exc

    def stop(
        self, node: NodeState, pid: int, *, timeout_s: float, kill: bool, signalled: bool = False
    ) -> None:
        """Stop ``node``'s geth ``pid``: SIGTERM (SIGKILL if ``kill``) unless already
        ``signalled``, wait ``timeout_s``, then SIGKILL."""
        node_dir = self.layout.node_dir(node)
        if not signalled:  # a second SIGTERM makes geth count down towards a panic
            send_signal(pid, signal.SIGKILL if kill else signal.SIGTERM)
        if not wait_exit(pid, node_dir, timeout_s):
            log.warning("%s (pid %d) ignored SIGTERM; killing it", node.name, pid)
            send_signal(pid, signal.SIGKILL)
            wait_exit(pid, node_dir, 10.0)
        with contextlib.suppress(FileNotFoundError):
            self.layout.pid_path(node).unlink()
