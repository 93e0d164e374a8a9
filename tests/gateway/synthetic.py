"""Synthetic domain events (as documented in gateway/projections/README.md).

The trading, metering, settlement, reputation, surveillance and certificate contracts do
not exist yet; these events, stored through the indexer's own write path, exercise the
projectors and the explorer pages of those domains. They sit in blocks far above the test
chain so they never collide with real ones.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from gateway.decode import DecodedEvent
from gateway.indexer import Indexer
from tests.gateway.conftest import node

BASE_BLOCK = 5_000_000
BASE_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z
REGULATOR = "0x00000000000000000000000000000000000000AA"

_seq = 0


def ev(block: int, name: str, contract: str, **args: Any) -> DecodedEvent:
    global _seq
    _seq += 1
    return DecodedEvent(
        block_number=BASE_BLOCK + block,
        block_hash="0x" + f"{BASE_BLOCK + block:064x}",
        tx_hash="0x" + f"{_seq:064x}",
        tx_index=0,
        log_index=_seq,
        contract=contract,
        address="0x" + "11" * 20,
        event=name,
        args={
            k: (str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
            for k, v in args.items()
        },
        block_time=BASE_TIME + block * 900,
    )


def market_events() -> list[DecodedEvent]:
    s, b = node(1), node(2)
    return [
        ev(1, "NodeRegistered", "NodeRegistry", node=s, kind=0, region="Tangshan"),
        ev(1, "NodeRegistered", "NodeRegistry", node=b, kind=1, region="Langfang"),
        ev(2, "NodeApproved", "NodeRegistry", node=s, verifier=REGULATOR),
        ev(2, "NodeApproved", "NodeRegistry", node=b, verifier=REGULATOR),
        ev(3, "BondDeposited", "NodeRegistry", node=s, amountFen=500_000_00),
        ev(3, "CreditLevelSet", "NodeRegistry", node=s, level=4),
        ev(
            4,
            "ListingPosted",
            "Trading",
            listingId=1,
            maker=s,
            side=0,
            energyWh=5_000_000,
            priceFenPerMwh=35_000,
            period=202601,
            region="Tangshan",
        ),
        ev(
            5,
            "TradeCreated",
            "Trading",
            tradeId=7,
            listingId=1,
            taker=b,
            energyWh=2_000_000,
            prepaymentFen=70_000,
        ),
        ev(
            6,
            "DispatchVerdictRecorded",
            "DispatchResults",
            tradeId=7,
            accepted=True,
            reason="secure",
        ),
        ev(
            7,
            "MeterTotalsAnchored",
            "MeterOracle",
            node=s,
            period=202601,
            tradeId=7,
            merkleRoot="0x" + "ab" * 32,
            totalWh=1_900_000,
            readingCount=96,
        ),
        ev(
            7, "TradeMetered", "MeterOracle", tradeId=7, deliveredWh=1_900_000, consumedWh=1_950_000
        ),
        ev(
            8,
            "TradeSettled",
            "Settlement",
            tradeId=7,
            paidToSellerFen=66_500,
            refundFen=3_500,
            transmissionFeeFen=1_200,
            deviationFen=-150,
        ),
        ev(9, "RatingSubmitted", "Reputation", tradeId=7, rater=b, ratee=s, score=5),
        ev(9, "RatingSubmitted", "Reputation", tradeId=7, rater=s, ratee=b, score=4),
        ev(9, "ReputationUpdated", "Reputation", node=s, reputation=820),
        ev(9, "ReputationUpdated", "Reputation", node=b, reputation=640),
        ev(
            10,
            "CertificateIssued",
            "Certificates",
            certificateId=3,
            owner=s,
            energyWh=1_000_000,
            source=0,
            tradeId=7,
        ),
        ev(10, "QuotaAssigned", "Certificates", account=b, year=2026, quotaWh=3_000_000),
        ev(11, "CertificateTransferred", "Certificates", certificateId=3, **{"from": s, "to": b}),
        ev(12, "CertificateRetired", "Certificates", certificateId=3, owner=b, year=2026),
        ev(
            13,
            "ViolationReported",
            "Surveillance",
            reportId=1,
            reporter=b,
            suspect=s,
            indicator="wash-trading",
            score=91,
            tradeId=7,
        ),
        ev(
            14,
            "ViolationRuled",
            "Surveillance",
            reportId=1,
            regulator=REGULATOR,
            confirmed=True,
            bondPenaltyFen=10_000_00,
            reputationPenalty=50,
        ),
        ev(14, "BondSlashed", "NodeRegistry", node=s, amountFen=10_000_00),
        ev(15, "SomethingNobodyProjects", "Trading", tradeId=7, note="ignored by projectors"),
        ev(15, "TradeCreated", "Trading", listingId=1, energyWh=1),  # lacks tradeId: skipped
    ]


def store(indexer: Indexer, engine: Engine, events: list[DecodedEvent]) -> None:
    """Store ``events`` through the indexer's write path (rows, refs, projections)."""
    headers: dict[int, Any] = {}
    for e in events:
        headers[e.block_number] = {
            "hash": e.block_hash,
            "parentHash": "0x" + f"{e.block_number - 1:064x}",
            "timestamp": e.block_time,
            "transactions": [],
        }
    with engine.begin() as conn:
        indexer._store(conn, events, headers)
