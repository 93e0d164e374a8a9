"""The participant API (node/trading/trader.py): offers read from chain, recommendation, plan
execution that skips listings taken or changed meanwhile; and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus
from ledger.errors import ValidationError
from ledger.settings import Settings
from ledger.units import mwh_to_wh
from ledger.units import wh_to_mwh_trimmed as wh_to_mwh
from node.cli import app
from node.trading.optimizer import Weights, load_plan
from node.trading.trader import Trader
from tests.trading.conftest import Market

PRICE = 300_000


def test_mwh_parsing() -> None:
    assert mwh_to_wh("1.5") == 1_500_000
    assert mwh_to_wh("0.000001") == 1
    assert wh_to_mwh(1_500_000) == "1.5"
    assert wh_to_mwh(2_000_000) == "2"
    with pytest.raises(ValidationError):
        mwh_to_wh("0.0000001")
    with pytest.raises(ValidationError):
        mwh_to_wh("-1")


def _traders(market: Market) -> dict[str, Trader]:
    ctx = market.ctx
    return {
        name: Trader(ctx, getattr(market, name).account)
        for name in ("seller", "seller2", "buyer", "buyer2")
    }


def test_offers_from_chain_and_plan_execution_skips_changed_listings(market: Market) -> None:
    t = _traders(market)
    pid = market.period.id
    a = t["seller"].post(ListingSide.SELL, pid, 0, 3, 2_000_000, PRICE).listing_id
    b = t["seller2"].post(ListingSide.SELL, pid, 0, 3, 3_000_000, PRICE - 50_000).listing_id
    c = t["seller"].post(ListingSide.SELL, pid, 0, 3, 1_000_000, PRICE + 10_000).listing_id
    d = t["seller2"].post(ListingSide.SELL, pid, 0, 3, 1_000_000, PRICE).listing_id
    t["buyer"].post(ListingSide.BUY, pid, 0, 3, 1_000_000, PRICE)  # other mode: not offered

    offers = {o.listing_id: o for o in t["buyer"].offers(1, pid)}
    assert sorted(offers) == [a, b, c, d]
    assert offers[a].transmission_rate_fen_per_mwh == 6_000  # North > Coast > City
    assert offers[b].transmission_rate_fen_per_mwh == 11_000  # Hub > City
    assert offers[b].carbon_g_per_kwh == 820.0
    assert offers[a].carbon_g_per_kwh == 0.0
    assert offers[a].reputation == 0.35  # a fresh node: ReputationLedger smoothing prior
    assert offers[a].counterparty == market.seller.address
    assert a not in {o.listing_id for o in t["seller"].offers(1, pid)}  # never its own

    plan = t["buyer"].recommend(6_000_000, 1, period_id=pid, weights=Weights(price=1.0))
    assert sum(x.quantity_wh for x in plan.takes) == 6_000_000
    planned = {x.listing_id: x.quantity_wh for x in plan.takes}
    assert planned[b] == 3_000_000  # the cheapest effective price

    # meanwhile: one listing is cancelled, one partly taken, one gets dearer
    market.open_taking()
    t["seller"].cancel(a) if a in planned else None
    if d in planned:
        t["buyer2"].take(d, 400_000)
    if c in planned:
        t["seller"].amend(c, PRICE + 20_000, 1_000_000)
    report = t["buyer"].execute_plan(plan)
    outcome = {o.listing_id: o for o in report.outcomes}
    assert outcome[b].outcome == "taken"
    assert outcome[b].taken_wh == 3_000_000
    if a in planned:
        assert outcome[a].outcome == "skipped"
        assert outcome[a].reason == "listing is cancelled"
    if d in planned:
        assert outcome[d].outcome == "taken"
        assert outcome[d].taken_wh == min(planned[d], 600_000)
    if c in planned:
        assert outcome[c].outcome == "skipped"
        assert outcome[c].reason.startswith("price changed")
    trades = {x.id: x for x in t["buyer"].trades()}
    assert sum(x.energy_wh for x in trades.values()) == report.taken_wh
    assert sum(x.escrow_fen for x in trades.values()) == report.escrow_fen
    assert all(x.status == TradeStatus.FORMED for x in trades.values())


def test_mode2_post_sets_allowance_and_seller_takes_by_plan(market: Market) -> None:
    t = _traders(market)
    pid = market.period.id
    posted = t["buyer"].post(ListingSide.BUY, pid, 10, 11, 2_000_000, PRICE, min_take_wh=500_000)
    worst = 2_000_000 * PRICE // 1_000_000 + 2_000_000 * sum((3_000, 9_000, 1_000, 2_000)) // 10**6
    assert posted.allowance_fen == worst
    second = t["buyer2"].post(ListingSide.BUY, pid, 10, 11, 1_000_000, PRICE + 1_000)
    plan = t["seller"].recommend(2_500_000, 2, period_id=pid)
    assert {x.listing_id for x in plan.takes} == {posted.listing_id, second.listing_id}
    market.open_taking()
    report = t["seller"].execute_plan(plan)
    assert [o.outcome for o in report.outcomes] == ["taken", "taken"]
    assert report.taken_wh == 2_500_000
    listing = market.operator.listing(posted.listing_id)
    assert listing.status == ListingStatus.OPEN
    assert listing.remaining_wh == 500_000
    # the buyers paid, not the selling taker
    assert market.token.balance_of(market.seller.address) == 50_000_000


def test_cli_end_to_end(market: Market, session_settings: Settings, tmp_path: Path) -> None:
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    pid = str(market.period.id)
    run("post", "-w", "node-1", "--side", "sell", "--period", pid, "--energy-mwh", "2",
        "--price", "300", "--from", "0", "--to", "3", "--min-take-mwh", "0.5")  # fmt: skip
    run("post", "-w", "node-2", "--side", "sell", "--period", pid, "--energy-mwh", "1.5",
        "--price", "280.5", "--from", "0", "--to", "3")  # fmt: skip
    listed = json.loads(run("listings", "--json", "--period", pid, "--side", "sell"))
    assert [(x["id"], x["remaining_wh"], x["price_fen_per_mwh"]) for x in listed] == [
        (1, 2_000_000, 30_000),
        (2, 1_500_000, 28_050),
    ]
    # Each listing shows its maker's standing: a fresh node's reputation and credit level.
    assert [(x["maker_reputation"], x["maker_credit_level"]) for x in listed] == [
        (350, listed[0]["maker_credit_level"]),
        (350, listed[1]["maker_credit_level"]),
    ]
    assert listed[0]["maker_credit_level"] in {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
    run("amend", "1", "-w", "node-1", "--price", "290", "--energy-mwh", "2.5")
    amended = json.loads(run("listings", "--json", "--period", pid))[0]
    assert (amended["price_fen_per_mwh"], amended["remaining_wh"]) == (29_000, 2_500_000)
    assert "┃" in run("listings")  # the table renders
    quote = json.loads(run("quote", "1", "-w", "node-3", "--energy-mwh", "1", "--json"))
    assert quote["route"] == [0, 2, 3]
    assert quote["escrow_fen"] == 29_000 + 6_000
    plan_path = tmp_path / "plan.json"
    out = run("recommend", "-w", "node-3", "--target-wh", "3000000", "--period", pid,
              "--out", str(plan_path))  # fmt: skip
    assert "plan written" in out
    plan = load_plan(plan_path)
    assert plan.totals.filled_wh == 3_000_000
    market.open_taking()
    run("cancel", "2", "-w", "node-2")
    report = json.loads(run("take", "-w", "node-3", "--plan", str(plan_path), "--json"))
    by_id = {o["listing_id"]: o for o in report["outcomes"]}
    assert by_id[2]["outcome"] == "skipped"
    assert by_id[2]["reason"] == "listing is cancelled"
    assert by_id[1]["outcome"] == "taken"
    assert by_id[1]["taken_wh"] == 2_500_000  # the cheaper effective price, all of it
    run("post", "-w", "node-1", "--side", "sell", "--period", pid, "--energy-mwh", "1",
        "--price", "300", "--from", "0", "--to", "3")  # fmt: skip
    out = run("take", "3", "-w", "node-4", "--energy-mwh", "0.5", "--limit", "300")
    assert "trade 2:" in out
    trades = json.loads(run("trades", "-w", "node-3", "--json"))
    assert [x["listing_id"] for x in trades] == [1]
    assert trades[0]["route"] == [0, 2, 3]
    assert len(json.loads(run("trades", "--period", pid, "--json"))) == 2
    assert "no trades" in run("trades", "-w", "node-2")
    periods = json.loads(run("periods", "--json"))
    assert periods[0]["id"] == market.period.id
    listed = json.loads(run("listings", "--mine", "-w", "node-2", "--json"))
    assert listed[0]["status"] == "cancelled"  # statuses read by name (ledger.display)
