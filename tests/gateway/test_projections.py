"""Projectors of the domain contracts' events (synthetic events with the real shapes)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from gateway.indexer import Indexer
from gateway.projections import reproject_all, rewind
from gateway.tables import (
    CertificateHolding,
    CertificateRetirement,
    CertificateToken,
    Listing,
    MeterAnchor,
    Participant,
    Quota,
    Rating,
    Report,
    Settlement,
    Trade,
)
from tests.gateway.conftest import dump, node
from tests.gateway.synthetic import (
    BASE_BLOCK,
    REGULATOR,
    VINTAGE,
    market_events,
    store,
    token_id,
)


def _one(engine: Engine, model: type, **where: object) -> dict[str, object]:
    t = model.__table__  # type: ignore[attr-defined]
    query = select(t)
    for k, v in where.items():
        query = query.where(t.c[k] == v)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_whole_trade_life_projects_into_typed_rows(indexer: Indexer, gw_engine: Engine) -> None:
    store(indexer, gw_engine, market_events())
    s, b = node(1), node(2)
    seller = _one(gw_engine, Participant, address=s)
    assert seller["status"] == "active"
    assert seller["kind"] == "seller"
    assert seller["region"] == "Tangshan"
    assert seller["bond_fen"] == 500_000_00 - 10_000_00
    assert seller["credit_level"] == 4
    assert seller["reputation"] == 820
    assert _one(gw_engine, Participant, address=b)["kind"] == "buyer"
    listing = _one(gw_engine, Listing, listing_id=1)
    assert (listing["remaining_wh"], listing["status"]) == (3_000_000, "partial")
    trade = _one(gw_engine, Trade, trade_id=7)
    assert trade["seller"] == s
    assert trade["buyer"] == b
    assert trade["price_fen_per_mwh"] == 35_000
    assert trade["period"] == 202601
    assert trade["region"] == "Tangshan"
    assert trade["dispatch_accepted"] is True
    assert (trade["delivered_wh"], trade["consumed_wh"]) == (1_900_000, 1_950_000)
    assert trade["status"] == "settled"
    assert (trade["paid_to_seller_fen"], trade["refund_fen"]) == (66_500, 3_500)
    settlement = _one(gw_engine, Settlement, trade_id=7)
    assert settlement["outcome"] == "settled"
    assert settlement["paid_to_seller_fen"] == 66_500
    assert settlement["refund_fen"] == 3_500
    assert settlement["transmission_fee_fen"] == 1_200
    assert settlement["remainder_fen"] == 1
    assert (settlement["executed_wh"], settlement["curtailed_wh"]) == (1_900_000, 100_000)
    assert _one(gw_engine, Rating, rater=b)["score"] == 5
    assert _one(gw_engine, MeterAnchor, node=s)["merkle_root"] == "0x" + "ab" * 32
    wind = str(token_id(2, s, VINTAGE))
    token = _one(gw_engine, CertificateToken, token_id=wind)
    assert (token["source"], token["generator"], token["vintage"]) == ("wind", s, VINTAGE)
    assert (token["issued"], token["retired"], token["revoked"]) == (3, 1, 0)
    assert token["generation_wh"] == 3_400_000
    assert _one(gw_engine, CertificateHolding, token_id=wind, holder=s)["amount"] == 1
    assert _one(gw_engine, CertificateHolding, token_id=wind, holder=b)["amount"] == 1
    retirement = _one(gw_engine, CertificateRetirement, retirement_id=1)
    assert (retirement["beneficiary"], retirement["trade_id"]) == (b, 7)
    assert (retirement["amount"], retirement["covered_wh"]) == (1, 1_000_000)
    quota = _one(gw_engine, Quota, party=b, period=VINTAGE)
    assert (quota["obligation_wh"], quota["covered_wh"]) == (3_000_000, 1_000_000)
    assert (quota["shortfall_wh"], quota["fine_fen"], quota["assessed"]) == (
        2_000_000,
        16_000,
        True,
    )
    report = _one(gw_engine, Report, report_id=1)
    assert (report["suspect"], report["reporter"]) == (s, b)
    assert (report["indicator"], report["score"]) == ("wash-trading", 910_000)
    assert (report["trade_id"], report["trade_ids"]) == (7, "7,8")
    assert report["response_hash"] == "0x" + "ef" * 32
    assert report["status"] == "confirmed"
    assert report["regulator"] == REGULATOR
    assert report["bond_penalty_fen"] == 10_000_00
    assert (report["slashed_fen"], report["reputation_penalty"]) == (10_000_00, 50)
    assert report["announced"] is True


def test_reproject_and_rewind_of_synthetic_domains(indexer: Indexer, gw_engine: Engine) -> None:
    store(indexer, gw_engine, market_events())
    before = dump(gw_engine)
    with gw_engine.begin() as conn:
        reproject_all(conn)
    assert dump(gw_engine) == before
    # a reorg back to block 8 forgets the ratings, certificates and the ruling, and the
    # mutable projections are rebuilt as they stood at block 8
    from gateway.indexer import BLOCKS, EVENTS, REFS

    with gw_engine.begin() as conn:
        keep = BASE_BLOCK + 8
        conn.execute(REFS.delete().where(REFS.c.block_number > keep))
        conn.execute(EVENTS.delete().where(EVENTS.c.block_number > keep))
        conn.execute(BLOCKS.delete().where(BLOCKS.c.number > keep))
        rewind(conn, keep)
    assert _one(gw_engine, Trade, trade_id=7)["status"] == "settled"
    seller = _one(gw_engine, Participant, address=node(1))
    assert seller["reputation"] is None
    assert seller["bond_fen"] == 500_000_00
    with gw_engine.connect() as conn:
        for model in (Rating, CertificateToken, CertificateRetirement, Report, Quota):
            t = model.__table__  # type: ignore[attr-defined]
            assert conn.execute(select(t)).first() is None, model


def test_events_as_declared_by_the_suite_interfaces(indexer: Indexer, gw_engine: Engine) -> None:
    """NodeRegistry / TradingMarket / DispatchResults / MeterOracle event shapes."""
    from tests.gateway.synthetic import ev

    s, b = node(1), node(2)
    store(
        indexer,
        gw_engine,
        [
            ev(1, "NodeApplied", "NodeRegistry", node=s, kind=2, side=0, region=3),
            ev(2, "NodeApproved", "NodeRegistry", node=s, verifier=REGULATOR),
            ev(2, "BondDeposited", "NodeRegistry", node=s, payer=s, amountFen=900, bondFen=900),
            ev(3, "BondSlashed", "NodeRegistry", node=s, to=b, requestedFen=500, slashedFen=400),
            ev(
                4,
                "ListingPosted",
                "TradingMarket",
                listingId=2,
                maker=s,
                period=9,
                side=0,
                region=3,
                energyWh=1000,
                priceFenPerMwh=300,
            ),
            ev(
                5,
                "TradeCreated",
                "TradingMarket",
                tradeId=4,
                listingId=2,
                period=9,
                buyer=b,
                seller=s,
                taker=b,
                energyWh=600,
                priceFenPerMwh=300,
                prepaymentFen=1,
                remainingWh=400,
            ),
            ev(5, "TradeRouted", "TradingMarket", tradeId=4, feeFen=77),
            ev(
                6,
                "DispatchResultRecorded",
                "DispatchResults",
                tradeId=4,
                period=9,
                executedWh=550,
                curtailedWh=50,
                reasonCode=2,
                signer=REGULATOR,
            ),
            ev(7, "TradeStatusChanged", "TradingMarket", tradeId=4, previous=2, status=3),
            ev(
                7,
                "NodeTotalRecorded",
                "MeterOracle",
                node=s,
                period=9,
                importWh=0,
                exportWh=550,
                readingCount=4,
                readingsRoot="0x" + "cd" * 32,
            ),
        ],
    )
    p = _one(gw_engine, Participant, address=s)
    assert (p["status"], p["kind"], p["region"], p["bond_fen"]) == (
        "active",
        "seller (wind)",
        "3",
        500,
    )
    assert _one(gw_engine, Listing, listing_id=2)["remaining_wh"] == 400
    t = _one(gw_engine, Trade, trade_id=4)
    assert (t["seller"], t["buyer"], t["transmission_fee_fen"]) == (s, b, 77)
    assert (t["dispatch_accepted"], t["delivered_wh"], t["status"]) == (True, 550, "settled")
    anchor = _one(gw_engine, MeterAnchor, node=s)
    assert (anchor["total_wh"], anchor["merkle_root"]) == (550, "0x" + "cd" * 32)
