"""``gridledger node post|amend|cancel|listings|quote|take|trades|periods|open-period``.

Posted-offer trading from the command line; ``register(app)`` adds the commands to the
``node`` Typer app. Energy is given in MWh (down to 1 Wh), prices in CNY/MWh (down to
1 fen/MWh); JSON output (``--json``) carries the on-chain units (Wh, fen/MWh, fen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli_support import (
    JsonOpt,
    ReadWalletOpt,
    address_argument,
    console,
    make_context,
    optional_time,
    price_fen,
    print_json,
    short_time,
    signer,
    tx_hash,
    wallet_option,
)
from ledger.clients.trading import Listing, ListingSide, Trade
from ledger.display import (
    listing_status_name,
    period_phase,
    trade_status_name,
)
from ledger.errors import ValidationError
from ledger.units import fen_to_cny, mwh_to_wh, rate_to_cny_per_mwh_text, wh_to_mwh_trimmed
from node.reputation.api import ReputationDesk
from node.trading.optimizer import load_plan
from node.trading.trader import PlanReport, Trader, terms_hash_of

WalletOpt = Annotated[str, wallet_option("The node's wallet (keystore).")]
EnergyOpt = Annotated[str, typer.Option("--energy-mwh", help="Energy in MWh, e.g. 1.5.")]
PriceOpt = Annotated[str, typer.Option("--price", help="Price in CNY/MWh, e.g. 350 or 350.25.")]


def _trader(wallet: str | None) -> Trader:
    """A trader signing as ``wallet``; reads without a wallet use a never-funded key."""
    ctx = make_context()
    return Trader(ctx, signer(ctx, wallet))


def _side(text: str) -> ListingSide:
    key = text.strip().lower()
    if key in ("sell", "1", "mode1"):
        return ListingSide.SELL
    if key in ("buy", "2", "mode2"):
        return ListingSide.BUY
    raise ValidationError(f"side must be sell (mode 1) or buy (mode 2): {text!r}")


def _maker_standing(trader: Trader, listings: list[Listing]) -> dict[str, tuple[int, str]]:
    """Each maker's (reputation 0..1000, credit level), read once per maker."""
    if "ReputationLedger" not in trader.ctx.manifest.contracts:
        return {}
    desk = ReputationDesk(trader.ctx, trader.account)
    out: dict[str, tuple[int, str]] = {}
    for maker in {x.maker for x in listings}:
        view = desk.view(maker)
        out[maker] = (view.reputation, view.registry_level)
    return out


def _listing_table(
    listings: list[Listing], standing: dict[str, tuple[int, str]], chain_now: int
) -> Table:
    table = Table(
        "id", "side", "maker", "reputation", "credit", "period", "intervals", "region",
        "left MWh", "of MWh", "min MWh", "CNY/MWh", "expires", "status",
    )  # fmt: skip
    for x in listings:
        reputation, level = standing.get(x.maker, (None, "-"))
        table.add_row(
            str(x.id),
            x.side.name.lower(),
            x.maker[:10] + "…",
            "-" if reputation is None else str(reputation),
            level,
            str(x.period_id),
            f"{x.first_interval}-{x.last_interval}",
            str(x.region),
            wh_to_mwh_trimmed(x.remaining_wh),
            wh_to_mwh_trimmed(x.energy_wh),
            wh_to_mwh_trimmed(x.min_take_wh),
            fen_to_cny(x.price_fen_per_mwh),
            short_time(x.expires_at),
            listing_status_name(x, chain_now),
        )
    return table


def _trade_table(trades: list[Trade]) -> Table:
    table = Table(
        "id", "listing", "buyer", "seller", "period", "MWh", "CNY/MWh", "route", "fee CNY",
        "escrow CNY", "status",
    )  # fmt: skip
    for t in trades:
        table.add_row(
            str(t.id),
            str(t.listing_id),
            t.buyer[:10] + "…",
            t.seller[:10] + "…",
            str(t.period_id),
            wh_to_mwh_trimmed(t.energy_wh),
            fen_to_cny(t.price_fen_per_mwh),
            ">".join(str(r) for r in t.route),
            fen_to_cny(t.fee_fen),
            fen_to_cny(t.escrow_fen),
            trade_status_name(t.status),
        )
    return table


def print_report(report: PlanReport) -> None:
    for o in report.outcomes:
        if o.outcome == "taken":
            extra = f" ({o.reason})" if o.reason else ""
            console.print(
                f"listing {o.listing_id}: took {wh_to_mwh_trimmed(o.taken_wh)} MWh as trade "
                f"{o.trade_id}, escrow {fen_to_cny(o.escrow_fen or 0)} CNY{extra}"
            )
        else:
            console.print(f"listing {o.listing_id}: {o.outcome}: {o.reason}")
    console.print(
        f"took {wh_to_mwh_trimmed(report.taken_wh)} MWh in "
        f"{len(report.outcomes) - len(report.skipped)} "
        f"trade(s), escrow {fen_to_cny(report.escrow_fen)} CNY; "
        f"{len(report.skipped)} skipped or failed"
    )


def post(
    wallet: WalletOpt,
    side: Annotated[str, typer.Option(help="sell (mode 1) or buy (mode 2).")],
    period: Annotated[int, typer.Option(min=1, help="Delivery period id.")],
    energy: EnergyOpt,
    price: PriceOpt,
    first_interval: Annotated[int, typer.Option("--from", min=0, help="First interval.")],
    last_interval: Annotated[int, typer.Option("--to", min=0, help="Last interval.")],
    min_take: Annotated[str, typer.Option("--min-take-mwh", help="Smallest take, MWh.")] = "0",
    expires: Annotated[
        str | None, typer.Option(help="Expiry (ISO or unix; default: taking closes).")
    ] = None,
    terms: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Terms document.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Post a listing: ENERGY in total over intervals FROM..TO, delivered evenly."""
    trader = _trader(wallet)
    result = trader.post(
        _side(side),
        period,
        first_interval,
        last_interval,
        mwh_to_wh(energy),
        price_fen(price),
        min_take_wh=mwh_to_wh(min_take),
        expires_at=optional_time(expires),
        terms_hash=terms_hash_of(terms.read_bytes()) if terms else b"\x00" * 32,
    )
    if as_json:
        print_json(result)
        return
    console.print(
        f"posted listing {result.listing_id} in tx {result.tx_hash} (gas {result.gas_used})"
    )
    if result.allowance_fen is not None:
        console.print(f"allowance to the market now {fen_to_cny(result.allowance_fen)} CNY")


def amend(
    listing_id: Annotated[int, typer.Argument(min=1)],
    wallet: WalletOpt,
    price: PriceOpt,
    energy: Annotated[str, typer.Option("--energy-mwh", help="New untaken energy, MWh.")],
) -> None:
    """Set a listing's price and untaken quantity (its maker)."""
    receipt = _trader(wallet).amend(listing_id, price_fen(price), mwh_to_wh(energy))
    console.print(f"amended listing {listing_id} in tx {tx_hash(receipt)}")


def cancel(listing_id: Annotated[int, typer.Argument(min=1)], wallet: WalletOpt) -> None:
    """Delist what is still untaken (the maker)."""
    receipt = _trader(wallet).cancel(listing_id)
    console.print(f"cancelled listing {listing_id} in tx {tx_hash(receipt)}")


def listings(
    wallet: ReadWalletOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="The wallet's own listings.")] = False,
    period: Annotated[int | None, typer.Option(min=1)] = None,
    side: Annotated[str | None, typer.Option(help="sell or buy.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open listings in sequence order (or --mine: every listing of the wallet)."""
    if mine and wallet is None:
        raise ValidationError("--mine needs --wallet")
    trader = _trader(wallet)
    if mine:
        found = [
            x
            for x in trader.my_listings()
            if (period is None or x.period_id == period) and (side is None or x.side == _side(side))
        ]
    else:
        found = trader.open_listings(period_id=period, side=_side(side) if side else None)
    standing = _maker_standing(trader, found)
    chain_now = trader.now()
    if as_json:
        print_json([_listing_json(x, standing, chain_now) for x in found])
        return
    if not found:
        console.print("no listings")
        return
    console.print(_listing_table(found, standing, chain_now))


def _listing_json(
    x: Listing, standing: dict[str, tuple[int, str]], chain_now: int
) -> dict[str, object]:
    """A listing in the chain's units, its status at chain time and its hashes as 0x hex."""
    return {
        **x.model_dump(mode="json"),
        "side": x.side.name.lower(),
        "status": listing_status_name(x, chain_now),
        "maker_reputation": standing.get(x.maker, (None, None))[0],
        "maker_credit_level": standing.get(x.maker, (None, None))[1],
    }


def quote(
    listing_id: Annotated[int, typer.Argument(min=1)],
    wallet: WalletOpt,
    energy: EnergyOpt,
    as_json: JsonOpt = False,
) -> None:
    """What taking ENERGY of a listing costs now: route, fee, prepayment, exposure."""
    q = _trader(wallet).quote(listing_id, mwh_to_wh(energy))
    if as_json:
        print_json(q)
        return
    console.print(
        f"{wh_to_mwh_trimmed(q.energy_wh)} MWh at {fen_to_cny(q.price_fen_per_mwh)} CNY/MWh = "
        f"{fen_to_cny(q.energy_fen)} CNY; route {'>'.join(map(str, q.route))} "
        f"({rate_to_cny_per_mwh_text(q.sum_rate_fen_per_mwh)} CNY/MWh) "
        f"fee {fen_to_cny(q.fee_fen)} CNY; "
        f"prepayment {fen_to_cny(q.escrow_fen)} CNY; seller exposure "
        f"{fen_to_cny(q.exposure_fen)} CNY"
    )


def take(
    wallet: WalletOpt,
    listing_id: Annotated[int | None, typer.Argument(min=1)] = None,
    energy: Annotated[str | None, typer.Option("--energy-mwh", help="MWh to take.")] = None,
    limit: Annotated[
        str | None,
        typer.Option(help="CNY/MWh: most to pay (mode 1), least to accept (mode 2)."),
    ] = None,
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", exists=True, dir_okay=False, help="Execute a plan file."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a listing (LISTING_ID --energy-mwh), or every take of a --plan file."""
    trader = _trader(wallet)
    if plan_file is not None:
        if listing_id is not None:
            raise ValidationError("give a LISTING_ID or --plan, not both")
        report = trader.execute_plan(load_plan(plan_file))
        if as_json:
            print_json(report)
        else:
            print_report(report)
        return
    if listing_id is None or energy is None:
        raise ValidationError("give LISTING_ID and --energy-mwh (or --plan FILE)")
    result = trader.take(listing_id, mwh_to_wh(energy), price_fen(limit) if limit else None)
    if as_json:
        print_json(result)
        return
    console.print(
        f"trade {result.trade_id}: {wh_to_mwh_trimmed(result.energy_wh)} MWh of listing "
        f"{listing_id}, route {'>'.join(map(str, result.route))}, fee "
        f"{fen_to_cny(result.fee_fen)} CNY, prepaid {fen_to_cny(result.escrow_fen)} CNY "
        f"(tx {result.tx_hash}, gas {result.gas_used})"
    )


def trades(
    address: Annotated[str | None, address_argument("Node (default: --wallet's).")] = None,
    wallet: ReadWalletOpt = None,
    period: Annotated[int | None, typer.Option(min=1, help="A period's trades.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A node's trades (as buyer or seller), or --period: every trade of a period."""
    trader = _trader(wallet)
    if period is not None and address is None and wallet is None:
        found = trader.market.all_period_trades(period)
    else:
        if address is None and wallet is None:
            raise ValidationError("give a node ADDRESS, --wallet or --period")
        found = trader.trades(address)
        if period is not None:
            found = [t for t in found if t.period_id == period]
    if as_json:
        named = [
            {**t.model_dump(mode="json"), "status": trade_status_name(t.status)} for t in found
        ]
        print_json(named)
        return
    if not found:
        console.print("no trades")
        return
    console.print(_trade_table(found))


def periods(as_json: JsonOpt = False) -> None:
    """The delivery periods, their windows and their phase at chain time."""
    trader = _trader(None)
    found = trader.periods()
    now = trader.now()
    if as_json:
        print_json([{**p.model_dump(mode="json"), "status": period_phase(p, now)} for p in found])
        return
    table = Table("id", "delivery start", "intervals", "posting opens", "taking", "status")
    for p in found:
        state = period_phase(p, now)
        table.add_row(
            str(p.id),
            short_time(p.delivery_start),
            f"{p.intervals} x {p.interval_s} s",
            short_time(p.posting_opens_at),
            f"{short_time(p.taking_opens_at)} .. {short_time(p.taking_closes_at)}",
            state,
        )
    console.print(table)


def open_period(
    wallet: Annotated[str, wallet_option("An OPERATOR wallet.")],
    delivery_start: Annotated[str, typer.Option(help="ISO or unix time.")],
    posting_opens: Annotated[str, typer.Option(help="ISO or unix time.")],
    taking_opens: Annotated[str, typer.Option(help="ISO or unix time.")],
    taking_closes: Annotated[str, typer.Option(help="ISO or unix time.")],
    interval_s: Annotated[int, typer.Option(min=1)] = 900,
    intervals: Annotated[int, typer.Option(min=1, max=65535)] = 96,
    as_json: JsonOpt = False,
) -> None:
    """OPERATOR: open a delivery period (default: 96 intervals of 15 minutes)."""
    p = _trader(wallet).open_period(
        optional_time(delivery_start),
        optional_time(posting_opens),
        optional_time(taking_opens),
        optional_time(taking_closes),
        interval_s=interval_s,
        intervals=intervals,
    )
    if as_json:
        print_json(p)
        return
    console.print(f"opened period {p.id}: delivery {short_time(p.delivery_start)}")


def register(app: typer.Typer) -> None:
    """Add the trading commands to the ``node`` app."""
    app.command("post")(post)
    app.command("amend")(amend)
    app.command("cancel")(cancel)
    app.command("listings")(listings)
    app.command("quote")(quote)
    app.command("take")(take)
    app.command("trades")(trades)
    app.command("periods")(periods)
    app.command("open-period")(open_period)
