"""The benchmark harness on a real anvil: stuck transactions are kicked, ``evm_revert``
brings state and nonces back, and one full lifecycle pipeline settles every trade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradeStatus
from scripts.bench.common import BenchChain, Blaster, Call, bench_chain, node_account, role
from scripts.bench.lifecycle import DISPATCH_BATCH, lifecycle_rate
from scripts.bench.market import PRICE, TAKE_WH, traders


@pytest.fixture(scope="module")
def chain() -> Iterator[BenchChain]:
    with bench_chain() as c:
        yield c


def _approvals(chain: BenchChain, count: int, amount: int) -> list[Call]:
    token = chain.client(SettlementTokenClient, role("OPERATOR"))
    spender = node_account(500).address
    return [
        Call(node_account(501 + i % 3), token.address, token.encode("approve", spender, amount))
        for i in range(count)
    ]


@pytest.mark.slow
def test_blaster_kicks_a_chunk_the_node_does_not_mine(chain: BenchChain) -> None:
    rpc = chain.rpc()
    rpc.call("evm_setAutomine", [False])
    try:
        blaster = Blaster(chain, threads=1, batch=6)
        result = blaster.run(_approvals(chain, 6, 7))
    finally:
        rpc.call("evm_setAutomine", [True])
    assert [int(r["status"], 16) for r in result.receipts] == [1] * 6
    assert blaster.kicks == 1
    assert len({r["blockNumber"] for r in result.receipts}) == 1
    token = chain.client(SettlementTokenClient, role("OPERATOR"))
    assert token.allowance(node_account(501).address, node_account(500).address) == 7


@pytest.mark.slow
def test_revert_restores_state_and_the_harness_nonces(chain: BenchChain) -> None:
    token = chain.client(SettlementTokenClient, role("OPERATOR"))
    owner, spender = node_account(501).address, node_account(500).address
    blaster = Blaster(chain, threads=2, batch=3)
    blaster.run(_approvals(chain, 3, 11))
    snap = chain.snapshot()
    blaster.run(_approvals(chain, 3, 12))
    assert token.allowance(owner, spender) == 12
    snap = chain.revert(snap, blaster)
    assert token.allowance(owner, spender) == 11
    result = blaster.run(_approvals(chain, 3, 13))  # nonces re-read after the revert
    assert blaster.kicks == 0
    assert [int(r["status"], 16) for r in result.receipts] == [1, 1, 1]
    assert token.allowance(owner, spender) == 13


@pytest.mark.slow
def test_lifecycle_settles_every_trade_it_times() -> None:
    with bench_chain() as chain:
        blaster = Blaster(chain, threads=4, batch=10)
        t = traders(chain, sellers=2, buyers=4, blaster=blaster)
        life = lifecycle_rate(chain, t, quick=True, blaster=blaster, count=24)
        stages = {name: int(v["txs"]) for name, v in life.details["stages"].items()}
        assert stages == {
            "post": 24,
            "take": 24,
            "dispatch": -(-24 // DISPATCH_BATCH),
            "meter_root": 1,
            "meter_totals": 6,
            "open_settlement": 1,
            "settle": 1,
        }
        assert life.details["lifecycles"] == 24
        assert life.per_s > 0
        market, period = t.market, life.details["period"]
        trades = market.period_trades(period, 0, 100)
        assert len(trades) == 24
        assert {tr.status for tr in trades} == {TradeStatus.SETTLED}
        engine = chain.client(SettlementEngineClient, role("OPERATOR"))
        # each seller sold 12 whole listings of TAKE_WH at PRICE, all executed
        per_trade_fen = TAKE_WH * PRICE // 1_000_000
        for seller in t.sellers:
            assert engine.claimable_of(seller.account.address) == 12 * per_trade_fen
