"""``gridledger consortium``: run the ledger on a multi-validator Clique network.

The main CLI mounts :data:`app` as the ``consortium`` command group. Every command works
on ``<data_dir>/consortium`` (``GRIDLEDGER_DATA_DIR``) and raises
:class:`~ledger.errors.GridLedgerError` subclasses, which the main CLI prints as one line.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ledger.engines.clique import (
    BESU_QBFT_CHAIN_ID,
    CONSORTIUM_CHAIN_ID,
    GETH_VERSION,
    MAX_VALIDATORS,
    Consortium,
    ConsortiumAlreadyRunningError,
    ConsortiumState,
    GethBinary,
    GethNotAvailableError,
    build_geth,
    build_qbft_genesis,
    find_geth,
    geth_cache_dir,
    keystore_addresses,
)
from ledger.keystore import DEMO_NODE_BASE, DEMO_ROLE_WALLETS, demo_account
from ledger.settings import get_settings

app = typer.Typer(
    name="consortium",
    help="Run the ledger on a multi-validator proof-of-authority (Clique) geth network.",
    no_args_is_help=True,
)

console = Console()

#: Demo market nodes ``node-0`` .. ``node-<n-1>`` prefunded with ``--prefund-demo``.
DEMO_NODES_PREFUNDED = 16


class ProposalAction(StrEnum):
    """What a Clique vote does to the signer set."""

    add = "add"
    remove = "remove"


def _consortium() -> Consortium:
    settings = get_settings()
    return Consortium(settings.data_dir / "consortium", rpc_timeout_s=settings.rpc_timeout_s)


def _env_lines(state: ConsortiumState, node_index: int = 0) -> list[str]:
    node = state.node(node_index)
    return [
        f"GRIDLEDGER_RPC_URL={node.rpc_url}",
        f"GRIDLEDGER_CHAIN_ID={state.chain_id}",
        "GRIDLEDGER_POA=true",
        # Tip-0 transactions are only sealed by the node they were sent to.
        "GRIDLEDGER_PRIORITY_FEE_WEI=1",
    ]


def _nodes_table(consortium: Consortium, state: ConsortiumState) -> Table:
    table = Table(title=f"consortium chain {state.chain_id} (Clique, {state.period_s} s)")
    for column in ("node", "validator", "pid", "RPC", "p2p port"):
        table.add_column(column, overflow="fold")
    for node in state.nodes:
        pid = consortium.pid(node)
        table.add_row(
            node.name,
            node.validator,
            str(pid) if pid else "-",
            node.rpc_url,
            str(node.p2p_port),
        )
    return table


def _demo_addresses() -> list[str]:
    """The THROWAWAY demo wallets: every role wallet and the first demo market nodes."""
    indices = [*DEMO_ROLE_WALLETS.values()]
    indices += [DEMO_NODE_BASE + n for n in range(DEMO_NODES_PREFUNDED)]
    return [demo_account(i).address for i in indices]


def _resolve_geth(build: bool) -> GethBinary:
    found = find_geth()
    if found is not None:
        return found
    if not build:
        raise GethNotAvailableError(
            f"geth v{GETH_VERSION} not found (GRIDLEDGER_GETH, PATH, "
            f"{geth_cache_dir() / 'geth'}); rerun without --no-build to build it"
        )
    console.print(
        f"building geth v{GETH_VERSION} with `go install` into {geth_cache_dir()} "
        "(once; a few minutes)"
    )
    with console.status("building geth"):
        return build_geth()


@app.command()
def up(
    validators: Annotated[
        int | None,
        typer.Option(
            "--validators",
            "-n",
            min=1,
            max=MAX_VALIDATORS,
            help="Validators (one geth node each) of a new network [default: 4].",
        ),
    ] = None,
    period: Annotated[
        int | None,
        typer.Option("--period", min=1, max=60, help="Seconds between blocks [default: 2]."),
    ] = None,
    prefund: Annotated[
        list[str] | None,
        typer.Option("--prefund", help="Address funded in the genesis (repeatable)."),
    ] = None,
    prefund_keystores: Annotated[
        bool,
        typer.Option(
            "--prefund-keystores/--no-prefund-keystores",
            help="Also fund every wallet in the keystore directory.",
        ),
    ] = True,
    prefund_demo: Annotated[
        bool | None,
        typer.Option(
            "--prefund-demo/--no-prefund-demo",
            help="Also fund the THROWAWAY demo wallets [default: GRIDLEDGER_DEMO_KEYS].",
        ),
    ] = None,
    build: Annotated[
        bool,
        typer.Option("--build/--no-build", help="Build geth with Go when it is missing."),
    ] = True,
) -> None:
    """Start the consortium (creating it on first use): one sealing geth node per
    validator, peered on loopback. Resumes a stopped network as it was created."""
    settings = get_settings()
    consortium = _consortium()
    geth: GethBinary | None = None
    accounts = list(prefund or [])
    if consortium.exists():
        if accounts:
            console.print("[yellow]the genesis already exists: --prefund is ignored[/]")
        accounts = []
    else:
        geth = _resolve_geth(build)
        if prefund_keystores:
            accounts += keystore_addresses(settings.keystore_dir)
        if settings.demo_keys if prefund_demo is None else prefund_demo:
            accounts += _demo_addresses()
    with console.status("starting the consortium"):
        state = consortium.up(
            validators=validators,
            period_s=period,
            prefund=accounts,
            chain_id=CONSORTIUM_CHAIN_ID,
            scrypt_n=settings.keystore_scrypt_n,
            geth=geth,
        )
    console.print(_nodes_table(consortium, state))
    console.print(f"logs: {consortium.root}/node*/geth.log", highlight=False)
    if accounts:
        console.print(f"prefunded in the genesis: {len(accounts)} accounts")
    console.print("point GridLedger at it with:")
    for line in _env_lines(state):
        console.print(f"  {line}", highlight=False)


@app.command()
def down(
    purge: Annotated[
        bool,
        typer.Option("--purge", help="Also delete the chain, the validator keys and state."),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --purge.")] = False,
) -> None:
    """Stop every node (SIGTERM, then SIGKILL after 30 s); the chain stays on disk."""
    consortium = _consortium()
    stopped = consortium.down()
    console.print(f"stopped {', '.join(stopped)}" if stopped else "no node was running")
    if purge:
        if not yes:
            typer.confirm(f"delete the consortium in {consortium.root}, keys included?", abort=True)
        consortium.purge()
        console.print(f"purged {consortium.root}")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show each node's peers and head, and the Clique signer set."""
    report = _consortium().status()
    if as_json:
        payload = report.model_dump(mode="json")
        payload["signers"] = report.signers
        typer.echo(json.dumps(payload, indent=2))
        return
    table = Table(title=f"consortium chain {report.chain_id} (geth {report.geth_version})")
    columns = ("node", "validator", "signer", "running", "sealing", "peers", "head", "head hash")
    for column in columns:
        table.add_column(column, overflow="fold")
    signers = report.signers
    for node in report.nodes:
        table.add_row(
            node.name,
            node.validator,
            "?" if signers is None else "yes" if node.validator in signers else "no",
            f"pid {node.pid}" if node.running else "[red]stopped[/]",
            "-" if node.sealing is None else "yes" if node.sealing else "no",
            "-" if node.peers is None else str(node.peers),
            "-" if node.head_number is None else str(node.head_number),
            node.head_hash or (f"[red]{node.error}[/]" if node.error else "-"),
        )
    console.print(table)
    if report.signers is None:
        console.print("signers: unknown (no node answers)")
    else:
        console.print(f"signers ({len(report.signers)}):")
        for signer in report.signers:
            console.print(f"  {signer}", highlight=False)
    hashes = {n.head_hash for n in report.nodes if n.head_hash}
    if len(hashes) > 1:
        console.print("[yellow]the nodes' heads differ (syncing, or a fork)[/]")


@app.command()
def propose(
    action: Annotated[ProposalAction, typer.Argument(help="add or remove a signer.")],
    address: Annotated[str, typer.Argument(help="The validator's address.")],
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until the change takes effect.")
    ] = True,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=1, help="Seconds to wait.")
    ] = None,
) -> None:
    """Vote (clique_propose) on every running signer's node to add or remove a signer."""
    consortium = _consortium()
    with console.status("voting"):
        result = consortium.propose(
            address, action is ProposalAction.add, wait=wait, timeout_s=timeout
        )
    verb = "add" if result.authorize else "remove"
    console.print(f"voted to {verb} {result.address} on {', '.join(result.voters)}")
    if not result.applied:
        console.print("votes cast; they take effect as the signers seal blocks")
        return
    console.print(f"signers ({len(result.signers_after)}):")
    for signer in result.signers_after:
        console.print(f"  {signer}", highlight=False)
    state = consortium.load_state()
    if result.authorize and result.address not in {n.validator for n in state.nodes}:
        console.print(
            "[yellow]no node of this consortium seals for that address: run one, or the "
            "network's liveness depends on fewer signers[/]"
        )


@app.command("stop-node")
def stop_node(
    node: Annotated[str, typer.Argument(help="Node index, name (node2) or validator.")],
    kill: Annotated[bool, typer.Option("--kill", help="SIGKILL it (simulate a crash).")] = False,
) -> None:
    """Stop one node (fault drill)."""
    ref: int | str = int(node) if node.isdigit() else node
    stopped = _consortium().stop_node(ref, kill=kill)
    console.print(f"stopped {node}" if stopped else f"{node} was not running")


@app.command("start-node")
def start_node(
    node: Annotated[str, typer.Argument(help="Node index, name (node2) or validator.")],
) -> None:
    """Restart one stopped node on its recorded ports."""
    ref: int | str = int(node) if node.isdigit() else node
    consortium = _consortium()
    try:
        started = consortium.start_node(ref)
    except ConsortiumAlreadyRunningError:
        console.print(f"{node} is already running")
        return
    console.print(f"started {started.name} ({started.rpc_url})")


@app.command()
def env(
    node: Annotated[int, typer.Option("--node", min=0, help="Node whose RPC URL to use.")] = 0,
) -> None:
    """Print the GRIDLEDGER_* settings that point the ledger at the consortium
    (``eval "$(gridledger consortium env)"``)."""
    state = _consortium().load_state()
    for line in _env_lines(state, node):
        typer.echo(f"export {line}")


@app.command("besu-genesis")
def besu_genesis(
    validator: Annotated[
        list[str],
        typer.Option("--validator", help="A member's QBFT validator address (repeatable)."),
    ],
    prefund: Annotated[
        list[str] | None,
        typer.Option("--prefund", help="Address funded in the genesis (repeatable)."),
    ] = None,
    period: Annotated[int, typer.Option("--period", min=1, help="Block period (s).")] = 2,
    chain_id: Annotated[int, typer.Option("--chain-id", help="Chain id.")] = BESU_QBFT_CHAIN_ID,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of to stdout.")
    ] = None,
) -> None:
    """Print a Hyperledger Besu QBFT genesis for the members' validators
    (docs/besu-qbft explains the rest of a Besu consortium)."""
    genesis = build_qbft_genesis(
        validators=validator, chain_id=chain_id, period_s=period, prefund=prefund or []
    )
    text = json.dumps(genesis, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        console.print(f"wrote {out}")
