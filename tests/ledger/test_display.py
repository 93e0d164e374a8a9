"""One naming of chain states for the CLI, the API and the explorer (issue 17)."""

from __future__ import annotations

from gateway.api import ParticipantOut
from gateway.pages import templates
from gateway.projections.trades import TRADE_STATUSES
from ledger.clients.trading import Listing, ListingSide, ListingStatus, Period, TradeStatus
from ledger.display import (
    credit_level_name,
    hex0x,
    listing_status_name,
    period_phase,
    trade_status_name,
)


def _listing(status: ListingStatus, expires_at: int) -> Listing:
    return Listing(
        id=1, maker="0x" + "11" * 20, side=ListingSide.SELL, status=status, region=0,
        period_id=1, first_interval=0, last_interval=3, posted_at=0, expires_at=expires_at,
        energy_wh=1, remaining_wh=1, taken_wh=0, min_take_wh=0, price_fen_per_mwh=1,
        terms_hash=b"\x00" * 31 + b"\x01",
    )  # fmt: skip


def test_statuses_judged_at_chain_time() -> None:
    assert listing_status_name(_listing(ListingStatus.OPEN, 100), 99) == "open"
    assert listing_status_name(_listing(ListingStatus.OPEN, 100), 100) == "expired"
    assert listing_status_name(_listing(ListingStatus.FILLED, 100), 200) == "filled"
    period = Period(
        id=1, delivery_start=1_000, interval_s=900, intervals=4,
        posting_opens_at=100, taking_opens_at=200, taking_closes_at=300,
    )  # fmt: skip
    phases = [period_phase(period, t) for t in (99, 100, 200, 300)]
    assert phases == ["not open", "posting", "taking", "closed"]


def test_one_name_for_trade_statuses_credit_levels_and_hashes() -> None:
    assert trade_status_name(TradeStatus.FORMED) == "formed"
    assert TRADE_STATUSES[TradeStatus.FORMED] == "formed"  # the explorer's projection
    assert TRADE_STATUSES[TradeStatus.DISPATCHED] == "dispatched"
    assert [credit_level_name(x) for x in (0, 4, 8, None)] == ["AAA", "BB", "C", None]
    out = ParticipantOut.model_validate(
        {"address": "0x" + "11" * 20, "kind": None, "region": None, "status": "active",
         "bond_fen": 1, "credit_level": 4, "reputation": None, "registered_block": 1,
         "registered_time": 1, "block_number": 1, "tx_hash": "0x00"}
    )  # fmt: skip
    assert out.credit_level == "BB"
    assert templates.env.filters["credit"](0) == "AAA"
    assert templates.env.filters["credit"](None) == "–"
    assert hex0x(b"\x01\x02") == "0x0102"
    listing = _listing(ListingStatus.OPEN, 1).model_dump(mode="json")
    assert listing["terms_hash"] == "0x" + "00" * 31 + "01"


def test_explorer_filters_read_prices_in_cny_per_mwh() -> None:
    assert templates.env.filters["cny_mwh"](350_000) == "3500.00"
    assert templates.env.filters["cny_mwh"](None) == "–"
