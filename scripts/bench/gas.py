"""Section 3: gas per operation, as a multiple of a plain token transfer, with 10 and with
1,000 open listings.

Each figure is the receipt's ``gasUsed`` (what a sender pays, intrinsic 21,000 and calldata
included). Whether an operation grows with the open-listing count is judged on execution
gas (``gasUsed`` minus 21,000 and calldata: a 2-byte listing id costs a few gas more
calldata than a 1-byte one) and each measured transaction gets a fresh block timestamp,
as in tests/trading/test_gas.py.

Settle, rate, report, issue certificate and retire need a trade that went the whole way,
so each round also runs one in a delivery period of its own (posting and taking, its
DISPATCH-signed result, both parties' meter totals, settlement opened; none of it
measured) and then measures: ``SettlementEngine.settle`` of that trade (anyone), the
buyer's ``ReputationLedger.rate`` of it, a ``SurveillanceDesk.fileReport`` by another node
on the seller citing it (a model registered by REGULATOR), ``GreenCertificate.issue`` of
the (wind) seller's metered export of the period (2 MWh: 2 certificates) and the seller's
``QuotaLedger.retire`` of one of them for the buyer (REGULATOR set the period's quota).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.certificates import GreenCertificateClient, QuotaLedgerClient
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, TradingMarketClient
from oracle.eip712 import (
    dispatch_batch_typed_data,
    dispatch_typed_data,
    node_total_leaf,
    sign_typed,
)
from oracle.merkle import MerkleTree
from scripts.bench.common import (
    BenchChain,
    Blaster,
    bench_chain,
    node_account,
    open_period,
    role,
)
from scripts.bench.lifecycle import configure_settlement
from scripts.bench.market import PRICE, Traders, traders
from scripts.bench.report import Section

#: Leaves of the node-total tree of the meter-total figure: the jibei preset's node count.
JIBEI_NODES = 3_513
#: Readings per anchored batch (the oracle's default batch size).
BATCH_READINGS = 1_000
#: Demo node number of the key that settles and issues (anyone may).
SETTLER_N = 960

#: Results in the measured ``submitResults`` batch and trades in the ``settleBatch``.
DISPATCH_BATCH = 100
SETTLE_BATCH = 50
#: Fields of a DISPATCH-signed result, in the tuple order of ``submit_results``.
DISPATCH_FIELDS = ("tradeId", "period", "executedWh", "curtailedWh", "reasonCode")

#: Energy of the round's settled trade (Wh): 2 MWh, 2 certificates of the seller's export.
SETTLED_WH = 2_000_000
#: The surveillance model the reports cite (REGULATOR registers it once).
MODEL_ID = bytes(Web3.keccak(text="gridledger-bench-model"))
MODEL_THRESHOLD_PPM = 500_000
#: Quota of the settled trades' periods (retire needs one).
QUOTA_WEIGHT_BPS = 1_500
FINE_FEN_PER_MWH = 100_000
LABELS = {
    "transfer": "token transfer (baseline)",
    "post": "post listing",
    "take": "take (partial)",
    "cancel": "cancel listing",
    "dispatch_result": "dispatch result (1 per tx)",
    "anchor": f"anchor batch ({BATCH_READINGS:,} readings)",
    "meter_total": f"meter total (proof over {JIBEI_NODES:,} nodes)",
    "settle": "settle (1 trade)",
    "rate": "rate (buyer rates the seller)",
    "report": "violation report (1 evidence trade)",
    "issue_certificate": "issue certificates (2 MWh)",
    "retire": "retire certificate (1)",
}


def execution_gas(chain: BenchChain, receipt: TxReceipt) -> int:
    tx = chain.w3.eth.get_transaction(receipt["transactionHash"])
    data = bytes(HexBytes(tx["input"]))
    return int(receipt["gasUsed"]) - 21_000 - sum(16 if b else 4 for b in data)


class Meter:
    """Measures one round of every operation."""

    def __init__(self, chain: BenchChain, t: Traders) -> None:
        self.chain = chain
        self.t = t
        self.seller = chain.client(TradingMarketClient, t.sellers[0].account)
        self.buyer = chain.client(TradingMarketClient, t.buyers[0].account)
        self.buyer_token = chain.client(SettlementTokenClient, t.buyers[0].account)
        self.oracle = chain.client(MeterOracleClient, role("METER_ORACLE"))
        self.dispatch = chain.client(DispatchResultsClient, role("METER_ORACLE"))
        self.schedule = chain.client(DispatchResultsClient, role("OPERATOR"))
        self.engine = chain.client(SettlementEngineClient, node_account(SETTLER_N))
        self.rating = chain.client(ReputationLedgerClient, t.buyers[0].account)
        self.desk = chain.client(SurveillanceDeskClient, t.buyers[1].account)
        self.certs = chain.client(GreenCertificateClient, node_account(SETTLER_N))
        self.quota = chain.client(QuotaLedgerClient, role("REGULATOR"))
        self.seller_quota = chain.client(QuotaLedgerClient, t.sellers[0].account)
        configure_settlement(chain)
        chain.client(SurveillanceDeskClient, role("REGULATOR")).register_model(
            MODEL_ID, bytes(Web3.keccak(text="bench-schema")), MODEL_THRESHOLD_PPM
        )
        self.round = 0

    def _tick(self) -> None:
        self.chain.rpc().call("evm_setNextBlockTimestamp", [self.chain.block_time() + 7])

    def _one(self, send: Callable[[], TxReceipt]) -> tuple[int, int]:
        self._tick()
        receipt = send()
        return int(receipt["gasUsed"]), execution_gas(self.chain, receipt)

    def measure(self) -> dict[str, tuple[int, int]]:
        self.round += 1
        period = self.t.period.id
        out: dict[str, tuple[int, int]] = {}
        out["transfer"] = self._one(
            lambda: self.buyer_token.transfer(self.t.buyers[1].account.address, 1)
        )
        first = self.seller.posted_listing_id(
            self.seller.post(ListingSide.SELL, period, 4, 7, 1_000_000, PRICE)
        )
        box: dict[str, Any] = {}

        def post() -> TxReceipt:
            box["post"] = self.seller.post(ListingSide.SELL, period, 4, 7, 1_000_000, PRICE)
            receipt: TxReceipt = box["post"]
            return receipt

        out["post"] = self._one(post)
        second = self.seller.posted_listing_id(box["post"])

        def take() -> TxReceipt:
            box["take"] = self.buyer.take(second, 100_000)
            receipt: TxReceipt = box["take"]
            return receipt

        out["take"] = self._one(take)
        trade_id = self.buyer.created_trade_id(box["take"])
        out["cancel"] = self._one(lambda: self.seller.cancel(first))
        out["dispatch_result"] = self._one(lambda: self._dispatch(trade_id, period, 100_000))
        out["anchor"] = self._one(self._anchor)
        out["meter_total"] = self._meter_total()
        out.update(self._settled_trade_ops())
        return out

    def _dispatch(self, trade_id: int, period: int, executed_wh: int) -> TxReceipt:
        message = dict(zip(DISPATCH_FIELDS, (trade_id, period, executed_wh, 0, 0), strict=True))
        full = dispatch_typed_data(message, self.chain.ctx.w3.eth.chain_id, self.dispatch.address)
        signature = sign_typed(role("DISPATCH"), full)
        return self.dispatch.submit_results([(trade_id, period, executed_wh, 0, 0)], [signature])

    def _settled_trade_ops(self) -> dict[str, tuple[int, int]]:
        """A trade of a period of its own, dispatched, metered and open for settlement; then
        settle, rate, report, issue and retire, measured."""
        chain, seller, buyer = self.chain, self.t.sellers[0], self.t.buyers[0]
        period = open_period(chain).id
        chain.advance(61)
        listing = self.seller.posted_listing_id(
            self.seller.post(ListingSide.SELL, period, 0, 3, SETTLED_WH, PRICE)
        )
        trade_id = self.buyer.created_trade_id(self.buyer.take(listing, SETTLED_WH))
        self._dispatch(trade_id, period, SETTLED_WH)
        self._meter_and_open(period, SETTLED_WH)
        self.quota.set_quota(
            period, QUOTA_WEIGHT_BPS, chain.block_time() + 30 * 86_400, FINE_FEN_PER_MWH
        )
        out: dict[str, tuple[int, int]] = {}
        out["settle"] = self._one(lambda: self.engine.settle(trade_id))
        out["rate"] = self._one(lambda: self.rating.rate(trade_id, 4))
        feature = bytes(Web3.keccak(text=f"bench-features/{self.round}"))
        out["report"] = self._one(
            lambda: self.desk.file_report(
                seller.account.address,
                MODEL_ID,
                feature,
                MODEL_THRESHOLD_PPM + 100_000,
                period,
                period,
                [trade_id],
            )
        )
        box: dict[str, TxReceipt] = {}

        def issue() -> TxReceipt:
            box["issue"] = self.certs.issue(seller.account.address, period)
            return box["issue"]

        out["issue_certificate"] = self._one(issue)
        issued = self.certs.issued_event(box["issue"])
        if int(issued["amount"]) != SETTLED_WH // 1_000_000:
            raise RuntimeError(f"issued {issued['amount']} certificates, expected 2")
        token_id = int(issued["tokenId"])
        out["retire"] = self._one(
            lambda: self.seller_quota.retire(token_id, 1, buyer.account.address, period)
        )
        return out

    def _meter_and_open(self, period: int, energy_wh: int) -> None:
        """Both parties' meter totals of ``period`` (the seller exported ``energy_wh``, the
        buyer imported it), then settlement of the period opens."""
        chain, seller, buyer = self.chain, self.t.sellers[0], self.t.buyers[0]
        rows: list[tuple[str, int, int, int, int, bytes]] = [
            (seller.account.address, period, 0, energy_wh, 96, b"\x33" * 32),
            (buyer.account.address, period, energy_wh, 0, 96, b"\x44" * 32),
        ]
        tree = MerkleTree([node_total_leaf(*r) for r in rows])
        self.oracle.post_period(period, tree.root, len(rows), 96 * len(rows))
        for i, row in enumerate(rows):
            self.oracle.submit_node_total(row, tree.proof(i))
        self.schedule.set_settlement_opens_at(period, chain.block_time() + 5)
        chain.advance(6)

    def batches(self) -> dict[str, float]:
        """Per-item gas of the batch forms: one ``submitResultBatch`` of DISPATCH_BATCH results
        (one DISPATCH signature over the batch)
        and one ``settleBatch`` of SETTLE_BATCH of those trades (a period of their own)."""
        period = open_period(self.chain).id
        self.chain.advance(61)
        each_wh = 10_000
        listing = self.seller.posted_listing_id(
            self.seller.post(ListingSide.SELL, period, 0, 3, each_wh * DISPATCH_BATCH, PRICE)
        )
        ids = [
            self.buyer.created_trade_id(self.buyer.take(listing, each_wh))
            for _ in range(DISPATCH_BATCH)
        ]
        results = [(i, period, each_wh, 0, 0) for i in ids]
        messages = [dict(zip(DISPATCH_FIELDS, r, strict=True)) for r in results]
        full = dispatch_batch_typed_data(
            messages, self.chain.ctx.w3.eth.chain_id, self.dispatch.address
        )
        signature = sign_typed(role("DISPATCH"), full)
        dispatch_gas, _ = self._one(lambda: self.dispatch.submit_result_batch(results, signature))
        self._meter_and_open(period, each_wh * DISPATCH_BATCH)
        settle_gas, _ = self._one(lambda: self.engine.settle_batch(ids[:SETTLE_BATCH]))
        return {
            "dispatch_result_batch_per_result": dispatch_gas / DISPATCH_BATCH,
            "settle_batch_per_trade": settle_gas / SETTLE_BATCH,
        }

    def _anchor(self) -> TxReceipt:
        batch_id = int(self.oracle.next_batch_id())
        root = bytes(Web3.keccak(text=f"bench-batch-{batch_id}"))
        return self.oracle.anchor_batch(batch_id, root, BATCH_READINGS, 1_767_225_600)

    def _meter_total(self) -> tuple[int, int]:
        oracle_period = 900_000 + self.round
        node = self.t.buyers[0].account.address
        rows: list[tuple[str, int, int, int, int, bytes]] = [
            (node, oracle_period, 1_234_567, 0, 96, b"\x11" * 32)
        ]
        rows += [
            (f"0x{n:040x}", oracle_period, 1_000 + n, 0, 96, b"\x22" * 32)
            for n in range(1, JIBEI_NODES)
        ]
        tree = MerkleTree([node_total_leaf(*r) for r in rows])
        self._tick()
        self.oracle.post_period(oracle_period, tree.root, len(rows), 96 * len(rows))
        return self._one(lambda: self.oracle.submit_node_total(rows[0], tree.proof(0)))


def fill(chain: BenchChain, t: Traders, target_open: int) -> int:
    """Post sell listings from the second seller until ``target_open`` are open; how many
    stalled chunks the harness had to kick (see :mod:`scripts.bench.common`)."""
    count = target_open - t.market.open_listing_count()
    blaster = Blaster(chain, threads=1, batch=50)
    if count > 0:
        blaster.run(t.post_calls(count, seller_index=1))
    if t.market.open_listing_count() < target_open:
        raise RuntimeError("could not fill the open listings")
    return blaster.kicks


def run(section: Section, quick: bool) -> None:
    del quick  # 1,000 open listings take a few seconds: always measured in full
    with bench_chain() as chain:
        t = traders(chain, sellers=2, buyers=2, listings_per_seller=1)
        meter = Meter(chain, t)
        meter.measure()  # warm-up: first writes of fresh slots
        kicks = fill(chain, t, 10)
        at_10 = meter.measure()
        kicks += fill(chain, t, 1_000)
        at_1000 = meter.measure()
        batch = meter.batches()
        base10, base1000 = at_10["transfer"][0], at_1000["transfer"][0]
        grows: list[str] = []
        for op, (gas10, exec10) in at_10.items():
            gas1000, exec1000 = at_1000[op]
            if exec1000 > exec10:
                grows.append(op)
            if op == "transfer":
                section.add("gas_transfer", LABELS[op], gas10, "gas")
                continue
            section.add(f"gas_{op}_10", f"{LABELS[op]} @10 open", gas10, "gas")
            section.add(f"gas_{op}_1000", f"{LABELS[op]} @1,000 open", gas1000, "gas")
            section.add(f"x_{op}_10", f"{LABELS[op]} ÷ transfer @10", gas10 / base10, "x")
            section.add(
                f"x_{op}_1000",
                f"{LABELS[op]} ÷ transfer @1,000",
                gas1000 / base1000,
                "x",
                target="<= @10 (no growth)",
                ok=exec1000 <= exec10,
            )
        section.add(
            "gas_dispatch_result_batch_per_result",
            f"dispatch result, per result in a batch of {DISPATCH_BATCH}",
            batch["dispatch_result_batch_per_result"],
            "gas",
            target="<= 30,000",
            ok=batch["dispatch_result_batch_per_result"] <= 30_000,
        )
        section.add(
            "gas_settle_batch_per_trade",
            f"settle, per trade in a settleBatch of {SETTLE_BATCH}",
            batch["settle_batch_per_trade"],
            "gas",
            target="<= 60,000",
            ok=batch["settle_batch_per_trade"] <= 60_000,
        )
        section.add(
            "anchor_gas_per_reading",
            f"anchor gas per reading (batch of {BATCH_READINGS:,})",
            at_10["anchor"][0] / BATCH_READINGS,
            "gas",
        )
        section.add(
            "ops_growing",
            "operations whose execution gas grows 10 -> 1,000 open",
            float(len(grows)),
            "count",
            target="0",
            ok=not grows,
        )
        section.details.update(
            {
                "at_10": {k: {"gas_used": g, "execution_gas": e} for k, (g, e) in at_10.items()},
                "at_1000": {
                    k: {"gas_used": g, "execution_gas": e} for k, (g, e) in at_1000.items()
                },
                "growing": grows,
                "open_listings_final": t.market.open_listing_count(),
                "stuck_kicks": kicks,
            }
        )
