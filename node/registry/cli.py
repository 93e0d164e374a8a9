"""``gridledger node wallet|apply|status|bond|qualify|change|exit``: keystores and the
registry lifecycle of a market node; ``register(app)`` adds them to the ``node`` app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import (
    NUMBER_ARGS,
    JsonOpt,
    address_argument,
    amount_argument,
    console,
    make_context,
    parse_time,
    positive_fen,
    print_json,
    print_tx,
    prompt_password,
    signer,
    wallet_option,
)
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side, parse_enum
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.errors import KeystoreError, ValidationError
from ledger.identity import IdentityVault, load_bundle
from ledger.keystore import resolve_password
from ledger.units import fen_to_cny
from node.registry.participant import NodeProfile, Participant, node_status

wallet_app = typer.Typer(help="Encrypted keystores (Web3 Secret Storage).", no_args_is_help=True)


def _new_password() -> str:
    password = str(typer.prompt("New keystore password", hide_input=True))
    if password != typer.prompt("Repeat password", hide_input=True):
        raise KeystoreError("the two passwords differ")
    return password


@wallet_app.command("create")
def wallet_create(name: str, as_json: JsonOpt = False) -> None:
    """Create wallet NAME: a new key in an encrypted keystore (mode 0600)."""
    ctx = make_context()
    password = resolve_password(ctx.settings, _new_password)
    info = ctx.keystore.create(name, password)
    if as_json:
        print_json(info)
        return
    console.print(f"created wallet {info.name}: {info.address}")
    console.print(f"keystore: {info.path}")


@wallet_app.command("list")
def wallet_list(as_json: JsonOpt = False) -> None:
    """List the wallets in the keystore directory."""
    ctx = make_context()
    wallets = ctx.keystore.list()
    if as_json:
        print_json(wallets)
        return
    if not wallets:
        console.print(f"no wallets in {ctx.keystore.directory}")
        return
    table = Table("name", "address", "keystore")
    for w in wallets:
        table.add_row(w.name, w.address, w.path)
    console.print(table)


@wallet_app.command("show")
def wallet_show(
    name: str,
    unlock: Annotated[
        bool, typer.Option("--unlock", help="Also check the password opens the keystore.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show wallet NAME's address (and check its password with --unlock)."""
    ctx = make_context()
    info = ctx.keystore.info(name)
    if unlock:
        account = ctx.keystore.load(name, resolve_password(ctx.settings, prompt_password))
        if account.address != info.address:
            raise KeystoreError(f"keystore {name} decrypts to another address")
    if as_json:
        print_json(info)
        return
    console.print(
        f"{info.name}: {info.address} ({info.path})" + (" - password ok" if unlock else "")
    )


# ---------------------------------------------------------------- registry lifecycle

WalletOpt = Annotated[str, wallet_option("The node's wallet (keystore).")]
bond_app = typer.Typer(help="The node's performance bond (in CNY).", no_args_is_help=True)


def _participant(wallet: str) -> Participant:
    ctx = make_context()
    return Participant(ctx, ctx.account(wallet, prompt_password))


def _check_region(node: Participant, region: int) -> None:
    """Refuse a region the regulator has not defined (takes would fail with UnknownRegion)."""
    tariff = node.ctx.client(TransmissionTariffClient, node.account)
    if not tariff.defined_mask() >> region & 1:
        defined = ", ".join(str(i) for i in tariff.region_ids()) or "none"
        raise ValidationError(
            f"region {region} is not defined (defined: {defined}); the regulator defines "
            "it with `gridledger tariff define-region`"
        )


def node_apply(
    wallet: WalletOpt,
    kind: Annotated[
        str,
        typer.Option(
            help="coal, gas, wind, solar, hydro, biomass, storage, "
            "retailer, consumer or grid-company."
        ),
    ],
    side: Annotated[str, typer.Option(help="seller or buyer (one able to do both: seller).")],
    region: Annotated[int, typer.Option(min=0, max=31, help="Region id 0..31.")],
    bundle: Annotated[Path, typer.Option(help="Identity bundle JSON (stored encrypted).")],
    capacity_kw: Annotated[int, typer.Option("--capacity-kw", min=0)] = 0,
    carbon: Annotated[
        int, typer.Option("--carbon", min=0, help="Carbon intensity g/kWh (generators).")
    ] = 0,
    display_name: Annotated[
        str | None,
        typer.Option(
            "--display-name",
            help="Public name shown by the explorer (1-64 bytes, no personal data).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Apply for admission: store the identity bundle encrypted, register its hash (a
    refused registration leaves no stored bundle)."""
    node = _participant(wallet)
    _check_region(node, region)
    profile = NodeProfile(
        kind=parse_enum(NodeKind, kind),
        side=parse_enum(Side, side),
        region=region,
        capacity_kw=capacity_kw,
        carbon_intensity_g_per_kwh=carbon,
    )
    result = node.apply(
        profile,
        load_bundle(bundle),
        IdentityVault.from_settings(node.ctx.settings),
        display_name=display_name,
    )
    if as_json:
        print_json(result)
        return
    console.print(
        f"applied: {result.node} ({profile.kind.name.lower()}, {profile.side.name.lower()})"
    )
    console.print(f"identity hash {result.identity_hash}, record {result.record_id}")
    console.print(f"tx {result.tx_hash} (gas {result.gas_used}); awaiting the verifier")


def node_status_cmd(
    address: Annotated[str | None, address_argument("Node address (default: --wallet's).")] = None,
    wallet: Annotated[str | None, wallet_option("The node's wallet (instead of ADDRESS).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a node's registry entry, bond, qualifications and whether it can trade."""
    ctx = make_context()
    if address is None:
        if wallet is None:
            raise ValidationError("give a node ADDRESS or --wallet")
        address = signer(ctx, wallet).address
    reader = signer(ctx, None)  # read-only calls: never signs
    view = node_status(
        ctx.client(NodeRegistryClient, reader), ctx.client(SettlementTokenClient, reader), address
    )
    if as_json:
        print_json(view)
        return
    i = view.info
    console.print(
        f"node {i.node}: {i.status.name.lower()}, {i.kind.name.lower()} "
        f"{i.side.name.lower()}, region {i.region}, {i.capacity_kw} kW, "
        f"{i.carbon_intensity_g_per_kwh} g/kWh"
    )
    console.print(
        f"credit {i.credit_rating}{'' if i.rated else ' (unrated default)'}; bond "
        f"{fen_to_cny(i.bond_fen)} CNY of {fen_to_cny(i.required_bond_fen)} required, "
        f"{fen_to_cny(i.reserved_fen)} reserved, {fen_to_cny(view.withdrawable_fen)} "
        f"withdrawable; {i.obligations} open obligations"
    )
    console.print(f"wallet balance {fen_to_cny(view.token_balance_fen)} CNY")
    for q in view.qualifications:
        state = "valid" if q.valid else "not approved"
        extra = f", renewal to {q.pending_expires_at} pending" if q.pending else ""
        console.print(f"  licence {q.licence}: {state}, expires {q.expires_at}{extra}")
    console.print("can trade" if view.can_trade else f"cannot trade: {view.trade_blocker}")


def _move_bond(wallet: str, amount: str, verb: str, deposit: bool) -> None:
    fen = positive_fen(amount)
    node = _participant(wallet)
    receipt = node.deposit_bond(fen) if deposit else node.withdraw_bond(fen)
    bond = node.registry.bond_of(node.address)
    print_tx(f"{verb} {fen_to_cny(fen)} CNY; bond now {fen_to_cny(bond)} CNY", receipt)


@bond_app.command("deposit", context_settings=NUMBER_ARGS)
def bond_deposit(
    amount: Annotated[str, amount_argument("Amount in CNY, e.g. 80000 or 80000.50.")],
    wallet: WalletOpt,
) -> None:
    """Deposit (or top up) the bond from the wallet's CNY tokens."""
    _move_bond(wallet, amount, "deposited", deposit=True)


@bond_app.command("withdraw", context_settings=NUMBER_ARGS)
def bond_withdraw(
    amount: Annotated[str, amount_argument("Amount in CNY above the requirement.")],
    wallet: WalletOpt,
) -> None:
    """Withdraw bond above the requirement (never with open obligations)."""
    _move_bond(wallet, amount, "withdrew", deposit=False)


def node_qualify(
    wallet: WalletOpt,
    licence: Annotated[str, typer.Option(help="Licence type code, e.g. GEN_LICENCE.")],
    number: Annotated[str, typer.Option(help="Certificate number (only its hash goes on chain).")],
    expires: Annotated[str, typer.Option(help="Expiry: YYYY-MM-DD or unix time.")],
) -> None:
    """Submit or renew a qualification certificate (the verifier approves it)."""
    node = _participant(wallet)
    receipt = node.qualify(licence, number, parse_time(expires))
    print_tx(f"submitted {licence} for review", receipt)


def node_change(
    wallet: WalletOpt,
    region: Annotated[int | None, typer.Option(min=0, max=31)] = None,
    capacity_kw: Annotated[int | None, typer.Option("--capacity-kw", min=0)] = None,
    carbon: Annotated[int | None, typer.Option("--carbon", min=0)] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="New identity bundle (name, documents) JSON.")
    ] = None,
) -> None:
    """Request a change of registered data; the verifier reviews it."""
    node = _participant(wallet)
    if region is not None:
        _check_region(node, region)
    new_bundle = load_bundle(bundle) if bundle is not None else None
    vault = IdentityVault.from_settings(node.ctx.settings) if new_bundle is not None else None
    receipt = node.request_change(
        region=region,
        capacity_kw=capacity_kw,
        carbon_intensity_g_per_kwh=carbon,
        bundle=new_bundle,
        vault=vault,
    )
    change = node.registry.change_request_of(node.address)
    print_tx(f"change request #{change.change_id} submitted for review", receipt)


def node_exit(wallet: WalletOpt) -> None:
    """Leave the market (no open obligations); the whole bond is returned."""
    node = _participant(wallet)
    bond = node.registry.bond_of(node.address)
    receipt = node.exit()
    print_tx(f"exited; {fen_to_cny(bond)} CNY bond returned", receipt)


def register(app: typer.Typer) -> None:
    """Add the wallet and registry-lifecycle commands to the ``node`` app."""
    app.add_typer(wallet_app, name="wallet")
    app.add_typer(bond_app, name="bond")
    app.command("apply")(node_apply)
    app.command("status")(node_status_cmd)
    app.command("qualify")(node_qualify)
    app.command("change")(node_change)
    app.command("exit")(node_exit)
