"""ChainHistorySource on the session chain: a tiny settled and rated market read back."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.trading import ListingSide
from ledger.settings import Settings
from node.surveillance.chain import ChainHistorySource, chain_history
from node.surveillance.cli import app
from node.surveillance.history import (
    Deviation,
    ListingMode,
    Rating,
    Side,
    TradeStatus,
    collect,
)
from tests.settlement.conftest import Flow, flow  # noqa: F401  (fixture)
from tests.trading.conftest import block_time, market  # noqa: F401  (fixture of `flow`)

E = 1_000_000
PRICE = 350_000


def _block_time_of(flow: Flow, receipt: object) -> int:  # noqa: F811
    number = int(receipt["blockNumber"])  # type: ignore[index]
    return int(flow.ctx.w3.eth.get_block(number)["timestamp"])


def test_chain_history_reads_listings_trades_deviations_and_ratings(
    flow: Flow,  # noqa: F811
    session_settings: Settings,
) -> None:
    flow.open_taking()
    period = flow.period
    seller, seller2, storage = (flow.party(n).actor for n in ("seller", "seller2", "storage"))
    buyer, buyer2 = flow.party("buyer").actor, flow.party("buyer2").actor

    # A listing amended once and then cancelled (never taken).
    posted = seller.market.post(ListingSide.SELL, period, 0, 3, 2 * E, 400_000)
    cancelled_id = seller.market.posted_listing_id(posted)
    seller.market.amend(cancelled_id, 390_000, 2 * E)
    cancel = seller.market.cancel(cancelled_id)
    cancelled_at = _block_time_of(flow, cancel)

    full = flow.trade("seller", "buyer", E, PRICE)  # executed in full
    partial = flow.trade("seller2", "buyer2", E, PRICE + 10_000)  # half executed
    curtailed = flow.trade("storage", "buyer", E, PRICE - 10_000)  # curtailed, rest executed
    flow.dispatch(full, E)
    flow.dispatch(partial, E // 2)
    flow.dispatch(curtailed, E - 200_000, 200_000, reason=1)
    flow.meter(
        {
            "seller": (0, E),
            "seller2": (0, E // 2),
            "storage": (0, E - 200_000),
            "buyer": (2 * E - 200_000 + 100_000, 0),  # consumed 0.1 MWh more than contracted
            "buyer2": (0, 0),  # consumed nothing
        }
    )
    flow.open_settlement()
    for tid in (full, partial, curtailed):
        flow.engine.settle(tid)
    rate_receipts = [
        flow.ctx.client(ReputationLedgerClient, buyer.account).rate(full, 5),
        flow.ctx.client(ReputationLedgerClient, seller.account).rate(full, 4),
        flow.ctx.client(ReputationLedgerClient, buyer2.account).rate(partial, 2),
    ]

    source = ChainHistorySource(flow.ctx, flow.ctx.account("node-93"), log_chunk=50)
    first, last = source.period_range()
    assert first == 1
    assert last >= period

    # -- listings: the cancelled one and the three taken ones, nothing of other periods
    listings = {x.id: x for x in source.listings(period, period)}
    trades = {t.id: t for t in source.trades(period, period)}
    assert set(trades) == {full, partial, curtailed}
    chain = {tid: flow.market.settler.trade(tid) for tid in trades}
    assert set(listings) == {cancelled_id} | {c.listing_id for c in chain.values()}
    c = listings[cancelled_id]
    raw = flow.market.settler.listing(cancelled_id)
    assert (c.poster, c.mode, c.period) == (seller.address, ListingMode.SELL, period)
    assert (c.quantity_wh, c.price_fen_per_mwh) == (2 * E, 390_000)
    assert (c.posted_at, c.cancelled_at, c.amended) == (raw.posted_at, cancelled_at, 1)
    assert c.closes_at == flow.market.period.taking_closes_at
    for tid, t in chain.items():
        x = listings[t.listing_id]
        assert (x.poster, x.quantity_wh, x.price_fen_per_mwh) == (t.seller, E, t.price_fen_per_mwh)
        assert (x.cancelled_at, x.amended) == (None, 0)
        assert trades[tid].listing_id == t.listing_id

    # -- trades: parties, amounts and dispatch's results
    assert (trades[full].buyer, trades[full].seller) == (buyer.address, seller.address)
    assert (trades[partial].buyer, trades[partial].seller) == (buyer2.address, seller2.address)
    assert (trades[curtailed].buyer, trades[curtailed].seller) == (buyer.address, storage.address)
    assert [trades[i].status for i in (full, partial, curtailed)] == [
        TradeStatus.EXECUTED,
        TradeStatus.PARTIAL,
        TradeStatus.EXECUTED,
    ]
    assert (trades[partial].executed_wh, trades[partial].curtailed_wh) == (E // 2, 0)
    assert (trades[curtailed].executed_wh, trades[curtailed].curtailed_wh) == (E - 200_000, 200_000)
    assert trades[full].price_fen_per_mwh == PRICE
    assert trades[full].formed_at == chain[full].formed_at
    assert all(t.period == period and t.quantity_wh == E for t in trades.values())

    # -- deviations: contracted (settled) against metered, per trading node
    deviations = {d.node: d for d in source.deviations(period, period)}
    assert deviations == {
        seller.address: Deviation(
            node=seller.address, period=period, contracted_wh=E, metered_wh=E
        ),
        seller2.address: Deviation(
            node=seller2.address, period=period, contracted_wh=E // 2, metered_wh=E // 2
        ),
        storage.address: Deviation(
            node=storage.address, period=period, contracted_wh=E - 200_000, metered_wh=E - 200_000
        ),
        buyer.address: Deviation(
            node=buyer.address,
            period=period,
            contracted_wh=2 * E - 200_000,
            metered_wh=2 * E - 100_000,
        ),
        buyer2.address: Deviation(
            node=buyer2.address, period=period, contracted_wh=E // 2, metered_wh=0
        ),
    }

    # -- ratings of exactly these trades
    at = [_block_time_of(flow, r) for r in rate_receipts]
    assert sorted(source.ratings({full, partial, curtailed}), key=lambda r: r.at) == [
        Rating(rater=buyer.address, ratee=seller.address, trade_id=full, score=5, at=at[0]),
        Rating(rater=seller.address, ratee=buyer.address, trade_id=full, score=4, at=at[1]),
        Rating(rater=buyer2.address, ratee=seller2.address, trade_id=partial, score=2, at=at[2]),
    ]
    assert source.ratings({curtailed}) == []

    # -- nodes: registered sides
    sides = {n.address: n.side for n in source.nodes()}
    assert sides[seller.address] is Side.SELLER
    assert sides[storage.address] is Side.SELLER
    assert sides[buyer.address] is Side.BUYER

    # -- one window through collect() and chain_history() agree
    history = collect(source, period, period)
    assert len(history.trades) == 3
    assert len(history.ratings) == 3
    assert len(history.listings) == 4
    again = chain_history(flow.ctx, flow.ctx.account("node-93"), last_period=period, periods=1)
    assert again.model_dump() == history.model_dump()
    assert block_time(flow.ctx) >= max(at)

    # -- the CLI reads the chain when no --history is given
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    result = CliRunner().invoke(app, ["scan", "--last-period", str(period), "--json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    scanned = json.loads(result.output)
    assert scanned["last_period"] == period
    scored = {r["node"] for r in scanned["rows"]}
    assert {seller.address, seller2.address, storage.address, buyer.address} <= scored
