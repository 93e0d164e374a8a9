"""A multi-validator proof-of-authority (Clique) network of go-ethereum nodes on loopback.

The consortium runs the GridLedger contracts on a chain sealed by the members' validators
instead of a single development node. Each member runs one geth v1.13.x node (the last
release line that seals Clique blocks) whose validator key sits in an encrypted
Web3 Secret Storage keystore (scrypt). The genesis names the validators as the only
Clique signers, stops at the London fork (Clique rejects Shanghai and Cancun; the
contracts are compiled for ``paris`` and need no ``PUSH0``) and prefunds the validators
plus any application accounts, because the London base fee never falls below 7 wei.

Everything lives in one directory (``<data_dir>/consortium`` for the CLI)::

    genesis.json          the chain's genesis (Clique signers in extraData)
    state.json            ports, enodes and validators (:class:`ConsortiumState`)
    node0/ ... nodeN-1/   one geth datadir per validator:
        keystore/         the validator key and a standby key, encrypted
        password.txt      its password (mode 0600)
        nodekey           the p2p identity (mode 0600)
        config.toml       static peers and the loopback p2p listen address
        geth.log          the node's log
        geth.pid          the detached process' pid

The geth binary comes from ``GRIDLEDGER_GETH`` (a path), a ``geth`` 1.13.x on ``PATH``,
or the build cache (``GRIDLEDGER_GETH_CACHE``, default
``~/.cache/gridledger/geth-v1.13.15``), where :func:`build_geth` installs it with
``go install`` through the Go module proxy. This module is Linux-only (it reads
``/proc`` to tell its geth processes from recycled pids).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from eth_account import Account
from eth_keys.datatypes import PrivateKey
from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field

from ledger.consortium_errors import (
    ConsortiumAlreadyRunningError,
    ConsortiumConfigError,
    ConsortiumNotFoundError,
    ConsortiumRpcError,
    GethNotAvailableError,
    GovernanceError,
    NodeStartError,
)
from ledger.errors import ValidationError

log = logging.getLogger(__name__)

#: The go-ethereum release the consortium is built and tested with.
GETH_VERSION = "1.13.15"
#: The Go package ``go install`` builds.
GETH_PACKAGE = "github.com/ethereum/go-ethereum/cmd/geth"
#: Only this release line seals Clique blocks (1.14 dropped pre-merge sealing).
GETH_SUPPORTED_PREFIX = "1.13."
#: The consortium's chain id (the local anvil chain uses 31415).
CONSORTIUM_CHAIN_ID = 31_416
DEFAULT_VALIDATORS = 4
DEFAULT_PERIOD_S = 2
DEFAULT_GAS_LIMIT = 30_000_000
#: One million ether for every prefunded account and validator.
DEFAULT_PREFUND_WEI = 10**24
#: The London base fee floor on an idle chain (7 * 7/8 rounds to 7); start there.
DEFAULT_BASE_FEE_WEI = 7
#: scrypt cost of the validator keystores (geth's "standard" cost).
DEFAULT_SCRYPT_N = 262_144
CLIQUE_EPOCH = 30_000
#: ``miner`` is there so sealing starts (``miner_start``) only once a node is peered
#: and caught up: a geth that is not sealing yet drops propagated blocks, which can
#: fork a freshly started Clique network.
RPC_APIS = ("eth", "net", "web3", "clique", "admin", "txpool", "miner")
MAX_VALIDATORS = 32

_EXTRA_VANITY = 32
_EXTRA_SEAL = 65
_LOOPBACK = "127.0.0.1"
_STATE_FILE = "state.json"
_GENESIS_FILE = "genesis.json"
_LOCK_FILE = ".lock"
#: Block vanity while a node's miner runs with its standby key (see Consortium._start).
_STANDBY_EXTRA = "gridledger standby"

#: The geth processes this Python process started, kept so they can be reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------
# The geth binary
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GethBinary:
    """A geth executable and the version it reports."""

    path: Path
    version: str


def geth_cache_dir() -> Path:
    """The stable build cache of geth: ``GRIDLEDGER_GETH_CACHE`` or the user cache dir."""
    explicit = os.environ.get("GRIDLEDGER_GETH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    cache = Path(base) if base else Path.home() / ".cache"
    return cache / "gridledger" / f"geth-v{GETH_VERSION}"


def geth_version(path: Path) -> str | None:
    """The version ``path version`` reports (e.g. ``1.13.15``), or None if it fails."""
    try:
        out = subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    match = re.search(r"^Version:\s*(\d+\.\d+\.\d+)", out.stdout, re.MULTILINE)
    return match.group(1) if match else None


def _usable_geth(path: Path) -> GethBinary | None:
    if not path.is_file() or not os.access(path, os.X_OK):
        return None
    version = geth_version(path)
    if version is None or not version.startswith(GETH_SUPPORTED_PREFIX):
        return None
    return GethBinary(path=path.resolve(), version=version)


def find_geth(cache_dir: Path | None = None) -> GethBinary | None:
    """A usable geth 1.13.x without building: ``GRIDLEDGER_GETH``, ``PATH``, then the cache.

    Raises:
        GethNotAvailableError: ``GRIDLEDGER_GETH`` names a binary that is not geth 1.13.x.
    """
    explicit = os.environ.get("GRIDLEDGER_GETH")
    if explicit:
        found = _usable_geth(Path(explicit).expanduser())
        if found is None:
            raise GethNotAvailableError(
                f"GRIDLEDGER_GETH={explicit} is not a geth {GETH_SUPPORTED_PREFIX}x binary"
            )
        return found
    on_path = shutil.which("geth")
    if on_path:
        found = _usable_geth(Path(on_path))
        if found is not None:
            return found
        log.info("ignoring %s: not geth %sx", on_path, GETH_SUPPORTED_PREFIX)
    return _usable_geth((cache_dir or geth_cache_dir()) / "geth")


def find_go() -> Path | None:
    """The Go toolchain: ``go`` on PATH, else ``/usr/local/go/bin/go``."""
    on_path = shutil.which("go")
    if on_path:
        return Path(on_path)
    fallback = Path("/usr/local/go/bin/go")
    return fallback if fallback.is_file() else None


def go_version(go: Path) -> tuple[int, int]:
    """The (major, minor) version of a Go toolchain.

    Raises:
        GethNotAvailableError: the toolchain does not run.
    """
    try:
        out = subprocess.run(
            [str(go), "env", "GOVERSION"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "GOTOOLCHAIN": "local"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GethNotAvailableError(f"`{go} env GOVERSION` failed: {exc}") from exc
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or match is None:
        raise GethNotAvailableError(
            f"`{go} env GOVERSION` failed (exit {out.returncode}): "
            f"{(out.stderr or out.stdout).strip()}"
        )
    return int(match.group(1)), int(match.group(2))


def geth_build_command(go: Path, version: tuple[int, int]) -> list[str]:
    """The ``go install`` command line for geth v1.13.15.

    Go 1.23+ refuses the ``//go:linkname`` pulls of that release's dependencies unless
    the linker check is switched off.
    """
    cmd = [str(go), "install"]
    if version >= (1, 23):
        cmd.append("-ldflags=-checklinkname=0")
    cmd.append(f"{GETH_PACKAGE}@v{GETH_VERSION}")
    return cmd


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def build_geth(
    cache_dir: Path | None = None, *, go: Path | None = None, timeout_s: float = 3600.0
) -> GethBinary:
    """Build geth v1.13.15 with ``go install`` into ``cache_dir`` (GOBIN) and return it.

    A file lock serialises concurrent builds; a binary that appeared meanwhile is reused.

    Raises:
        GethNotAvailableError: no Go toolchain, or the build failed (the message carries
            the command and the end of its output).
    """
    target = cache_dir or geth_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with _file_lock(target / ".build.lock"):
        existing = _usable_geth(target / "geth")
        if existing is not None:
            return existing
        go_bin = go or find_go()
        if go_bin is None:
            raise GethNotAvailableError(
                f"geth {GETH_SUPPORTED_PREFIX}x is not installed and no Go toolchain was "
                f"found to build it; install Go or put geth v{GETH_VERSION} on PATH"
            )
        cmd = geth_build_command(go_bin, go_version(go_bin))
        env = {**os.environ, "GOBIN": str(target.resolve()), "GOTOOLCHAIN": "local"}
        log.info("building geth: %s (GOBIN=%s)", " ".join(cmd), target)
        try:
            out = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                env=env,
                cwd=target,
            )
        except subprocess.TimeoutExpired as exc:
            raise GethNotAvailableError(
                f"`{' '.join(cmd)}` did not finish within {timeout_s:g} s"
            ) from exc
        except OSError as exc:
            raise GethNotAvailableError(f"`{' '.join(cmd)}` could not run: {exc}") from exc
        if out.returncode != 0:
            tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-8:])
            raise GethNotAvailableError(f"`{' '.join(cmd)}` failed (exit {out.returncode}): {tail}")
        built = _usable_geth(target / "geth")
        if built is None:
            raise GethNotAvailableError(
                f"`{' '.join(cmd)}` succeeded but {target / 'geth'} is not geth "
                f"{GETH_SUPPORTED_PREFIX}x"
            )
        return built


def ensure_geth(cache_dir: Path | None = None, *, build: bool = True) -> GethBinary:
    """A usable geth 1.13.x: found (:func:`find_geth`) or, if ``build``, built once.

    Raises:
        GethNotAvailableError: none found and building is off or failed.
    """
    found = find_geth(cache_dir)
    if found is not None:
        return found
    if not build:
        raise GethNotAvailableError(
            f"no geth {GETH_SUPPORTED_PREFIX}x found (GRIDLEDGER_GETH, PATH, "
            f"{(cache_dir or geth_cache_dir()) / 'geth'})"
        )
    return build_geth(cache_dir)


# --------------------------------------------------------------------------------------
# Genesis, keys and node configuration
# --------------------------------------------------------------------------------------


def normalize_address(address: str) -> str:
    """``address`` as an EIP-55 checksum address.

    Raises:
        ValidationError: not a 20-byte hex address.
    """
    if not is_address(address):
        raise ValidationError(f"address: {address!r} is not a 20-byte hex address")
    return str(to_checksum_address(address))


def clique_extra_data(signers: Sequence[str]) -> str:
    """The genesis ``extraData`` naming ``signers``: 32 vanity bytes, the signers in
    ascending byte order, 65 zero seal bytes."""
    if not signers:
        raise ConsortiumConfigError("a Clique genesis needs at least one signer")
    ordered = sorted({normalize_address(s).lower() for s in signers})
    body = "".join(a[2:] for a in ordered)
    return "0x" + "00" * _EXTRA_VANITY + body + "00" * _EXTRA_SEAL


def clique_signers_from_extra(extra_data: str) -> list[str]:
    """The signer list encoded in a Clique checkpoint ``extraData`` (inverse of
    :func:`clique_extra_data`)."""
    raw = bytes.fromhex(extra_data.removeprefix("0x"))
    body = raw[_EXTRA_VANITY : len(raw) - _EXTRA_SEAL]
    if len(body) % 20:
        raise ValidationError("extraData: signer section is not a multiple of 20 bytes")
    return [str(to_checksum_address(body[i : i + 20])) for i in range(0, len(body), 20)]


def build_genesis(
    *,
    chain_id: int,
    period_s: int,
    signers: Sequence[str],
    prefund: Sequence[str] = (),
    prefund_wei: int = DEFAULT_PREFUND_WEI,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    base_fee_wei: int = DEFAULT_BASE_FEE_WEI,
    epoch: int = CLIQUE_EPOCH,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A London-era Clique genesis whose only signers are ``signers``.

    Every fork up to London (and the Arrow/Gray Glacier no-ops) is active at block 0;
    Shanghai and Cancun are absent because geth's Clique engine rejects them. The
    signers and ``prefund`` accounts each get ``prefund_wei``.
    """
    if period_s < 1:
        raise ConsortiumConfigError("the Clique period must be at least 1 second")
    if gas_limit < 5000:
        raise ConsortiumConfigError("gas limit too small")
    alloc: dict[str, dict[str, str]] = {}
    for account in [*signers, *prefund]:
        alloc[normalize_address(account).lower()[2:]] = {"balance": hex(prefund_wei)}
    config: dict[str, Any] = {"chainId": chain_id}
    for fork in (
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
        "arrowGlacierBlock",
        "grayGlacierBlock",
    ):
        config[fork] = 0
    config["clique"] = {"period": period_s, "epoch": epoch}
    return {
        "config": config,
        "nonce": "0x0",
        "timestamp": hex(int(time.time()) if timestamp is None else timestamp),
        "extraData": clique_extra_data(signers),
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": "0x" + "00" * 32,
        "coinbase": "0x" + "00" * 20,
        "baseFeePerGas": hex(base_fee_wei),
        "alloc": alloc,
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x" + "00" * 32,
    }


#: Chain id used by the Hyperledger Besu QBFT templates (docs/besu-qbft).
BESU_QBFT_CHAIN_ID = 31_417
#: The QBFT/IBFT 2.0 genesis mixHash ("Istanbul" digest) Besu requires.
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"

RlpItem = bytes | int | Sequence["RlpItem"]


def _rlp_length(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(encoded)]) + encoded


def rlp_encode(item: RlpItem) -> bytes:
    """Recursive Length Prefix encoding of bytes, non-negative ints and nested lists."""
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP encodes non-negative integers only")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _rlp_length(len(item), 0x80) + item
    body = b"".join(rlp_encode(sub) for sub in item)
    return _rlp_length(len(body), 0xC0) + body


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The genesis ``extraData`` of a Besu QBFT network:
    ``RLP([32-byte vanity, [validators], no vote, round 0, no seals])`` (what
    ``besu rlp encode --type=QBFT_EXTRA_DATA`` prints for a validator list)."""
    if not validators:
        raise ConsortiumConfigError("a QBFT genesis needs at least one validator")
    ordered = [bytes.fromhex(normalize_address(v)[2:]) for v in validators]
    return "0x" + rlp_encode([bytes(32), ordered, [], 0, []]).hex()


def build_qbft_genesis(
    *,
    validators: Sequence[str],
    chain_id: int = BESU_QBFT_CHAIN_ID,
    period_s: int = DEFAULT_PERIOD_S,
    prefund: Sequence[str] = (),
    prefund_wei: int = DEFAULT_PREFUND_WEI,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    epoch: int = CLIQUE_EPOCH,
    request_timeout_s: int = 4,
) -> dict[str, Any]:
    """A Hyperledger Besu QBFT genesis at the London fork (matching the Clique network
    and the ``paris`` contracts) with ``validators`` and ``prefund`` funded."""
    if period_s < 1:
        raise ConsortiumConfigError("the block period must be at least 1 second")
    alloc = {
        normalize_address(a).lower()[2:]: {"balance": hex(prefund_wei)}
        for a in [*validators, *prefund]
    }
    return {
        "config": {
            "chainId": chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "qbft": {
                "blockperiodseconds": period_s,
                "epochlength": epoch,
                "requesttimeoutseconds": request_timeout_s,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "alloc": alloc,
        "extraData": qbft_extra_data(validators),
    }


def enode_id(node_key_hex: str) -> str:
    """The 128-hex-digit node id (uncompressed public key) of a p2p private key."""
    key = PrivateKey(bytes.fromhex(node_key_hex.removeprefix("0x")))
    return key.public_key.to_bytes().hex()


def enode_url(node_key_hex: str, port: int, host: str = _LOOPBACK) -> str:
    """The ``enode://`` URL of a node listening on ``host:port`` (no discovery port)."""
    return f"enode://{enode_id(node_key_hex)}@{host}:{port}?discport=0"


def node_config_toml(listen_port: int, static_nodes: Sequence[str]) -> str:
    """The geth ``--config`` TOML: loopback-only p2p listener, no discovery, static peers."""
    peers = ",\n".join(f'  "{url}"' for url in static_nodes)
    return (
        "# Written by gridledger consortium; rewritten whenever the ports change.\n"
        "[Node.P2P]\n"
        "NoDiscovery = true\n"
        f'ListenAddr = "{_LOOPBACK}:{listen_port}"\n'
        f"StaticNodes = [\n{peers}\n]\n"
    )


def free_ports(count: int, *, exclude: Sequence[int] = ()) -> list[int]:
    """``count`` distinct TCP ports that are free on the loopback interface right now."""
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((_LOOPBACK, 0))
            port = int(sock.getsockname()[1])
            if port not in exclude and port not in ports:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def keystore_addresses(directory: Path) -> list[str]:
    """The addresses of the Web3 Secret Storage files in ``directory`` (read from their
    plaintext ``address`` field; other files are skipped)."""
    found: list[str] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        address = data.get("address") if isinstance(data, dict) else None
        if isinstance(address, str):
            candidate = address if address.startswith("0x") else "0x" + address
            if is_address(candidate):
                checksum = str(to_checksum_address(candidate))
                if checksum not in found:
                    found.append(checksum)
    return found


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------


class NodeState(BaseModel):
    """One validator's node as recorded in ``state.json``."""

    model_config = ConfigDict(extra="forbid")

    index: int
    name: str
    validator: str = Field(description="Checksum address of the node's Clique signer key.")
    standby: str = Field(
        description="A never-funded key the miner starts with: it cannot seal, so the node "
        "is marked synced before it may seal (see Consortium._start)."
    )
    http_port: int
    p2p_port: int
    authrpc_port: int
    enode: str

    @property
    def rpc_url(self) -> str:
        """The node's HTTP JSON-RPC endpoint."""
        return f"http://{_LOOPBACK}:{self.http_port}"


class ConsortiumState(BaseModel):
    """The consortium's ``state.json``: what ``up`` chose and every later command reads."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    chain_id: int
    period_s: int
    gas_limit: int
    geth_path: str
    geth_version: str
    created_at: datetime
    started_at: datetime | None = None
    prefund: list[str] = Field(default_factory=list)
    nodes: list[NodeState]

    def node(self, ref: int | str) -> NodeState:
        """A node by index, name (``node2``) or validator address.

        Raises:
            ValidationError: no such node.
        """
        for node in self.nodes:
            if ref in (node.index, node.name) or (
                isinstance(ref, str) and ref.lower() == node.validator.lower()
            ):
                return node
        raise ValidationError(f"node: no consortium node {ref!r}")


class NodeStatus(BaseModel):
    """What one node reports (None where it could not be asked)."""

    index: int
    name: str
    validator: str
    rpc_url: str
    running: bool
    pid: int | None = None
    peers: int | None = None
    sealing: bool | None = None
    head_number: int | None = None
    head_hash: str | None = None
    signers: list[str] | None = None
    error: str | None = None

    @property
    def is_signer(self) -> bool | None:
        """Whether the node's validator is in the signer set the node sees."""
        if self.signers is None:
            return None
        return self.validator in self.signers


class ConsortiumStatus(BaseModel):
    """The consortium's state as its nodes report it."""

    root: str
    chain_id: int
    period_s: int
    geth_version: str
    nodes: list[NodeStatus]

    @property
    def signers(self) -> list[str] | None:
        """The signer set (clique_getSigners) of the answering node with the highest head."""
        answering = [n for n in self.nodes if n.signers is not None]
        if not answering:
            return None
        best = max(answering, key=lambda n: n.head_number or 0)
        return best.signers

    @property
    def running(self) -> int:
        """How many nodes run."""
        return sum(1 for n in self.nodes if n.running)


class ProposalResult(BaseModel):
    """The outcome of a Clique vote (:meth:`Consortium.propose`)."""

    address: str
    authorize: bool
    voters: list[str]
    signers_before: list[str]
    signers_after: list[str]
    applied: bool


# --------------------------------------------------------------------------------------
# JSON-RPC
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _process_alive(pid: int, datadir: Path) -> bool:
    """Whether ``pid`` is a live (non-zombie) geth serving ``datadir``."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs: trust the pid
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    try:
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        stat = (proc / "stat").read_text()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] in ("Z", "X"):
        return False
    return str(datadir) in cmdline


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_exit(pid: int, datadir: Path, timeout_s: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        _CHILDREN.pop(pid, None)
        return True
    deadline = time.monotonic() + timeout_s
    while _process_alive(pid, datadir):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------------------
# The consortium
# --------------------------------------------------------------------------------------


class Consortium:
    """A Clique network of local geth nodes rooted in one directory.

    Create it with :meth:`up`; :meth:`down` stops it (the chain stays on disk and the
    next :meth:`up` resumes it); :meth:`status` asks every node; :meth:`propose` runs a
    Clique vote. :meth:`stop_node` / :meth:`start_node` drive fault drills.
    """

    def __init__(self, root: Path, *, rpc_timeout_s: float = 10.0) -> None:
        self.root = root.expanduser().resolve()
        self.rpc_timeout_s = rpc_timeout_s

    # -- paths --------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        """``state.json``."""
        return self.root / _STATE_FILE

    @property
    def genesis_path(self) -> Path:
        """``genesis.json``."""
        return self.root / _GENESIS_FILE

    def node_dir(self, node: NodeState | int) -> Path:
        """The node's geth datadir."""
        index = node if isinstance(node, int) else node.index
        return self.root / f"node{index}"

    def log_path(self, node: NodeState | int) -> Path:
        """The node's log file."""
        return self.node_dir(node) / "geth.log"

    def pid_path(self, node: NodeState | int) -> Path:
        """The node's pid file."""
        return self.node_dir(node) / "geth.pid"

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return _file_lock(self.root / _LOCK_FILE)

    # -- state --------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether a consortium was created here."""
        return self.state_path.is_file()

    def load_state(self) -> ConsortiumState:
        """The recorded state.

        Raises:
            ConsortiumNotFoundError: no consortium here (or its state file is unreadable).
        """
        try:
            text = self.state_path.read_text()
        except FileNotFoundError:
            raise ConsortiumNotFoundError(
                f"no consortium in {self.root}; run `gridledger consortium up`"
            ) from None
        try:
            return ConsortiumState.model_validate_json(text)
        except ValueError as exc:
            raise ConsortiumNotFoundError(f"unreadable {self.state_path}: {exc}") from exc

    def _save_state(self, state: ConsortiumState) -> None:
        _write_atomic(self.state_path, state.model_dump_json(indent=2) + "\n")

    def rpc(self, node: NodeState | int) -> RpcClient:
        """A JSON-RPC client of one node."""
        if isinstance(node, int):
            node = self.load_state().node(node)
        return RpcClient(node.rpc_url, self.rpc_timeout_s)

    def pid(self, node: NodeState | int) -> int | None:
        """The pid of the node's live geth process, or None if it is not running."""
        pid = _read_pid(self.pid_path(node))
        if pid is None or not _process_alive(pid, self.node_dir(node)):
            return None
        return pid

    def is_running(self, node: NodeState | int) -> bool:
        """Whether the node's geth process is alive."""
        return self.pid(node) is not None

    # -- creation -----------------------------------------------------------------------

    def _create(
        self,
        *,
        geth: GethBinary,
        validators: int,
        period_s: int,
        chain_id: int,
        prefund: Sequence[str],
        prefund_wei: int,
        gas_limit: int,
        base_fee_wei: int,
        scrypt_n: int,
    ) -> ConsortiumState:
        """Keys, genesis and ``geth init`` for a new network (ports are set at start)."""
        self.root.mkdir(parents=True, exist_ok=True)
        stale = [p for p in self.root.glob("node*") if p.is_dir()]
        if stale:
            raise ConsortiumConfigError(
                f"{self.root} holds node directories but no {_STATE_FILE}; "
                f"remove {self.root} to start afresh"
            )
        nodes: list[NodeState] = []
        for index in range(validators):
            node_dir = self.node_dir(index)
            node_dir.mkdir(mode=0o700, parents=True)
            account = Account.create()
            standby = Account.create()
            password = secrets.token_urlsafe(32)
            _write_private(node_dir / "password.txt", password + "\n")
            (node_dir / "keystore").mkdir(mode=0o700)
            for key in (account, standby):
                keystore = Account.encrypt(key.key, password, kdf="scrypt", iterations=scrypt_n)
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
                _write_private(
                    node_dir / "keystore" / f"UTC--{stamp}--{key.address.lower()[2:]}",
                    json.dumps(keystore),
                )
            node_key = secrets.token_bytes(32).hex()
            _write_private(node_dir / "nodekey", node_key + "\n")
            nodes.append(
                NodeState(
                    index=index,
                    name=f"node{index}",
                    validator=account.address,
                    standby=standby.address,
                    http_port=0,
                    p2p_port=0,
                    authrpc_port=0,
                    enode=enode_id(node_key),
                )
            )
        funded = list(dict.fromkeys(normalize_address(a) for a in prefund))
        genesis = build_genesis(
            chain_id=chain_id,
            period_s=period_s,
            signers=[n.validator for n in nodes],
            prefund=funded,
            prefund_wei=prefund_wei,
            gas_limit=gas_limit,
            base_fee_wei=base_fee_wei,
        )
        _write_atomic(self.genesis_path, json.dumps(genesis, indent=2) + "\n")
        for node in nodes:
            self._geth_init(geth.path, node)
        state = ConsortiumState(
            chain_id=chain_id,
            period_s=period_s,
            gas_limit=gas_limit,
            geth_path=str(geth.path),
            geth_version=geth.version,
            created_at=datetime.now(UTC),
            prefund=funded,
            nodes=nodes,
        )
        self._save_state(state)
        return state

    def _geth_init(self, geth: Path, node: NodeState) -> None:
        cmd = [str(geth), "init", "--datadir", str(self.node_dir(node)), str(self.genesis_path)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise NodeStartError(f"`{' '.join(cmd)}` could not run: {exc}") from exc
        if out.returncode != 0:
            tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-6:])
            raise NodeStartError(f"`geth init` of {node.name} failed: {tail}")

    def _assign_ports(self, state: ConsortiumState) -> None:
        """Pick free loopback ports for every node and rewrite their static-peer configs."""
        ports = free_ports(3 * len(state.nodes))
        for node, i in zip(state.nodes, range(0, len(ports), 3), strict=True):
            node.http_port, node.p2p_port, node.authrpc_port = ports[i : i + 3]
        self._write_configs(state)

    def _write_configs(self, state: ConsortiumState) -> None:
        for node in state.nodes:
            peers = [
                f"enode://{other.enode}@{_LOOPBACK}:{other.p2p_port}?discport=0"
                for other in state.nodes
                if other.index != node.index
            ]
            _write_atomic(
                self.node_dir(node) / "config.toml", node_config_toml(node.p2p_port, peers)
            )

    # -- processes ----------------------------------------------------------------------

    def geth_command(self, state: ConsortiumState, node: NodeState) -> list[str]:
        """The command line that runs ``node`` as a sealing Clique validator."""
        node_dir = self.node_dir(node)
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
            _LOOPBACK,
            "--http.port",
            str(node.http_port),
            "--http.api",
            ",".join(RPC_APIS),
            "--authrpc.addr",
            _LOOPBACK,
            "--authrpc.port",
            str(node.authrpc_port),
            "--miner.etherbase",
            node.standby,
            "--miner.extradata",
            _STANDBY_EXTRA,
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

    def _spawn(self, state: ConsortiumState, node: NodeState) -> int:
        node_dir = self.node_dir(node)
        cmd = self.geth_command(state, node)
        with self.log_path(node).open("ab") as log_file:
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
        _write_atomic(self.pid_path(node), f"{proc.pid}\n")
        return proc.pid

    def _wait_ready(self, node: NodeState, pid: int, timeout_s: float) -> None:
        rpc = RpcClient(node.rpc_url, timeout_s=2.0)
        node_dir = self.node_dir(node)

        def ready() -> bool | None:
            if not _process_alive(pid, node_dir):
                raise NodeStartError(
                    f"{node.name} exited during start-up; {self.log_path(node)}: "
                    f"{_log_tail(self.log_path(node))}"
                )
            return True if rpc.client_version() else None

        try:
            wait_until(ready, timeout_s=timeout_s, what=f"{node.name} RPC", error=NodeStartError)
        except NodeStartError as exc:
            if not _process_alive(pid, node_dir):
                raise
            self._stop_pid(node, pid, timeout_s=10.0, kill=False)
            raise NodeStartError(f"{exc}; log: {_log_tail(self.log_path(node))}") from exc

    def _resolve_geth(self, state: ConsortiumState) -> None:
        """Point the state at a usable geth if the recorded one has gone."""
        if _usable_geth(Path(state.geth_path)) is None:
            geth = ensure_geth()
            state.geth_path, state.geth_version = str(geth.path), geth.version

    def _start(self, state: ConsortiumState, nodes: Sequence[NodeState], timeout_s: float) -> None:
        """Spawn ``nodes`` and, once they answer, are peered and have caught up with the
        running nodes, make them seal.

        Geth drops the blocks its peers propagate until it has started its miner (or
        synced once). A node that seals while a peer is still in that state forks the
        chain: the peer later seals its own block at the same height, and with equal
        difficulty neither side may extend the other's branch (Clique's "signed
        recently" rule), which stalls the network for good. So every started node first
        runs its miner with its standby key, which is no signer and cannot seal; only
        when all of them do is each switched to its validator key.
        """
        self._resolve_geth(state)
        self._save_state(state)
        started = [(node, self._spawn(state, node)) for node in nodes]
        for node, pid in started:
            self._wait_ready(node, pid, timeout_s)
        running = [n for n in state.nodes if self.is_running(n)]
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
            self.wait_for_peers(timeout_s=timeout_s)
            wait_until(caught_up, timeout_s=timeout_s, what="the started nodes to sync")
            with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
                list(pool.map(self._start_standby_miner, nodes))
            with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
                list(pool.map(self._start_sealing, nodes))
        except ConsortiumRpcError as exc:
            raise NodeStartError(f"{exc}; logs in {self.root}/node*/geth.log") from exc

    def _set_mining(self, rpc: RpcClient, on: bool) -> None:
        rpc.call("miner_start" if on else "miner_stop")
        wait_until(
            lambda: True if bool(rpc.call("eth_mining")) == on else None,
            timeout_s=15.0,
            interval_s=0.05,
            what=f"{rpc.url} to {'start' if on else 'stop'} its miner",
        )

    def _start_standby_miner(self, node: NodeState) -> None:
        """Start the miner with the standby key (marks the node synced; cannot seal)."""
        rpc = RpcClient(node.rpc_url, self.rpc_timeout_s)
        rpc.call("miner_setExtra", _STANDBY_EXTRA)
        rpc.call("miner_setEtherbase", node.standby)
        self._set_mining(rpc, True)

    def _start_sealing(self, node: NodeState) -> None:
        """Restart the miner with the validator key: Clique takes its signer from the
        etherbase when the miner starts.

        The block vanity changes too: geth skips sealing work whose seal hash equals the
        previous task's, and the standby's work at the same height and second would
        otherwise hash the same, leaving an idle network with nothing to seal.
        """
        rpc = RpcClient(node.rpc_url, self.rpc_timeout_s)
        rpc.call("miner_setExtra", f"gridledger {node.name}")
        rpc.call("miner_setEtherbase", node.validator)
        self._set_mining(rpc, False)
        self._set_mining(rpc, True)

    def _stop_pid(
        self, node: NodeState, pid: int, *, timeout_s: float, kill: bool, signalled: bool = False
    ) -> None:
        node_dir = self.node_dir(node)
        if not signalled:  # a second SIGTERM makes geth count down towards a panic
            _signal(pid, signal.SIGKILL if kill else signal.SIGTERM)
        if not _wait_exit(pid, node_dir, timeout_s):
            log.warning("%s (pid %d) ignored SIGTERM; killing it", node.name, pid)
            _signal(pid, signal.SIGKILL)
            _wait_exit(pid, node_dir, 10.0)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path(node).unlink()

    def wait_for_peers(self, *, timeout_s: float = 60.0) -> None:
        """Wait until every running node is connected to every other running node."""
        state = self.load_state()
        running = [n for n in state.nodes if self.is_running(n)]
        want = len(running) - 1

        def meshed() -> bool | None:
            for node in running:
                if RpcClient(node.rpc_url, 2.0).peer_count() < want:
                    return None
            return True

        wait_until(meshed, timeout_s=timeout_s, what=f"{want} peers on every running node")

    def wait_for_block(
        self, number: int, *, nodes: Sequence[int] | None = None, timeout_s: float = 60.0
    ) -> int:
        """Wait until the given nodes (default: all running) have a head >= ``number``;
        return the lowest of their heads."""
        state = self.load_state()
        chosen = [state.node(i) for i in nodes] if nodes is not None else None
        targets = chosen or [n for n in state.nodes if self.is_running(n)]

        def reached() -> int | None:
            heads = [RpcClient(n.rpc_url, 2.0).block_number() for n in targets]
            return min(heads) if min(heads) >= number else None

        try:
            return wait_until(reached, timeout_s=timeout_s, what=f"block {number}")
        except ConsortiumRpcError as exc:
            raise ConsortiumRpcError(f"{exc}; {self.describe_heads()}") from exc

    def describe_heads(self) -> str:
        """One line per running node: head number, hash and the signer of the head (for
        the error of a stalled wait)."""
        parts: list[str] = []
        for node in self.load_state().nodes:
            if not self.is_running(node):
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

    # -- public lifecycle ---------------------------------------------------------------

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
        with self._lock():
            if self.exists():
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
            else:
                state = self._create(
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
            stopped = [n for n in state.nodes if not self.is_running(n)]
            if not stopped:
                raise ConsortiumAlreadyRunningError(
                    f"the consortium in {self.root} is already running "
                    f"({len(state.nodes)} nodes); `gridledger consortium status` shows it"
                )
            if len(stopped) == len(state.nodes):
                self._assign_ports(state)
            if geth is not None:
                state.geth_path, state.geth_version = str(geth.path), geth.version
            state.started_at = datetime.now(UTC)
            try:
                self._start(state, stopped, ready_timeout_s)
                start_head = max(RpcClient(n.rpc_url, 2.0).block_number() for n in state.nodes)
                self.wait_for_block(start_head + 1, timeout_s=max(60.0, 10.0 * state.period_s))
            except ConsortiumRpcError as exc:
                raise NodeStartError(
                    f"the consortium started but is not healthy: {exc}; logs in {self.root}. "
                    "If `status` shows different heads (a Clique fork), `down` then `up` "
                    "lets the nodes re-sync"
                ) from exc
            return state

    def start_node(self, ref: int | str, *, timeout_s: float = 60.0) -> NodeState:
        """Start one stopped node on its recorded ports (a fault drill's restart).

        Raises:
            ConsortiumAlreadyRunningError: it is running.
            NodeStartError: it did not start.
        """
        with self._lock():
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
        with self._lock():
            node = self.load_state().node(ref)
            pid = self.pid(node)
            if pid is None:
                return False
            self._stop_pid(node, pid, timeout_s=timeout_s, kill=kill)
            return True

    def down(self, *, timeout_s: float = 30.0) -> list[str]:
        """Stop every running node (SIGTERM, wait ``timeout_s``, then SIGKILL); the
        chain and keys stay on disk. Returns the names of the nodes stopped.

        Raises:
            ConsortiumNotFoundError: no consortium here.
        """
        with self._lock():
            state = self.load_state()
            running = [(n, pid) for n in state.nodes if (pid := self.pid(n)) is not None]
            for _node, pid in running:
                _signal(pid, signal.SIGTERM)
            for node, pid in running:
                self._stop_pid(node, pid, timeout_s=timeout_s, kill=False, signalled=True)
            return [node.name for node, _ in running]

    def purge(self) -> None:
        """Delete the stopped consortium: chain data, validator keys and state.

        Raises:
            ConsortiumAlreadyRunningError: a node still runs.
        """
        with self._lock():
            if self.exists():
                state = self.load_state()
                if any(self.is_running(n) for n in state.nodes):
                    raise ConsortiumAlreadyRunningError(
                        "the consortium is running; run `down` before purging it"
                    )
            for path in self.root.glob("node*"):
                if path.is_dir():
                    shutil.rmtree(path)
            for name in (_STATE_FILE, _GENESIS_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.root / name).unlink()

    # -- inspection ---------------------------------------------------------------------

    def status(self) -> ConsortiumStatus:
        """Ask every node for its peers, head and signer set.

        Raises:
            ConsortiumNotFoundError: no consortium here.
        """
        state = self.load_state()
        nodes: list[NodeStatus] = []
        for node in state.nodes:
            pid = self.pid(node)
            entry = NodeStatus(
                index=node.index,
                name=node.name,
                validator=node.validator,
                rpc_url=node.rpc_url,
                running=pid is not None,
                pid=pid,
            )
            if pid is not None:
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
            nodes.append(entry)
        return ConsortiumStatus(
            root=str(self.root),
            chain_id=state.chain_id,
            period_s=state.period_s,
            geth_version=state.geth_version,
            nodes=nodes,
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
        with self._lock():
            state = self.load_state()
            before = self.signers()
            if authorize and target in before:
                raise GovernanceError(f"{target} is already a signer")
            if not authorize and target not in before:
                raise GovernanceError(f"{target} is not a signer")
            if not authorize and len(before) == 1:
                raise GovernanceError("cannot remove the last signer")
            voters = [n for n in state.nodes if n.validator in before and self.is_running(n)]
            needed = len(before) // 2 + 1
            if len(voters) < needed:
                raise GovernanceError(
                    f"only {len(voters)} of the {len(before)} signers' nodes run; "
                    f"a vote needs {needed}"
                )
            for node in voters:
                RpcClient(node.rpc_url, self.rpc_timeout_s).call(
                    "clique_propose", target, authorize
                )
            result = ProposalResult(
                address=target,
                authorize=authorize,
                voters=[n.name for n in voters],
                signers_before=before,
                signers_after=before,
                applied=False,
            )
            if not wait:
                return result
            running = [n for n in state.nodes if self.is_running(n)]

            def applied() -> list[str] | None:
                seen = [RpcClient(n.rpc_url, 3.0).signers() for n in running]
                if all((target in s) == authorize for s in seen):
                    return seen[0]
                return None

            limit = (
                timeout_s if timeout_s is not None else 30.0 + 6.0 * len(before) * (state.period_s)
            )
            try:
                after = wait_until(
                    applied,
                    timeout_s=limit,
                    interval_s=0.5,
                    what=f"{'adding' if authorize else 'removing'} signer {target}",
                    error=GovernanceError,
                )
            except GovernanceError as exc:
                raise GovernanceError(
                    f"{exc}; the votes stay open and may still pass "
                    f"(`gridledger consortium status` shows the signers)"
                ) from exc
            for node in voters:
                with contextlib.suppress(ConsortiumRpcError):
                    RpcClient(node.rpc_url, self.rpc_timeout_s).call("clique_discard", target)
            return result.model_copy(update={"signers_after": after, "applied": True})
