"""The OPERATOR's pages against a real chain: an auction opened through the confirmation
page (exact figures, the AuctionOpened event), a bad form as one line, a period opened and
its settlement scheduled, a settlement parameter changed, an auction cleared after its gate,
the explorer link."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.clients.auction import CentralAuctionClient, ClearingRule, Phase
from ledger.clients.defaults import TradeCloserClient
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.display import short_time
from ledger.units import fen_to_cny
from tests.conftest import role_account
from tests.portal.test_review import Institution, serve_institution
from tests.trading.conftest import RATES, Market, advance_time, block_time

FLOOR, CAP = 100_000, 600_000  # fen/MWh


@pytest.fixture
def op(market: Market, tmp_path: Path) -> Iterator[Institution]:
    """The operator's portal; the regulator has set the auction price limits."""
    regulator = market.ctx.client(CentralAuctionClient, role_account("REGULATOR"))
    regulator.set_price_limits(FLOOR, CAP)
    yield from serve_institution(market.ctx, "operator", role_account("OPERATOR"), tmp_path)


def _errors(page: str) -> list[str]:
    return re.findall(r'<p class="error" id="error">([^<]*)</p>', html.unescape(page))


def test_operator_opens_an_auction_through_the_confirmation_page(
    op: Institution, market: Market
) -> None:
    home = op.client.get("/").text
    assert 'id="nav-operator"' in home
    assert 'id="nav-review"' not in home
    page = op.client.get("/operator/auctions").text
    assert 'href="https://127.0.0.1:8700/" id="explorer"' in page
    now = block_time(market.ctx)
    gate = now + 3_600
    period = market.period.id
    confirm, action = op.confirm(
        "/operator/auction",
        {
            "period": str(period),
            "first_interval": "4",
            "last_interval": "7",
            "gate": str(gate),
            "min_lot_mwh": "0.25",
            "rule": "pair-average",
        },
        "/operator/auctions",
    )
    confirm = html.unescape(confirm)
    fee_cap = sum(RATES.values())  # the default: every region's stamp rate
    opens = int(re.findall(r"CentralAuction\.openAuction\(\d+, 4, 7, (\d+),", confirm)[0])
    assert now <= opens <= now + 5
    assert (
        f"CentralAuction.openAuction({period}, 4, 7, {opens}, {gate}, 250000, 1, {fee_cap})"
        in confirm
    )
    assert f"{period}, intervals 4-7" in confirm
    assert f"{short_time(gate)} UTC ({gate})" in confirm
    assert "0.25 MWh (250,000 Wh)" in confirm
    assert f"{fen_to_cny(fee_cap)} CNY/MWh ({fee_cap:,} fen/MWh)" in confirm
    assert "1000.00 CNY/MWh (100,000 fen/MWh) to 6000.00 CNY/MWh (600,000 fen/MWh)" in confirm
    auctions = market.ctx.client(CentralAuctionClient, role_account("OPERATOR"))
    before = auctions.auction_count()
    done = op.submit(action)
    auction_id = before + 1
    assert auctions.auction_count() == auction_id
    a = auctions.auction(auction_id)
    assert (a.period_id, a.first_interval, a.last_interval, a.opens_at, a.gate_closes_at) == (
        period,
        4,
        7,
        opens,
        gate,
    )
    assert (a.min_lot_wh, a.rule, a.fee_cap_fen_per_mwh) == (
        250_000,
        ClearingRule.PAIR_AVERAGE,
        fee_cap,
    )
    operator = role_account("OPERATOR").address
    assert (
        f"AuctionOpened(auctionId={auction_id}, periodId={period}, firstInterval=4, "
        f"lastInterval=7, opensAt={opens}, gateClosesAt={gate}, minLotWh=250000, rule=1, "
        f"floorFenPerMwh={FLOOR}, capFenPerMwh={CAP}, feeCapFenPerMwh={fee_cap}, "
        f"operator={operator})" in done
    )
    # after the gate the empty auction is cleared through the confirmation page
    advance_time(market.ctx, 3_601)
    listed = op.client.get("/operator/auctions").text
    assert 'action="/operator/clear"' in listed
    confirm, action = op.confirm(
        "/operator/clear", {"auction_id": str(auction_id)}, "/operator/auctions"
    )
    assert "0 bid(s), 0 offer(s)" in confirm
    done = op.submit(action)
    assert auctions.auction(auction_id).phase == Phase.CLEARED
    assert 'trades</dt><dd class="mono">0<' in done


def test_a_bad_auction_form_is_one_line(op: Institution, market: Market) -> None:
    csrf = op.csrf("/operator/auctions")
    before = market.ctx.client(CentralAuctionClient, role_account("OPERATOR")).auction_count()
    form = {"csrf": csrf, "period": str(market.period.id), "gate": "tomorrow", "min_lot_mwh": "-1"}
    r = op.client.post("/operator/auction", data=form)
    assert r.status_code == 422
    assert _errors(r.text) == [
        "gate: not a date (YYYY-MM-DD) or unix time: 'tomorrow'; "
        "min_lot_mwh: energy in MWh must not be negative: -1"
    ]
    assert 'value="tomorrow"' in r.text  # the form keeps what was typed
    gate = block_time(market.ctx) - 10
    r = op.client.post("/operator/auction", data={**form, "gate": str(gate), "min_lot_mwh": "1"})
    assert r.status_code == 422
    (line,) = _errors(r.text)
    assert line.startswith(f"the gate {short_time(gate)} UTC ({gate}) is not after the opening")
    r = op.client.post("/operator/clear", data={"csrf": csrf, "auction_id": "99"})
    assert r.status_code == 422
    assert len(_errors(r.text)) == 1
    assert market.ctx.client(CentralAuctionClient, role_account("OPERATOR")).auction_count() == (
        before
    )


def test_operator_opens_a_period_and_schedules_its_settlement(
    op: Institution, market: Market
) -> None:
    trading = market.operator
    before = trading.period_count()
    confirm, action = op.confirm(
        "/operator/period",
        {
            "delivery_in_s": "7200",
            "taking_closes_before_s": "1800",
            "interval_s": "900",
            "intervals": "4",
        },
        "/operator",
    )
    args = re.findall(r"TradingMarket\.openPeriod\(([\d, ]+)\)", confirm)[0].split(", ")
    start, posting, taking, closes = map(int, args[:4])
    assert args[4:] == ["900", "4"]
    assert posting == taking
    assert start == posting + 7_200
    assert closes == start - 1_800
    done = op.submit(action)
    pid = before + 1
    p = trading.period(pid)
    assert (p.delivery_start, p.posting_opens_at, p.taking_closes_at, p.intervals) == (
        start,
        posting,
        closes,
        4,
    )
    assert f"PeriodOpened(period={pid}, deliveryStart={start}, intervalS=900" in done
    confirm, action = op.confirm(
        "/operator/settle", {"period": str(pid), "in_s": "600"}, "/operator"
    )
    opens_at = int(re.findall(rf"setSettlementOpensAt\({pid}, (\d+)\)", confirm)[0])
    done = op.submit(action)
    results = market.ctx.client(DispatchResultsClient, role_account("OPERATOR"))
    assert results.settlement_opens_at(pid) == opens_at
    assert f"SettlementScheduled(period={pid}, opensAt={opens_at})" in done
    listed = op.client.get("/operator").text
    assert short_time(opens_at) in listed


def test_operator_changes_a_settlement_parameter(op: Institution, market: Market) -> None:
    ctx = market.ctx
    engine = ctx.client(SettlementEngineClient, role_account("OPERATOR"))
    closer = ctx.client(TradeCloserClient, role_account("OPERATOR"))
    page = op.client.get("/operator/settlement").text
    assert engine.balancing_account() in page
    assert f"{closer.closure_grace_s():,} s" in page
    new = str(ctx.account("node-40").address)
    confirm, action = op.confirm(
        "/operator/setting",
        {"setting": "grid-account", "region": "2", "value": new.lower()},
        "/operator/settlement",
    )
    assert f"SettlementEngine.setGridAccount(2, {new})" in confirm
    assert engine.grid_account_of(2) in confirm  # the current value
    done = op.submit(action)
    assert engine.grid_account_of(2) == new
    operator = role_account("OPERATOR").address
    assert f"GridAccountSet(region=2, account={new}, operator={operator})" in done
    confirm, action = op.confirm(
        "/operator/setting", {"setting": "closure-grace", "value": "7200"}, "/operator/settlement"
    )
    assert "TradeCloser.setClosureGrace(7200)" in confirm
    op.submit(action)
    assert closer.closure_grace_s() == 7_200
    r = op.client.post(
        "/operator/setting",
        data={"csrf": op.csrf("/operator/settlement"), "setting": "grid-account", "value": "0x12"},
    )
    assert r.status_code == 422
    assert _errors(r.text) == ["not an address: '0x12'"]
