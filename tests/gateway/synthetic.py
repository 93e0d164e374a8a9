"""Synthetic domain events, shaped as the suite contracts emit them (names and arguments
as in contracts/interfaces/*.sol and in a real demo's ``gw_events``), plus a few older
documented shapes the projectors still accept.

Stored through the indexer's own write path, they exercise the projectors and the explorer
pages without running a whole market. They sit in blocks far above the test chain so they
never collide with real ones.
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
ZERO = "0x" + "00" * 20
VINTAGE = 202601


def token_id(type_id: int, generator: str, vintage: int) -> int:
    """GreenCertificate's token id: ``type << 248 | generator << 64 | vintage``."""
    return (type_id << 248) | (int(generator, 16) << 64) | vintage


def b32(text: str) -> str:
    return "0x" + text.encode().ljust(32, b"\0").hex()


_seq = 0


def ev(block: int, name: str, contract: str, _tx: int | None = None, **args: Any) -> DecodedEvent:
    """One event; events given the same ``_tx`` share a transaction hash."""
    global _seq
    _seq += 1
    return DecodedEvent(
        block_number=BASE_BLOCK + block,
        block_hash="0x" + f"{BASE_BLOCK + block:064x}",
        tx_hash="0x" + f"{(_tx if _tx is not None else 10**9 + _seq):064x}",
        tx_index=0,
        log_index=_seq,
        contract=contract,
        address="0x" + "11" * 20,
        event=name,
        args={k: _norm(v) for k, v in args.items()},
        block_time=BASE_TIME + block * 900,
    )


def _norm(v: Any) -> Any:
    if isinstance(v, list):
        return [_norm(x) for x in v]
    return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


def market_events() -> list[DecodedEvent]:
    s, b = node(1), node(2)
    wind = token_id(2, s, VINTAGE)
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
        # SettlementEngine: the fees, then TradeSettled (seller's credit, refund), in one tx
        ev(8, "TransmissionFeePaid", "SettlementEngine", 8, tradeId=7, amountFen=700),
        ev(8, "TransmissionFeePaid", "SettlementEngine", 8, tradeId=7, amountFen=500),
        ev(8, "RemainderPaid", "SettlementEngine", 8, tradeId=7, amountFen=1),
        ev(
            8,
            "TradeSettled",
            "SettlementEngine",
            8,
            tradeId=7,
            seller=s,
            buyer=b,
            period=VINTAGE,
            energyWh=2_000_000,
            executedWh=1_900_000,
            curtailedWh=100_000,
            substitutedWh=0,
            failed=False,
            reasonCode=0,
            priceFenPerMwh=35_000,
            sellerFen=66_500,
            refundFen=3_500,
        ),
        ev(9, "RatingSubmitted", "ReputationLedger", tradeId=7, rater=b, ratee=s, score=5),
        ev(9, "RatingSubmitted", "ReputationLedger", tradeId=7, rater=s, ratee=b, score=4),
        ev(9, "ReputationUpdated", "ReputationLedger", node=s, reputation=820),
        ev(9, "ReputationUpdated", "ReputationLedger", node=b, reputation=640),
        ev(
            10,
            "QuotaSet",
            "QuotaLedger",
            period=VINTAGE,
            weightBps=1800,
            deadline=BASE_TIME + 86_400,
            fineRateFenPerMwh=8000,
            regulator=REGULATOR,
        ),
        ev(
            10,
            "TransferSingle",
            "GreenCertificate",
            10,
            operator=REGULATOR,
            id=wind,
            value=3,
            **{"from": ZERO, "to": s},
        ),
        ev(
            10,
            "CertificatesIssued",
            "GreenCertificate",
            10,
            tokenId=wind,
            generator=s,
            period=VINTAGE,
            typeId=2,
            amount=3,
            generationWh=3_400_000,
            carriedInWh=0,
            carriedOutWh=400_000,
        ),
        ev(
            11,
            "TransferSingle",
            "GreenCertificate",
            operator=s,
            id=wind,
            value=2,
            **{"from": s, "to": b},
        ),
        ev(
            12,
            "TransferSingle",
            "GreenCertificate",
            12,
            operator=b,
            id=wind,
            value=1,
            **{"from": b, "to": ZERO},
        ),
        ev(
            12,
            "CertificatesRetired",
            "GreenCertificate",
            12,
            retirementId=1,
            tokenId=wind,
            beneficiary=b,
            holder=b,
            amount=1,
            period=VINTAGE,
            tradeId=7,
            by=b,
        ),
        ev(
            12,
            "CoverageCredited",
            "QuotaLedger",
            12,
            party=b,
            period=VINTAGE,
            retirementId=1,
            tokenId=wind,
            amount=1,
            coveredWh=1_000_000,
            totalCoveredWh=1_000_000,
            typeWeightBps=10_000,
        ),
        ev(
            12,
            "ComplianceAssessed",
            "QuotaLedger",
            party=b,
            period=VINTAGE,
            obligationWh=3_000_000,
            coveredWh=1_000_000,
            shortfallWh=2_000_000,
            fineFen=16_000,
            paidFen=16_000,
            slashedFen=0,
            unpaidFen=0,
            by=REGULATOR,
        ),
        ev(
            13,
            "ViolationReported",
            "SurveillanceDesk",
            reportId=1,
            reporter=b,
            accused=s,
            modelId=b32("wash-trading"),
            featureHash="0x" + "cd" * 32,
            scorePpm=910_000,
            firstPeriod=VINTAGE,
            lastPeriod=VINTAGE,
            tradeIds=[7, 8],
            ruleBy=BASE_TIME + 30 * 86_400,
        ),
        ev(
            13,
            "ResponseFiled",
            "SurveillanceDesk",
            reportId=1,
            accused=s,
            responseHash="0x" + "ef" * 32,
        ),
        ev(
            14,
            "ViolationRuled",
            "SurveillanceDesk",
            14,
            reportId=1,
            accused=s,
            confirmed=True,
            bondPenaltyFen=10_000_00,
            slashedFen=10_000_00,
            reputationPenalty=50,
            reasonHash="0x" + "12" * 32,
            regulator=REGULATOR,
        ),
        ev(
            14,
            "ViolationAnnounced",
            "SurveillanceDesk",
            14,
            accused=s,
            reportId=1,
            modelId=b32("wash-trading"),
            featureHash="0x" + "cd" * 32,
            slashedFen=10_000_00,
            reputationPoints=50,
            reasonHash="0x" + "12" * 32,
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


def many_trades(count: int, first_id: int = 100) -> list[DecodedEvent]:
    """``count`` more trades on listing 1 (ids from ``first_id``), for paging and filters:
    periods alternate between VINTAGE and VINTAGE + 1, buyers between node 2 and node 3,
    every third trade settles; plus listing 2, expired in chain time, and listing 3, open
    until 2100."""
    s = node(1)
    out = [
        ev(20, "ListingPosted", "Trading", listingId=2, maker=s, side=0, energyWh=1_000_000,
           priceFenPerMwh=41_000, period=VINTAGE, region="Tangshan", expiresAt=BASE_TIME + 3600),
        ev(20, "ListingPosted", "Trading", listingId=3, maker=s, side=1, energyWh=1_000_000,
           priceFenPerMwh=39_000, period=VINTAGE, region="Tangshan", expiresAt=4_102_444_800),
    ]  # fmt: skip
    for i in range(count):
        trade_id = first_id + i
        buyer = node(2 + i % 2)
        period = VINTAGE + i % 2
        out.append(
            ev(21 + i, "TradeCreated", "Trading", tradeId=trade_id, listingId=1, taker=buyer,
               energyWh=10_000 + i, prepaymentFen=350 + i, period=period)
        )  # fmt: skip
        if i % 3 == 0:
            out.append(
                ev(21 + i, "TradeSettled", "SettlementEngine", tradeId=trade_id, period=period,
                   buyer=buyer, seller=s, energyWh=10_000 + i, executedWh=10_000 + i,
                   curtailedWh=0, reasonCode=0, substitutedWh=0, failed=False)
            )  # fmt: skip
    return out


def many_certificates(count: int, first_block: int = 400) -> list[DecodedEvent]:
    """``count`` more vintages (from VINTAGE + 1), for the certificate, quota and rating
    lists: per vintage a quota rule, a token of node 1 and one of node 2 issued in the same
    block, node 3's assessed quota (short every third vintage, else compliant), and a
    rating of node 1 by node 3."""
    out = []
    for i in range(count):
        block, vintage = first_block + i, VINTAGE + 1 + i
        out.append(
            ev(block, "QuotaSet", "QuotaLedger", period=vintage, weightBps=1000 + i,
               deadline=BASE_TIME + 86_400 * (i + 2), fineRateFenPerMwh=8000, regulator=REGULATOR)
        )  # fmt: skip
        for generator in (node(1), node(2)):
            out.append(
                ev(block, "CertificatesIssued", "GreenCertificate",
                   tokenId=token_id(2, generator, vintage), generator=generator, period=vintage,
                   typeId=2, amount=1 + i, generationWh=1_000_000 * (i + 1), carriedInWh=0,
                   carriedOutWh=0)
            )  # fmt: skip
        shortfall = 1_000_000 if i % 3 == 0 else 0
        out.append(
            ev(block, "ComplianceAssessed", "QuotaLedger", party=node(3), period=vintage,
               obligationWh=2_000_000, coveredWh=2_000_000 - shortfall, shortfallWh=shortfall,
               fineFen=8 * shortfall // 1000, paidFen=8 * shortfall // 1000, slashedFen=0,
               unpaidFen=0, by=REGULATOR)
        )  # fmt: skip
        out.append(
            ev(block, "RatingSubmitted", "ReputationLedger", tradeId=100 + i, rater=node(3),
               ratee=node(1), score=1 + i % 5)
        )  # fmt: skip
    return out
