"""Section 3: gas per operation, as a multiple of a plain token transfer, with 10 and with
1,000 open listings.

Each figure is the receipt's ``gasUsed`` (what a sender pays, intrinsic 21,000 and calldata
included). Whether an operation grows with the open-listing count is judged on execution
gas (``gasUsed`` minus 21,000 and calldata: a 2-byte listing id costs a few gas more
calldata than a 1-byte one) and each measured transaction gets a fresh block timestamp,
as in tests/trading/test_gas.py. Operations whose contracts do not exist yet are n/a.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, TradingMarketClient
from oracle.eip712 import dispatch_typed_data, node_total_leaf, sign_typed
from oracle.merkle import MerkleTree
from scripts.bench.common import BenchChain, Blaster, bench_chain, role
from scripts.bench.market import PRICE, Traders, traders
from scripts.bench.report import Section

#: Leaves of the node-total tree of the meter-total figure: the jibei preset's node count.
JIBEI_NODES = 3_513
#: Readings per anchored batch (the oracle's default batch size).
BATCH_READINGS = 1_000

#: Operations whose contract is not in the suite yet, and why.
NOT_YET: dict[str, str] = {
    "settle": "SettlementEngine landed in the tree while this benchmark was written; "
    "its gas is not measured yet",
    "rate": "ReputationLedger is landing in the tree right now; rating gas is not measured yet",
    "report": "SurveillanceDesk is landing in the tree right now; report gas not measured yet",
    "issue_certificate": "GreenCertificate is landing in the tree right now; not measured yet",
    "retire": "GreenCertificate is landing in the tree right now; not measured yet",
}
LABELS = {
    "transfer": "token transfer (baseline)",
    "post": "post listing",
    "take": "take (partial)",
    "cancel": "cancel listing",
    "dispatch_result": "dispatch result (1 per tx)",
    "anchor": f"anchor batch ({BATCH_READINGS:,} readings)",
    "meter_total": f"meter total (proof over {JIBEI_NODES:,} nodes)",
    "settle": "settle",
    "rate": "rate",
    "report": "violation report",
    "issue_certificate": "issue certificate",
    "retire": "retire certificate",
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
        out["dispatch_result"] = self._one(lambda: self._dispatch(trade_id, period))
        out["anchor"] = self._one(self._anchor)
        out["meter_total"] = self._meter_total()
        return out

    def _dispatch(self, trade_id: int, period: int) -> TxReceipt:
        message = {
            "tradeId": trade_id,
            "period": period,
            "executedWh": 100_000,
            "curtailedWh": 0,
            "reasonCode": 0,
        }
        full = dispatch_typed_data(message, self.chain.ctx.w3.eth.chain_id, self.dispatch.address)
        signature = sign_typed(role("DISPATCH"), full)
        return self.dispatch.submit_results([(trade_id, period, 100_000, 0, 0)], [signature])

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


def fill(chain: BenchChain, t: Traders, target_open: int) -> None:
    """Post sell listings from the second seller until ``target_open`` are open."""
    count = target_open - t.market.open_listing_count()
    if count > 0:
        Blaster(chain, threads=2, batch=50).run(t.post_calls(count, seller_index=1))
    if t.market.open_listing_count() < target_open:
        raise RuntimeError("could not fill the open listings")


def run(section: Section, quick: bool) -> None:
    del quick  # 1,000 open listings take a few seconds: always measured in full
    with bench_chain() as chain:
        t = traders(chain, sellers=2, buyers=2, listings_per_seller=1)
        meter = Meter(chain, t)
        meter.measure()  # warm-up: first writes of fresh slots
        fill(chain, t, 10)
        at_10 = meter.measure()
        fill(chain, t, 1_000)
        at_1000 = meter.measure()
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
            "anchor_gas_per_reading",
            f"anchor gas per reading (batch of {BATCH_READINGS:,})",
            at_10["anchor"][0] / BATCH_READINGS,
            "gas",
        )
        for op, why in NOT_YET.items():
            section.na(f"gas_{op}", LABELS[op], why, "gas")
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
            }
        )
