"""``gridledger certs issue|holdings|listings|post|take|cancel|retire|cover-trade|compliance|
pay-fine|assess|lineage|deploy-aux``: green certificates and renewable quotas (mechanism 7).

Certificates are whole MWh; prices in CNY per certificate (down to 1 fen); JSON output
(``--json``) carries on-chain units (Wh, fen). Every command talks to the certificate chain:
the main chain, or ``GRIDLEDGER_CERT_RPC_URL`` with ``<data dir>/certificates-manifest.json``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ledger import cli_support as cli
from ledger.context import LedgerContext
from ledger.errors import ValidationError
from ledger.units import fen_to_cny
from node.certificates.api import (
    Certificates,
    certificate_context,
    deploy_certificate_chain,
    parse_token_id,
)

app = typer.Typer(help="Green certificates and renewable quotas.", no_args_is_help=True)

WalletOpt = Annotated[str, cli.wallet_option("Signing wallet (keystore).")]


def _api(wallet: str | None) -> Certificates:
    """The API on the certificate chain; reads without a wallet use a never-funded key."""
    ctx = certificate_context(cli.make_context())
    account = cli.signer(ctx, wallet)
    return Certificates(ctx, account)


@app.command()
def issue(
    generator: cli.AddressArg,
    period: int,
    wallet: WalletOpt,
    as_json: cli.JsonOpt = False,
) -> None:
    """Issue GENERATOR's certificates of PERIOD from its verified generation (anyone)."""
    result = _api(wallet).issue(generator, period)
    if as_json:
        cli.print_json(result)
        return
    cli.console.print(
        f"issued {result.certificates} {result.type} certificate(s) {result.token_id} to "
        f"{result.generator} (generation {result.generation_wh} Wh, carried "
        f"{result.carried_in_wh} -> {result.carried_out_wh} Wh)"
    )


@app.command()
def holdings(holder: cli.AddressArg, as_json: cli.JsonOpt = False) -> None:
    """HOLDER's certificates (every token id with a balance)."""
    rows = _api(None).holdings(holder)
    if as_json:
        cli.print_json(rows)
        return
    table = Table("token id", "type", "generator", "vintage", "certificates")
    for h in rows:
        table.add_row(h.token_id, h.type, h.generator, str(h.vintage), str(h.balance))
    cli.console.print(table)


@app.command()
def listings(
    offset: int = 0, limit: int = typer.Option(200, max=1000), as_json: cli.JsonOpt = False
) -> None:
    """Open certificate listings."""
    rows = _api(None).listings(offset, limit)
    if as_json:
        cli.print_json(rows)
        return
    table = Table("id", "seller", "type", "vintage", "remaining", "CNY/certificate")
    for x in rows:
        table.add_row(
            str(x.listing_id),
            x.seller,
            x.type,
            str(x.vintage),
            str(x.remaining),
            fen_to_cny(x.price_fen_per_certificate),
        )
    cli.console.print(table)


@app.command()
def post(
    token_id: str,
    amount: int,
    wallet: WalletOpt,
    price: Annotated[str, typer.Option("--price", help="CNY per certificate.")],
    expires_at: Annotated[int, typer.Option(help="Unix time; 0 = no expiry.")] = 0,
) -> None:
    """List AMOUNT of your own certificates TOKEN_ID (generators only)."""
    listing_id = _api(wallet).post(
        parse_token_id(token_id), amount, cli.price_fen(price), expires_at
    )
    cli.console.print(f"posted certificate listing {listing_id}")


@app.command()
def take(
    listing_id: int,
    amount: int,
    wallet: WalletOpt,
    max_price: Annotated[str | None, typer.Option(help="Most CNY per certificate.")] = None,
) -> None:
    """Buy AMOUNT certificates of LISTING_ID (obligated parties only)."""
    limit = cli.price_fen(max_price) if max_price else 0
    receipt = _api(wallet).take(listing_id, amount, limit)
    cli.console.print(
        f"took {amount} certificate(s) of listing {listing_id} (gas {receipt['gasUsed']})"
    )


@app.command()
def cancel(listing_id: int, wallet: WalletOpt) -> None:
    """Cancel your listing; the untaken certificates come back."""
    _api(wallet).cancel(listing_id)
    cli.console.print(f"cancelled certificate listing {listing_id}")


@app.command()
def retire(
    token_id: str,
    amount: int,
    wallet: WalletOpt,
    period: Annotated[int, typer.Option(help="Compliance period the retirement covers.")],
    beneficiary: Annotated[str | None, typer.Option(help="Default: the wallet.")] = None,
) -> None:
    """Retire (claim) AMOUNT certificates TOKEN_ID for good, for a beneficiary's quota."""
    api = _api(wallet)
    rid = api.retire(parse_token_id(token_id), amount, beneficiary or api.address, period)
    cli.console.print(f"retirement {rid}: {amount} certificate(s) for {beneficiary or api.address}")


@app.command("cover-trade")
def cover_trade(trade_id: int, wallet: WalletOpt) -> None:
    """Count settled clean-energy trade TRADE_ID for its buyer (anyone, once)."""
    _api(wallet).cover_trade(trade_id)
    cli.console.print(f"trade {trade_id} covered")


@app.command()
def compliance(party: cli.AddressArg, period: int, as_json: cli.JsonOpt = False) -> None:
    """PARTY's live quota view (obligation, covered, shortfall; the statement once assessed)."""
    view = _api(None).compliance(party, period)
    if as_json:
        cli.print_json(view)
        return
    cli.console.print(
        f"{view.party} period {view.period}: obligation {view.obligation_wh} Wh, covered "
        f"{view.covered_wh} Wh, shortfall {view.shortfall_wh} Wh, fine now "
        f"{fen_to_cny(view.fine_fen_if_assessed_now)} CNY"
        + (" (assessed)" if view.assessed else "")
    )


@app.command("pay-fine", context_settings=cli.NUMBER_ARGS)
def pay_fine(party: cli.AddressArg, amount: cli.AmountArg, wallet: WalletOpt) -> None:
    """Pay (up to AMOUNT CNY of) PARTY's unpaid quota fines to the fund account (anyone);
    paid in full, the party's registry obligation is released."""
    amount_fen = cli.positive_fen(amount)
    api = _api(wallet)
    paid_fen, owed_fen = api.pay_fine(party, amount_fen)
    cli.console.print(
        f"paid {fen_to_cny(paid_fen)} CNY of {party}'s fines "
        f"({fen_to_cny(owed_fen - paid_fen)} CNY left)"
    )


@app.command()
def assess(
    party: cli.AddressArg, period: int, wallet: WalletOpt, as_json: cli.JsonOpt = False
) -> None:
    """Assess PARTY for PERIOD after the deadline (anyone); prints the statement."""
    api = _api(wallet)
    api.assess(party, period)
    view = api.compliance(party, period)
    if as_json:
        cli.print_json(view)
        return
    cli.console.print(f"assessed {view.party} period {period}: {view.statement}")


@app.command()
def lineage(
    token_id: str,
    from_block: Annotated[int | None, typer.Option(help="First block to scan.")] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """TOKEN_ID's history: issuance, transfers, retirements, revocations."""
    result = _api(None).lineage(parse_token_id(token_id), from_block)
    if as_json:
        cli.print_json(result)
        return
    table = Table("block", "event", "amount", "from", "to / beneficiary", "period", "trade")
    for e in result.events:
        table.add_row(
            str(e.block_number),
            e.kind,
            str(e.amount),
            e.sender or "",
            e.beneficiary or e.to or "",
            "" if e.period is None else str(e.period),
            "" if e.trade_id is None else str(e.trade_id),
        )
    cli.console.print(table)
    cli.console.print(
        f"issued {result.issued}, retired {result.retired}, revoked {result.revoked}, "
        f"held {sum(result.holders.values())}"
    )


@app.command("deploy-aux")
def deploy_aux(wallet: WalletOpt = "admin") -> None:
    """Deploy the certificate chain's own suite on GRIDLEDGER_CERT_RPC_URL."""
    ctx = cli.make_context()
    url = ctx.settings.cert_rpc_url
    if not url:
        raise ValidationError("set GRIDLEDGER_CERT_RPC_URL to the certificate chain's RPC URL")
    aux = LedgerContext(ctx.settings.model_copy(update={"rpc_url_override": url}))
    manifest = deploy_certificate_chain(aux, aux.account(wallet, cli.prompt_password))
    cli.console.print(
        f"certificate chain {manifest.chain_id}: manifest {ctx.settings.cert_manifest_path}"
    )
