"""Bench section ``stress``: a 17x price move with several nodes short, through the default
waterfall (docs/defaults.md).

One delivery day: :data:`SELLERS` sellers and :data:`BUYERS` buyers (credit level C, the
required bond of 1,000,000 CNY each and nothing more), every node a default fund member
(10 % of its required bond at admission). Each buyer buys :data:`TRADE_WH` at the day's
average price :data:`AVG_PRICE_FEN_PER_MWH`; dispatch executes every trade in full. On one
interval the imbalance price moves to 17x the day's average and :data:`SHORT_WH` buyers
consume more than they bought (short): their ramp-up charge (formula 3) is priced at that
interval's price (the period's a' here, as the deviation is all in that interval). They
give the engine no wallet allowance, so each charge runs the waterfall: bond, then the
fund, then the loss allocated pro rata to the members' contributions.

Figures: unfunded obligations after the waterfall, the members having paid their
assessments (target 0: the balancing account is paid in full), the loss allocated to the
members, the fund's use (paid out / held before), the charges and the defaults; the
details list the losses by rule and every short node's split.
"""

from __future__ import annotations

from typing import Any

from ledger.clients.defaults import DefaultFundClient
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.registry import NodeKind, Side
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, TradingMarketClient
from ledger.units import fen_to_cny
from oracle.eip712 import dispatch_typed_data, node_total_leaf, sign_typed
from oracle.merkle import MerkleTree
from scripts.bench.common import (
    BenchChain,
    NodeSpec,
    bench_chain,
    define_tariff,
    node_account,
    onboard_many,
    open_period,
    role,
)
from scripts.bench.lifecycle import BALANCING_N, configure_settlement
from scripts.bench.report import Section

SELLERS = 4
BUYERS = 8
#: Energy each buyer buys, Wh (10 MWh).
TRADE_WH = 10_000_000
#: The day's average price, fen/MWh (400 CNY/MWh).
AVG_PRICE_FEN_PER_MWH = 400_000
#: The move on the stressed interval.
PRICE_MULTIPLE = 17
#: How far each short buyer is short, Wh (buyers not listed are balanced).
SHORT_WH = (5_000_000, 12_000_000, 20_000_000, 30_000_000)
FUNDS_FEN = 50_000_000


def _nodes() -> list[NodeSpec]:
    sellers = [NodeSpec(i, NodeKind.WIND, Side.SELLER, 0, 50_000) for i in range(1, SELLERS + 1)]
    buyers = [NodeSpec(100 + i, NodeKind.RETAILER, Side.BUYER, 3) for i in range(1, BUYERS + 1)]
    return sellers + buyers


def _trade_all(chain: BenchChain, period_id: int, nodes: list[NodeSpec]) -> list[int]:
    """Each buyer takes one seller's listing of TRADE_WH (sellers round robin)."""
    sellers = [n for n in nodes if n.side == Side.SELLER]
    buyers = [n for n in nodes if n.side == Side.BUYER]
    trades: list[int] = []
    for i, b in enumerate(buyers):
        s = chain.client(TradingMarketClient, sellers[i % len(sellers)].account)
        receipt = s.post(ListingSide.SELL, period_id, 0, 95, TRADE_WH, AVG_PRICE_FEN_PER_MWH)
        listing = s.posted_listing_id(receipt)
        taker = chain.client(TradingMarketClient, b.account)
        trades.append(taker.created_trade_id(taker.take(listing, TRADE_WH)))
    return trades


def _metered_totals(nodes: list[NodeSpec]) -> dict[str, tuple[int, int]]:
    """(importWh, exportWh) per node: sellers deliver what they sold (two trades each),
    the first len(SHORT_WH) buyers consume SHORT_WH more than they bought."""
    totals: dict[str, tuple[int, int]] = {}
    buyer = 0
    for n in nodes:
        if n.side == Side.SELLER:
            totals[str(n.account.address)] = (0, TRADE_WH * BUYERS // SELLERS)
            continue
        extra = SHORT_WH[buyer] if buyer < len(SHORT_WH) else 0
        totals[str(n.account.address)] = (TRADE_WH + extra, 0)
        buyer += 1
    return totals


def _dispatch_and_meter(
    chain: BenchChain, period_id: int, trades: list[int], totals: dict[str, tuple[int, int]]
) -> None:
    results = chain.client(DispatchResultsClient, role("METER_ORACLE"))
    rows, signatures = [], []
    for tid in trades:
        message = {
            "tradeId": tid,
            "period": period_id,
            "executedWh": TRADE_WH,
            "curtailedWh": 0,
            "reasonCode": 0,
        }
        full = dispatch_typed_data(message, chain.w3.eth.chain_id, results.address)
        rows.append((tid, period_id, TRADE_WH, 0, 0))
        signatures.append(sign_typed(role("DISPATCH"), full))
    results.submit_results(rows, signatures)
    oracle = chain.client(MeterOracleClient, role("METER_ORACLE"))
    leaves_rows = [(a, period_id, i, e, 96, b"\x11" * 32) for a, (i, e) in totals.items()]
    tree = MerkleTree([node_total_leaf(*row) for row in leaves_rows])
    oracle.post_period(period_id, tree.root, len(leaves_rows), 96 * len(leaves_rows))
    for index, row in enumerate(leaves_rows):
        oracle.submit_node_total(row, tree.proof(index))


def _pay_assessments(chain: BenchChain, nodes: list[NodeSpec], owed: dict[str, int]) -> None:
    """Every member pays its share of the allocated loss from its wallet."""
    for n in nodes:
        amount = owed[n.account.address]
        if not amount:
            continue
        fund = chain.client(DefaultFundClient, n.account)
        chain.client(SettlementTokenClient, n.account).approve(fund.address, amount)
        fund.pay_assessment(n.account.address)


def _fund_members(chain: BenchChain, nodes: list[NodeSpec]) -> DefaultFundClient:
    for n in nodes:
        fund = chain.client(DefaultFundClient, n.account)
        chain.client(SettlementTokenClient, n.account).approve(
            fund.address, fund.contribution_fen_of(n.account.address)
        )
        fund.contribute(n.account.address)
    return chain.client(DefaultFundClient, role("OPERATOR"))


def run(section: Section, quick: bool) -> None:
    """The scenario above (one size: ``quick`` runs the same small day)."""
    with bench_chain() as chain:
        define_tariff(chain)
        configure_settlement(chain)
        nodes = _nodes()
        onboard_many(chain, nodes, extra_bond_fen=0, funds_fen=FUNDS_FEN)
        fund = _fund_members(chain, nodes)
        fund_before = fund.fund_fen()
        period = open_period(chain, taking_in_s=1, days_open=1)
        chain.advance(2)
        trades = _trade_all(chain, period.id, nodes)
        _dispatch_and_meter(chain, period.id, trades, _metered_totals(nodes))
        stress_rate = AVG_PRICE_FEN_PER_MWH * PRICE_MULTIPLE
        dispatcher = chain.client(SettlementEngineClient, role("DISPATCH"))
        dispatcher.set_deviation_rates(period.id, AVG_PRICE_FEN_PER_MWH, stress_rate)
        opens_at = max(chain.block_time() + 10, period.delivery_end)
        chain.client(DispatchResultsClient, role("OPERATOR")).set_settlement_opens_at(
            period.id, opens_at
        )
        chain.advance(opens_at - chain.block_time() + 1)
        engine = chain.client(SettlementEngineClient, node_account(BALANCING_N))
        engine.settle_batch(trades)
        _waterfall(section, chain, engine, fund, nodes, period.id, fund_before)


def _waterfall(
    section: Section,
    chain: BenchChain,
    engine: SettlementEngineClient,
    fund: DefaultFundClient,
    nodes: list[NodeSpec],
    period_id: int,
    fund_before: int,
) -> None:
    rules = {"wallet": 0, "bond": 0, "fund": 0, "allocated": 0, "unallocated": 0}
    charges = 0
    splits: list[dict[str, Any]] = []
    for n in nodes:
        receipt = engine.settle_deviation(n.account.address, period_id)
        for col in engine.events(receipt, "DeviationCollected"):
            a = col["args"]
            charges += a["fromCreditFen"] + a["fromWalletFen"] + a["fromBondFen"] + a["debtFen"]
            rules["wallet"] += a["fromCreditFen"] + a["fromWalletFen"]
            rules["bond"] += a["fromBondFen"]
            split: dict[str, Any] = {"node": n.account.address, **{k: a[k] for k in a}}
            for cov in fund.events(receipt, "DefaultCovered"):
                rules["fund"] += cov["args"]["fromFundFen"]
                split["fromFundFen"] = cov["args"]["fromFundFen"]
            for alloc in fund.events(receipt, "LossAllocated"):
                rules["allocated"] += alloc["args"]["amountFen"]
            for lost in fund.events(receipt, "LossUnallocated"):
                rules["unallocated"] += lost["args"]["amountFen"]
            splits.append(split)
    pending = fund.unfunded_fen()
    assessments = {str(n.account.address): fund.assessment_of(n.account.address) for n in nodes}
    _pay_assessments(chain, nodes, assessments)
    unfunded = fund.unfunded_fen()
    defaults = sum(1 for s in splits if s["debtFen"])
    section.add(
        "unfunded_fen",
        "unfunded obligations after the waterfall (balancing account short)",
        unfunded,
        "fen",
        target="0",
        ok=unfunded == 0,
    )
    section.add("allocated_fen", "loss allocated pro rata to the members", pending, "fen")
    section.add(
        "fund_use",
        "default fund paid out / held before",
        round(rules["fund"] / fund_before, 4) if fund_before else None,
        target="<= 1",
    )
    section.add("fund_paid_fen", "default fund paid to the balancing account", rules["fund"], "fen")
    section.add("charges_fen", "ramp-up charges of the short nodes", charges, "fen")
    section.add("defaults", "nodes whose charge exceeded their bond", defaults)
    section.details.update(
        {
            "price_move": f"{PRICE_MULTIPLE}x {fen_to_cny(AVG_PRICE_FEN_PER_MWH)} CNY/MWh",
            "short_wh": list(SHORT_WH),
            "fund_before_fen": fund_before,
            "fund_after_fen": fund.fund_fen(),
            "losses_by_rule_fen": rules,
            "splits": splits,
            "assessments_fen": assessments,
            "chain_time": chain.block_time(),
        }
    )
