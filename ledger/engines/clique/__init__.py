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
    state.json            ports, enodes and validators (:class:`~.state.ConsortiumState`)
    node0/ ... nodeN-1/   one geth datadir per validator:
        keystore/         the validator key and a standby key, encrypted
        password.txt      its password (mode 0600)
        nodekey           the p2p identity (mode 0600)
        config.toml       static peers and the loopback p2p listen address
        geth.log          the node's log
        geth.pid          the detached process' pid

The geth binary comes from ``GRIDLEDGER_GETH`` (a path), a ``geth`` 1.13.x on ``PATH``,
or the build cache (``GRIDLEDGER_GETH_CACHE``, default
``~/.cache/gridledger/geth-v1.13.15``), where :func:`~.geth.build_geth` installs it with
``go install`` through the Go module proxy. This package is Linux-only (it reads
``/proc`` to tell its geth processes from recycled pids).

Its modules, leaves first: :mod:`.errors`, :mod:`.files`, :mod:`.geth` (the binary),
:mod:`.rlp` and :mod:`.genesis`, :mod:`.p2p`, :mod:`.state` (the records),
:mod:`.keys`, :mod:`.layout` (the directory), :mod:`.rpc` and :mod:`.waits`,
:mod:`.process` (geth supervision), :mod:`.provision` (creation), :mod:`.sealing`,
:mod:`.governance` (Clique votes), :mod:`.network` (:class:`~.network.Consortium`)
and :mod:`.cli` (``gridledger consortium``). The names below are its public API.
"""

from __future__ import annotations

from ledger.engines.clique.errors import (
    ConsortiumAlreadyRunningError,
    ConsortiumConfigError,
    ConsortiumNotFoundError,
    ConsortiumRpcError,
    GethNotAvailableError,
    GovernanceError,
    NodeStartError,
)
from ledger.engines.clique.genesis import (
    BESU_QBFT_CHAIN_ID,
    BFT_MIX_HASH,
    CLIQUE_EPOCH,
    CONSORTIUM_CHAIN_ID,
    DEFAULT_BASE_FEE_WEI,
    DEFAULT_GAS_LIMIT,
    DEFAULT_PERIOD_S,
    DEFAULT_PREFUND_WEI,
    DEFAULT_VALIDATORS,
    MAX_VALIDATORS,
    build_genesis,
    build_qbft_genesis,
    clique_extra_data,
    clique_signers_from_extra,
    normalize_address,
    qbft_extra_data,
)
from ledger.engines.clique.geth import (
    GETH_PACKAGE,
    GETH_SUPPORTED_PREFIX,
    GETH_VERSION,
    GethBinary,
    build_geth,
    ensure_geth,
    find_geth,
    find_go,
    geth_build_command,
    geth_cache_dir,
    geth_version,
    go_version,
)
from ledger.engines.clique.keys import (
    DEFAULT_SCRYPT_N,
    keystore_addresses,
)
from ledger.engines.clique.network import (
    Consortium,
)
from ledger.engines.clique.p2p import (
    enode_id,
    enode_url,
    free_ports,
    node_config_toml,
)
from ledger.engines.clique.process import (
    RPC_APIS,
)
from ledger.engines.clique.rlp import (
    RlpItem,
    rlp_encode,
)
from ledger.engines.clique.rpc import (
    RpcClient,
    wait_until,
)
from ledger.engines.clique.state import (
    ConsortiumState,
    ConsortiumStatus,
    NodeState,
    ProposalResult,
    ValidatorStatus,
)

__all__ = [
    "BESU_QBFT_CHAIN_ID",
    "BFT_MIX_HASH",
    "CLIQUE_EPOCH",
    "CONSORTIUM_CHAIN_ID",
    "DEFAULT_BASE_FEE_WEI",
    "DEFAULT_GAS_LIMIT",
    "DEFAULT_PERIOD_S",
    "DEFAULT_PREFUND_WEI",
    "DEFAULT_SCRYPT_N",
    "DEFAULT_VALIDATORS",
    "GETH_PACKAGE",
    "GETH_SUPPORTED_PREFIX",
    "GETH_VERSION",
    "MAX_VALIDATORS",
    "RPC_APIS",
    "Consortium",
    "ConsortiumAlreadyRunningError",
    "ConsortiumConfigError",
    "ConsortiumNotFoundError",
    "ConsortiumRpcError",
    "ConsortiumState",
    "ConsortiumStatus",
    "GethBinary",
    "GethNotAvailableError",
    "GovernanceError",
    "NodeStartError",
    "NodeState",
    "ProposalResult",
    "RlpItem",
    "RpcClient",
    "ValidatorStatus",
    "build_genesis",
    "build_geth",
    "build_qbft_genesis",
    "clique_extra_data",
    "clique_signers_from_extra",
    "enode_id",
    "enode_url",
    "ensure_geth",
    "find_geth",
    "find_go",
    "free_ports",
    "geth_build_command",
    "geth_cache_dir",
    "geth_version",
    "go_version",
    "keystore_addresses",
    "node_config_toml",
    "normalize_address",
    "qbft_extra_data",
    "rlp_encode",
    "wait_until",
]
