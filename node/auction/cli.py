"""``gridledger auction open|limits|order|amend|cancel|book|clear|result``.

The centralised auction (docs/auction.md) from the command line. Energy in MWh (down to
1 Wh), prices in CNY/MWh (down to 1 fen/MWh); ``--json`` and ``--csv`` carry the chain's
units (Wh, fen/MWh, fen). A contract's refusal prints as one line, e.g.
``error: BelowMinimumLot(auctionId=1, energyWh=5000, minLotWh=10000)``, exit code 1.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from ledger.auction_clearing import priority_order
from ledger.cli_support import (
    JsonOpt,
    console,
    make_context,
    parse_time,
    price_fen,
    print_json,
    short_time,
    signer,
    tx_hash,
    wallet_option,
)
from ledger.clients.auction import ClearingRule, OrderSide
from ledger.errors import ValidationError
from ledger.units import fen_to_cny, mwh_to_wh, wh_to_mwh_trimmed
from node.auction.api import AuctionDesk, fills_csv

app = typer.Typer(help="The centralised auction (集中竞价): orders, clearing, results.")

WalletOpt = Annotated[str, wallet_option("The signing wallet (keystore).")]
EnergyOpt = Annotated[str, typer.Option("--energy-mwh", help="Energy in MWh, e.g. 1.5.")]
PriceOpt = Annotated[str, typer.Option("--price", help="Limit price in CNY/MWh.")]
AuctionArg = Annotated[int, typer.Argument(min=1, help="Auction id.")]
OrderArg = Annotated[int, typer.Argument(min=1, help="Order id.")]


def _desk(wallet: str | None) -> AuctionDesk:
    ctx = make_context()
    return AuctionDesk(ctx, signer(ctx, wallet))


def parse_side(text: str) -> OrderSide:
    """``bid``/``buy`` or ``offer``/``sell``/``ask`` (any case) as an order side."""
    key = text.strip().lower()
    if key in ("bid", "buy"):
        return OrderSide.BID
    if key in ("offer", "sell", "ask"):
        return OrderSide.OFFER
    raise ValidationError(f"side must be bid or offer: {text!r}")


def _parse_rule(text: str) -> ClearingRule:
    key = text.strip().lower().replace("_", "-")
    if key in ("uniform", "marginal"):
        return ClearingRule.UNIFORM
    if key in ("pair-average", "high-low"):
        return ClearingRule.PAIR_AVERAGE
    raise ValidationError(f"rule must be uniform or pair-average: {text!r}")


@app.command("limits")
def limits(
    wallet: Annotated[str, wallet_option("A REGULATOR wallet.")],
    floor: Annotated[str, typer.Option(help="Price floor, CNY/MWh.")],
    cap: Annotated[str, typer.Option(help="Price cap, CNY/MWh.")],
) -> None:
    """REGULATOR: set the price floor and cap of auctions opened from now on."""
    receipt = _desk(wallet).set_price_limits(price_fen(floor), price_fen(cap))
    console.print(f"price limits {floor}..{cap} CNY/MWh in tx {tx_hash(receipt)}")


@app.command("open")
def open_auction(
    wallet: Annotated[str, wallet_option("An OPERATOR wallet.")],
    period: Annotated[int, typer.Option(min=1, help="Trading period id.")],
    gate: Annotated[str, typer.Option(help="Gate closure (ISO or unix time).")],
    min_lot: Annotated[str, typer.Option("--min-lot-mwh", help="Minimum lot, MWh.")],
    first_interval: Annotated[int, typer.Option("--from", min=0)] = 0,
    last_interval: Annotated[int, typer.Option("--to", min=0)] = 95,
    opens: Annotated[str | None, typer.Option(help="Order window opens (default now).")] = None,
    rule: Annotated[str, typer.Option(help="uniform or pair-average.")] = "uniform",
    fee_cap: Annotated[
        str | None, typer.Option(help="Fee cap, CNY/MWh (default: sum of stamp rates).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """OPERATOR: open an auction for intervals FROM..TO of a period."""
    desk = _desk(wallet)
    opens_at = parse_time(opens) if opens else int(desk.ctx.w3.eth.get_block("latest")["timestamp"])
    auction_id = desk.open(
        period,
        first_interval,
        last_interval,
        opens_at,
        parse_time(gate),
        mwh_to_wh(min_lot),
        _parse_rule(rule),
        price_fen(fee_cap) if fee_cap else None,
    )
    if as_json:
        print_json({"auction_id": auction_id})
        return
    console.print(f"opened auction {auction_id}")


@app.command("order")
def order(
    auction_id: AuctionArg,
    wallet: WalletOpt,
    side: Annotated[str, typer.Option(help="bid or offer.")],
    energy: EnergyOpt,
    price: PriceOpt,
    as_json: JsonOpt = False,
) -> None:
    """Place a bid (escrows energy x limit + fee at the cap) or an offer (reserves bond)."""
    order_id = _desk(wallet).order(
        auction_id, parse_side(side), mwh_to_wh(energy), price_fen(price)
    )
    if as_json:
        print_json({"order_id": order_id})
        return
    console.print(f"placed order {order_id} in auction {auction_id}")


@app.command("amend")
def amend(order_id: OrderArg, wallet: WalletOpt, energy: EnergyOpt, price: PriceOpt) -> None:
    """Change an own order before the gate (a new price or more energy loses its place)."""
    receipt = _desk(wallet).amend(order_id, mwh_to_wh(energy), price_fen(price))
    console.print(f"amended order {order_id} in tx {tx_hash(receipt)}")


@app.command("cancel")
def cancel(order_id: OrderArg, wallet: WalletOpt) -> None:
    """Cancel an own order before the gate (escrow refunded, bond released)."""
    receipt = _desk(wallet).cancel(order_id)
    console.print(f"cancelled order {order_id} in tx {tx_hash(receipt)}")


@app.command("book")
def book(auction_id: AuctionArg, as_json: JsonOpt = False) -> None:
    """The live book in priority order: bids (price desc), offers (price asc), then time."""
    desk = _desk(None)
    orders = desk.book(auction_id)
    a = desk.auction.auction(auction_id)
    if as_json:
        print_json({"auction": a, "orders": [asdict(o) for o in orders]})
        return
    console.print(
        f"auction {auction_id}: period {a.period_id} intervals {a.first_interval}-"
        f"{a.last_interval}, gate {short_time(a.gate_closes_at)}, {a.phase.name.lower()}"
    )
    table = Table("order", "side", "node", "seq", "MWh", "CNY/MWh")
    bids, offers = priority_order(orders)
    for o in bids + offers:
        table.add_row(
            str(o.order_id),
            "bid" if o.bid else "offer",
            o.node[:10] + "…",
            str(o.seq),
            wh_to_mwh_trimmed(o.energy_wh),
            fen_to_cny(o.price_fen_per_mwh),
        )
    console.print(table)


@app.command("clear")
def clear(
    auction_id: AuctionArg,
    wallet: Annotated[str, wallet_option("Any funded wallet (anyone may crank).")],
    steps: Annotated[int, typer.Option(min=1, help="Clearing steps per transaction.")] = 40,
) -> None:
    """Rank the book and crank the clearing to the end (anyone, after the gate)."""
    desk = _desk(wallet)
    sent = desk.clear(auction_id, steps=steps)
    a = desk.auction.auction(auction_id)
    console.print(
        f"auction {auction_id} cleared in {sent} tx: {a.trade_count} trade(s), "
        f"{wh_to_mwh_trimmed(a.traded_wh)} MWh"
    )


@app.command("result")
def result(
    auction_id: AuctionArg,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="The fills as CSV.")] = False,
) -> None:
    """The clearing result: matched energy, price(s) and each fill."""
    r = _desk(None).result(auction_id)
    if as_csv:
        typer.echo(fills_csv(r.fills), nl=False)
        return
    if as_json:
        print_json(r)
        return
    console.print(
        f"auction {auction_id}: {r.bids} bid(s), {r.offers} offer(s); "
        f"{r.auction.phase.name.lower()}, {len(r.fills)} trade(s), "
        f"{wh_to_mwh_trimmed(r.auction.traded_wh)} MWh"
    )
    table = Table("pair", "trade", "buyer", "seller", "MWh", "CNY/MWh", "value CNY")
    for f in r.fills:
        table.add_row(
            str(f.pair_index),
            str(f.trade_id),
            f.buyer[:10] + "…",
            f.seller[:10] + "…",
            wh_to_mwh_trimmed(f.energy_wh),
            fen_to_cny(f.price_fen_per_mwh),
            fen_to_cny(f.value_fen),
        )
    console.print(table)
