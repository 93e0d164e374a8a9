"""Creating a consortium on disk: validator keys, the Clique genesis, ``geth init`` of every
node, and (at each whole-network start) fresh loopback ports and static-peer configs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from ledger.engines.clique.errors import ConsortiumConfigError, NodeStartError
from ledger.engines.clique.files import write_atomic
from ledger.engines.clique.genesis import build_genesis, normalize_address
from ledger.engines.clique.geth import GethBinary, ensure_geth, usable_geth
from ledger.engines.clique.keys import create_node_keys
from ledger.engines.clique.layout import STATE_FILE, NetworkLayout
from ledger.engines.clique.p2p import LOOPBACK, free_ports, node_config_toml
from ledger.engines.clique.state import ConsortiumState, NodeState


def create_network(
    layout: NetworkLayout,
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
    """Keys, genesis and ``geth init`` for a new network (ports are set at start).

    Raises:
        ConsortiumConfigError: the directory holds node directories but no state.
        NodeStartError: ``geth init`` failed.
    """
    layout.root.mkdir(parents=True, exist_ok=True)
    stale = [p for p in layout.root.glob("node*") if p.is_dir()]
    if stale:
        raise ConsortiumConfigError(
            f"{layout.root} holds node directories but no {STATE_FILE}; "
            f"remove {layout.root} to start afresh"
        )
    nodes = [
        create_node_keys(layout.node_dir(index), index, scrypt_n=scrypt_n)
        for index in range(validators)
    ]
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
    write_atomic(layout.genesis_path, json.dumps(genesis, indent=2) + "\n")
    for node in nodes:
        _geth_init(layout, geth.path, node)
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
    layout.save_state(state)
    return state


def _geth_init(layout: NetworkLayout, geth: Path, node: NodeState) -> None:
    cmd = [str(geth), "init", "--datadir", str(layout.node_dir(node)), str(layout.genesis_path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NodeStartError(f"`{' '.join(cmd)}` could not run: {exc}") from exc
    if out.returncode != 0:
        tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-6:])
        raise NodeStartError(f"`geth init` of {node.name} failed: {tail}")


def assign_ports(layout: NetworkLayout, state: ConsortiumState) -> None:
    """Pick free loopback ports for every node and rewrite their static-peer configs."""
    ports = free_ports(3 * len(state.nodes))
    for node, i in zip(state.nodes, range(0, len(ports), 3), strict=True):
        node.http_port, node.p2p_port, node.authrpc_port = ports[i : i + 3]
    for node in state.nodes:
        peers = [
            f"enode://{other.enode}@{LOOPBACK}:{other.p2p_port}?discport=0"
            for other in state.nodes
            if other.index != node.index
        ]
        write_atomic(layout.node_dir(node) / "config.toml", node_config_toml(node.p2p_port, peers))


def resolve_geth(state: ConsortiumState) -> None:
    """Point the state at a usable geth if the recorded one has gone."""
    if usable_geth(Path(state.geth_path)) is None:
        geth = ensure_geth()
        state.geth_path, state.geth_version = str(geth.path), geth.version
