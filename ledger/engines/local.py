"""The local development chain: anvil (persistent) or Hardhat's node (in memory).

Gas is free on the local chain (base fee 0, no minimum tip), as on most permissioned
networks; senders still estimate and pay the (zero) fee like on any EVM chain.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from web3.types import RPCEndpoint

from ledger.engines.procs import pid_exists
from ledger.errors import ChainError, ToolchainError
from ledger.settings import Settings
from ledger.web3factory import is_reachable, make_web3

LocalEngine = Literal["anvil", "hardhat"]


class ChainStatus(BaseModel):
    """What ``gridledger chain status`` reports."""

    running: bool
    engine: LocalEngine | None = None
    pid: int | None = None
    rpc_url: str
    chain_id: int | None = None
    block_number: int | None = None
    persistent: bool = False
    state_file: str | None = None
    log_file: str | None = None
    already_running: bool = False


class ChainRecord(BaseModel):
    """The record of a chain this data directory started."""

    engine: LocalEngine
    pid: int
    rpc_url: str
    chain_id: int
    persistent: bool


def anvil_binary(settings: Settings) -> Path:
    """The anvil binary of the pinned ``@foundry-rs/anvil-<platform>`` npm package, else PATH."""
    scope = settings.node_modules / "@foundry-rs"
    if scope.is_dir():
        for candidate in sorted(scope.glob("anvil-*/bin/anvil")):
            if os.access(candidate, os.X_OK):
                return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    if shutil.which("npm") is None:
        raise ToolchainError("anvil needs Node.js and npm: install them, then run `make demo`")
    raise ToolchainError(f"anvil is not installed: run `npm ci` in {settings.hardhat_local_dir}")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


#: Block gas limit of the local anvil: room for the peak's 3,000 takes of about 615k gas
#: in one block (the interval block that follows a burst takes everything ready).
ANVIL_GAS_LIMIT = 2_000_000_000
#: Seconds between the interval blocks of ``mixed`` and ``interval`` mining by default.
DEFAULT_BLOCK_TIME_S = 1

Mining = Literal["mixed", "auto", "interval"]


def anvil_command(
    settings: Settings,
    port: int,
    *,
    state_file: Path | None,
    block_time_s: int | None,
    mining: Mining = "auto",
) -> list[str]:
    """The anvil command line for the GridLedger local chain.

    ``mining``: ``interval`` (what ``gridledger chain up`` ships) mines a block every
    ``block_time_s`` (default 1 s) with every ready transaction: it never stalls and holds
    the peak (3,000 takes at once fit one or two blocks); ``auto`` mines a block per
    transaction (the test fixtures: fastest one at a time, but anvil 1.x seals about one
    block per transaction under a burst and can leave ready transactions unmined,
    foundry-rs/foundry#10122); ``mixed`` is both (never stalls, quick one at a time, slow
    under a burst: what the demo uses). See docs/peak.md.
    """
    cmd = [
        str(anvil_binary(settings)),
        "--host",
        settings.rpc_host,
        "--port",
        str(port),
        "--chain-id",
        str(settings.chain_id),
        "--base-fee",
        "0",
        "--disable-min-priority-fee",
        "--gas-limit",
        str(ANVIL_GAS_LIMIT),
        "--accounts",
        "0",
        # Keep the last 256 states in memory and none on disk: without this anvil writes a
        # full state snapshot per block to ~/.foundry/anvil/tmp (tens of GB on a long run).
        "--prune-history",
        "256",
    ]
    if state_file is not None:
        cmd += ["--state", str(state_file), "--state-interval", "1"]
    if mining != "auto":
        cmd += ["--block-time", str(block_time_s or DEFAULT_BLOCK_TIME_S)]
    if mining == "mixed":
        cmd.append("--mixed-mining")
    return cmd


class LocalChain:
    """Starts, stops and reports on the chain of one data directory."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._dir = settings.data_dir.resolve() / "chain"

    @property
    def record_path(self) -> Path:
        return self._dir / "chain.json"

    @property
    def state_file(self) -> Path:
        return self._dir / "anvil-state.json"

    @property
    def log_file(self) -> Path:
        return self._dir / "node.log"

    def _record(self) -> ChainRecord | None:
        if not self.record_path.is_file():
            return None
        try:
            return ChainRecord.model_validate_json(self.record_path.read_text())
        except ValueError:
            return None

    def status(self) -> ChainStatus:
        record = self._record()
        alive = record is not None and _pid_alive(record.pid)
        url = record.rpc_url if record and alive else self._settings.rpc_url
        w3 = make_web3(self._settings, rpc_url=url, check=False, timeout_s=2.0)
        if not is_reachable(w3):
            return ChainStatus(running=False, rpc_url=url)
        return ChainStatus(
            running=True,
            engine=record.engine if record and alive else None,
            pid=record.pid if record and alive else None,
            rpc_url=url,
            chain_id=w3.eth.chain_id,
            block_number=w3.eth.block_number,
            persistent=bool(record and alive and record.persistent),
            state_file=str(self.state_file) if record and record.persistent else None,
            log_file=str(self.log_file) if record else None,
        )

    def up(
        self,
        engine: LocalEngine | None = None,
        block_time_s: int | None = None,
        mining: Mining | None = None,
    ) -> ChainStatus:
        """Start the chain in the background; report it if it already runs."""
        engine = engine or self._settings.engine
        block_time_s = block_time_s or self._settings.block_time_s
        current = self.status()
        record = self._record()
        if current.running and record is not None and _pid_alive(record.pid):
            return current.model_copy(update={"already_running": True})
        host, port = self._settings.rpc_host, self._settings.rpc_port
        if current.running or port_in_use(host, port):
            raise ChainError(
                f"port {port} on {host} is busy with something this data directory did not "
                "start: stop it, or set GRIDLEDGER_RPC_PORT to a free port"
            )
        self._dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        if engine == "anvil":
            cmd = anvil_command(
                self._settings,
                port,
                state_file=self.state_file,
                block_time_s=block_time_s,
                mining=mining or self._settings.mining,
            )
        else:
            cmd = self._hardhat_command(port)
            env["GRIDLEDGER_CHAIN_ID"] = str(self._settings.chain_id)
            env["GRIDLEDGER_BLOCK_TIME_S"] = str(block_time_s or 0)
        pid = spawn_detached(cmd, env, self.log_file)
        url = f"http://{host}:{port}"
        record = ChainRecord(
            engine=engine,
            pid=pid,
            rpc_url=url,
            chain_id=self._settings.chain_id,
            persistent=engine == "anvil",
        )
        self.record_path.write_text(record.model_dump_json(indent=2) + "\n")
        w3 = make_web3(self._settings, rpc_url=url, check=False, timeout_s=2.0)
        deadline = time.monotonic() + 60
        while not is_reachable(w3):
            if not _pid_alive(pid) or time.monotonic() > deadline:
                self._kill(pid)
                self.record_path.unlink(missing_ok=True)
                raise ChainError(
                    f"{engine} did not start (see {self.log_file}): {_tail(self.log_file)}"
                )
            time.sleep(0.1)
        return self.status()

    def _hardhat_command(self, port: int) -> list[str]:
        hardhat = self._settings.node_modules / ".bin" / "hardhat"
        if shutil.which("node") is None or not hardhat.exists():
            raise ToolchainError(
                f"hardhat is not installed: run `npm ci` in {self._settings.hardhat_local_dir}"
            )
        # Hardhat must run from inside its project: env -C changes directory first.
        return [
            "/usr/bin/env",
            "-C",
            str(self._settings.hardhat_local_dir.resolve()),
            str(hardhat.resolve()),
            "node",
            "--hostname",
            self._settings.rpc_host,
            "--port",
            str(port),
        ]

    def down(self) -> bool:
        """Stop the chain (anvil writes its state on the way out); False if none ran."""
        record = self._record()
        if record is None or not _pid_alive(record.pid):
            self.record_path.unlink(missing_ok=True)
            return False
        self._kill(record.pid)
        self.record_path.unlink(missing_ok=True)
        return True

    def advance(self, seconds: int) -> int:
        """Move the local dev chain's clock ``seconds`` forward and mine a block
        (``evm_increaseTime`` + ``evm_mine``); returns the new block's timestamp."""
        status = self.status()
        if not status.running:
            raise ChainError(f"no chain running at {status.rpc_url}: `gridledger chain up`")
        w3 = make_web3(self._settings, rpc_url=status.rpc_url, check=False)
        for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
            reply = w3.provider.make_request(RPCEndpoint(method), params)
            if "error" in reply:
                raise ChainError(f"this chain cannot move its clock ({method}): {reply['error']}")
        return int(w3.eth.get_block("latest")["timestamp"])

    def reset(self) -> None:
        """Stop the chain and delete its persisted state."""
        self.down()
        self.state_file.unlink(missing_ok=True)

    @staticmethod
    def _kill(pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 15
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return


def spawn_detached(cmd: list[str], env: dict[str, str], log_file: Path) -> int:
    """Start ``cmd`` in its own session, output appended to ``log_file``; return its pid.

    ``posix_spawn`` leaves no :class:`subprocess.Popen` behind to warn about a child that
    outlives it; :func:`_pid_alive` reaps the child once it exits.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(cmd[0], cmd, env, file_actions=actions, setsid=True)


def _pid_alive(pid: int) -> bool:
    if not pid_exists(pid):
        return False
    try:
        # A zombie (exited child not yet reaped) is not alive.
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _not_zombie(pid)
    return waited == 0


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"
