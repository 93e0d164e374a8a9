"""A market day on a real 4-validator geth Clique network, and fault drills around its
settlement (marked ``consortium``).

The day runs through :class:`scripts.market_day.MarketDay` in real-time mode (the chain's
clock cannot be moved on a proof-of-authority chain, so every window is waited for): four
honest nodes of the jibei-mini preset, one period of two 5 s intervals, posting and
taking, the dispatch center's check and signed meter readings through the oracle, the
period's node totals. Then, with one of the four validators killed, the trades settle with
exact payments; the restarted validator catches up to the same head hash and state; a
second settlement of a trade, sent to the restarted node, reverts with
``TradeAlreadySettled`` and moves no money; the gateway indexes the chain (proof-of-
authority headers) and shows each trade settled exactly once.

geth v1.13.15 is built once into the stable cache (``GRIDLEDGER_GETH_CACHE``, default
``~/.cache/gridledger/geth-v1.13.15``); the network runs in a private tmp dir on free ports.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from gateway.app import create_app
from gateway.db import make_engine, upgrade
from gateway.indexer import Indexer
from gateway.verify import verify
from ledger import compiler
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import Trade, TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.clique import (
    CONSORTIUM_CHAIN_ID,
    Consortium,
    GethBinary,
    RpcClient,
    ensure_geth,
    find_geth,
    find_go,
    wait_until,
)
from ledger.engines.local import free_port
from ledger.errors import ContractRevertError
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account, demo_wallet_index
from ledger.scenario import REGIONS, generate
from ledger.settings import Settings
from ledger.web3factory import make_web3
from scripts.market_day import (
    BALANCING_N,
    FUND_N,
    GRID_BASE,
    REMAINDER_N,
    SETTLER_N,
    DaySchedule,
    MarketDay,
    compact_scenario,
)

pytestmark = pytest.mark.consortium

PERIOD_S = 1
VALIDATORS = 4
#: The validator killed in the drills; the day talks to another member.
VICTIM = 3
DAY_NODE, RESTARTED_NODE, GATEWAY_NODE = 1, VICTIM, 0
NODES = 4
#: Two 5 s intervals, one delivery block, a 30 s posting and taking window (posting and
#: taking take about 15 s at a 1 s block period), readings taken up to 5 s late.
SCHEDULE = DaySchedule.compact(
    interval_s=5, intervals=2, blocks=1, trading_s=30, oracle_max_age_s=5
)
TEST_SCRYPT_N = 2**14
WH_PER_MWH = 1_000_000
RATE = {r.id: r.stamp_rate_fen_per_mwh for r in REGIONS}


@dataclass
class Market:
    """The module's network and the market day run on it."""

    network: Consortium
    settings: Settings
    day: MarketDay
    trades: list[Trade]


def _wallets() -> list[str]:
    """Every demo wallet the day signs with: prefunded in the genesis (no top-ups)."""
    names = [*DEMO_ROLE_WALLETS, *(f"node-{n}" for n in range(1, NODES + 1))]
    names += [f"node-{GRID_BASE + r.id}" for r in REGIONS]
    names += [f"node-{n}" for n in (BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N)]
    return [demo_account(demo_wallet_index(name)).address for name in names]


@contextlib.contextmanager
def _private_tmp_dir() -> Iterator[Path]:
    """A tmp dir outside pytest's basetemp (other pytest sessions on the machine rotate
    old basetemps away under running nodes); GRIDLEDGER_KEEP_TEST_NETWORKS=1 keeps it."""
    path = Path(tempfile.mkdtemp(prefix="gl-consortium-market-"))
    try:
        yield path
    finally:
        if not os.environ.get("GRIDLEDGER_KEEP_TEST_NETWORKS"):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def geth() -> GethBinary:
    """geth 1.13.x: found, or built once into the stable cache (a few minutes)."""
    if find_geth() is None and find_go() is None:
        pytest.skip("neither geth 1.13.x nor a Go toolchain to build it is available")
    return ensure_geth()


def _settings(data_dir: Path, rpc_url: str) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": data_dir,
            "GRIDLEDGER_RPC_URL": rpc_url,
            "chain_id": CONSORTIUM_CHAIN_ID,
            "poa": True,
            "demo_keys": True,
            "priority_fee_wei": 1,
            "tx_timeout_s": 60.0,
            "oracle_max_age_s": 3600,
        }
    )


def _ctx_on(market: Market, node: int) -> LedgerContext:
    """A context on member ``node`` sharing the day's manifest and artifacts."""
    url = market.network.load_state().nodes[node].rpc_url
    settings = market.settings.model_copy(update={"rpc_url_override": url})
    ctx = market.day.ctx
    return LedgerContext(settings, w3=make_web3(settings), store=ctx.store, manifest=ctx.manifest)


@pytest.fixture(scope="module")
def market(geth: GethBinary, build: compiler.BuildResult) -> Iterator[Market]:
    """A 4-validator network (1 s period); the suite deployed; a compact market day run up
    to open settlement through member ``DAY_NODE``."""
    with _private_tmp_dir() as tmp:
        network = Consortium(tmp / "consortium")
        try:
            network.up(
                validators=VALIDATORS,
                period_s=PERIOD_S,
                prefund=_wallets(),
                scrypt_n=TEST_SCRYPT_N,
                geth=geth,
            )
            url = network.load_state().nodes[DAY_NODE].rpc_url
            settings = _settings(tmp / "data", url)
            ctx = LedgerContext(settings, w3=make_web3(settings))
            deploy_suite(ctx, demo_account(DEMO_ROLE_WALLETS["admin"]))
            scenario = compact_scenario(generate("jibei-mini", 1), NODES)
            day = MarketDay(ctx, scenario, lambda _message: None, schedule=SCHEDULE, workers=8)
            assert not day.clock.warps
            assert day.fund_gas() == 0  # every wallet was funded in the genesis
            for step in (
                day.tariffs,
                day.onboard,
                day.register_meters,
                day.open_period,
                day.post,
                day.take,
                day.dispatch,
                day.metering,
                day.open_settlement,
            ):
                step()
            market = ctx.client(TradingMarketClient, day.role("operator"))
            trades = [market.trade(t) for t in day.trade_ids]
            yield Market(network=network, settings=settings, day=day, trades=trades)
        finally:
            if network.exists():
                network.down(timeout_s=15)


def _rpcs(network: Consortium) -> list[RpcClient]:
    return [network.rpc(node) for node in network.load_state().nodes]


def _money(ctx: LedgerContext, market: Market) -> dict[str, tuple[int, int]]:
    """(token balance, claimable in the engine) of every account the settlement touches,
    and of the market and the engine themselves."""
    reader = ctx.client(SettlementTokenClient, market.day.role("operator"))
    engine = ctx.client(SettlementEngineClient, market.day.role("operator"))
    addresses = {t.seller for t in market.trades} | {t.buyer for t in market.trades}
    addresses |= {ctx.account(f"node-{GRID_BASE + r.id}").address for r in REGIONS}
    addresses.add(ctx.account(f"node-{REMAINDER_N}").address)
    addresses |= {ctx.manifest.address("TradingMarket"), ctx.manifest.address("SettlementEngine")}
    return {a: (reader.balance_of(a), engine.claimable_of(a)) for a in sorted(addresses)}


def _expected_changes(ctx: LedgerContext, market: Market) -> dict[str, tuple[int, int]]:
    """What settling every trade pays (token, claimable), from the contract's formulas:
    the seller is owed price x executed energy, each grid account of the route its stamp
    rate x executed energy, the remainder account the rounding; the buyer gets back the
    rest of its escrow; the engine holds what it owes."""
    results = ctx.client(DispatchResultsClient, market.day.role("operator"))
    change: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    remainder = ctx.account(f"node-{REMAINDER_N}").address
    engine = ctx.manifest.address("SettlementEngine")
    for t in market.trades:
        executed = results.result_of(t.id).executed_wh
        assert t.sum_rate_fen_per_mwh == sum(RATE[r] for r in t.route)
        seller_fen = executed * t.price_fen_per_mwh // WH_PER_MWH
        fee_fen = executed * t.sum_rate_fen_per_mwh // WH_PER_MWH
        change[t.seller][1] += seller_fen
        shares = 0
        for region in t.route:
            share = executed * RATE[region] // WH_PER_MWH
            change[ctx.account(f"node-{GRID_BASE + region}").address][1] += share
            shares += share
        change[remainder][1] += fee_fen - shares
        left = t.escrow_fen - t.paid_out_fen
        change[t.buyer][0] += left - seller_fen - fee_fen
        change[ctx.manifest.address("TradingMarket")][0] -= left
        change[engine][0] += seller_fen + fee_fen
    return {a: (c[0], c[1]) for a, c in change.items()}


def test_trades_settle_with_one_validator_down(market: Market) -> None:
    network, day = market.network, market.day
    ctx = day.ctx
    assert len(market.trades) >= 2
    assert all(t.status == TradeStatus.FORMED for t in market.trades)
    before = _money(ctx, market)
    expected = _expected_changes(ctx, market)

    network.stop_node(VICTIM, kill=True)
    assert not network.is_running(VICTIM)
    live = [n for n in range(VALIDATORS) if n != VICTIM]
    head = max(network.rpc(n).block_number() for n in live)
    network.wait_for_block(head + 3, nodes=live, timeout_s=60)
    state = network.load_state()
    live_signers = {state.nodes[n].validator for n in live}
    assert {network.rpc(0).signer_of(n) for n in range(head + 1, head + 4)} <= live_signers

    assert day.settle_trades() == len(market.trades)
    after = _money(ctx, market)
    for address, (token_before, claimable_before) in before.items():
        token_change, claimable_change = expected.get(address, (0, 0))
        assert after[address] == (
            token_before + token_change,
            claimable_before + claimable_change,
        ), address
    sellers = {t.seller for t in market.trades}
    assert all(expected[s][1] > 0 for s in sellers)
    engine = ctx.manifest.address("SettlementEngine")
    assert after[engine][0] - before[engine][0] == sum(
        c for a, (_, c) in expected.items() if a != engine
    )
    operator = ctx.client(TradingMarketClient, day.role("operator"))
    assert all(operator.trade(t.id).status == TradeStatus.SETTLED for t in market.trades)
    assert not network.is_running(VICTIM)


def test_restarted_validator_catches_up_to_the_same_head_and_state(market: Market) -> None:
    network = market.network
    rpcs = _rpcs(network)
    network.start_node(VICTIM)
    target = rpcs[0].block_number() + 2
    network.wait_for_block(target, nodes=list(range(VALIDATORS)), timeout_s=90)
    assert len({rpc.block_hash(target) for rpc in rpcs}) == 1

    def same_head() -> tuple[int, str] | None:
        heads = {rpc.head() for rpc in rpcs}
        return heads.pop() if len(heads) == 1 else None

    wait_until(same_head, timeout_s=60, interval_s=0.1, what="one common head")
    restarted = _ctx_on(market, RESTARTED_NODE)
    market_view = restarted.client(TradingMarketClient, market.day.role("operator"))
    assert [market_view.trade(t.id).status for t in market.trades] == [TradeStatus.SETTLED] * len(
        market.trades
    )
    assert _money(restarted, market) == _money(market.day.ctx, market)


def test_no_double_settlement_after_recovery(market: Market) -> None:
    restarted = _ctx_on(market, RESTARTED_NODE)
    assert market.network.is_running(RESTARTED_NODE)
    before = _money(restarted, market)
    settler_account = restarted.account(f"node-{SETTLER_N}")
    settler = restarted.client(SettlementEngineClient, settler_account)
    trade = market.trades[0]
    expected_args = {"tradeId": trade.id, "status": int(TradeStatus.SETTLED)}

    with pytest.raises(ContractRevertError) as refused:
        settler.settle(trade.id)
    assert refused.value.name == "TradeAlreadySettled"
    assert refused.value.arguments == expected_args
    with pytest.raises(ContractRevertError) as batch:
        settler.settle_batch([t.id for t in market.trades])
    assert batch.value.name == "TradeAlreadySettled"
    assert batch.value.arguments == expected_args

    # Forced past the estimate: mined by the network, reverted, decoded the same way.
    sender = restarted.sender(settler_account)
    tx_hash = sender.send(settler.address, settler.encode("settle", trade.id), gas=500_000)
    with pytest.raises(ContractRevertError) as mined:
        sender.wait(tx_hash)
    assert mined.value.name == "TradeAlreadySettled"
    assert mined.value.arguments == expected_args
    receipt = restarted.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 0
    assert receipt["logs"] == []

    assert _money(restarted, market) == before
    wait_until(
        lambda: True if _money(market.day.ctx, market) == before else None,
        timeout_s=30,
        what="the same balances on the day's node",
    )


@contextlib.contextmanager
def _serving(app: Any) -> Iterator[httpx.Client]:
    """``app`` served by uvicorn in a thread; an HTTP client on it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _gateway_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def test_gateway_indexes_the_consortium_chain_and_each_trade_settled_once(
    market: Market,
) -> None:
    ctx = _ctx_on(market, GATEWAY_NODE)
    latest = ctx.w3.eth.get_block("latest")
    assert len(latest["proofOfAuthorityData"]) > 32  # Clique headers: vanity + seal
    engine = _gateway_engine(market.settings.data_dir / "gateway-test.db")
    try:
        indexer = Indexer(ctx, engine, confirmations=0, chunk_blocks=500)
        stats = indexer.run_once()
        assert stats.events > 0
        report = verify(indexer)
        assert report.ok, report
        assert report.block_hash_mismatches == []
        app = create_app(ctx.settings, engine=engine, ctx=ctx)
        with _serving(app) as client:
            for trade in market.trades:
                answer = client.get(f"/api/v1/trades/{trade.id}")
                assert answer.status_code == 200, answer.text
                life = answer.json()
                assert life["trade"]["status"] == "settled"
                assert len(life["settlements"]) == 1
                names = [e["event"] for e in life["events"]]
                assert names.count("TradeSettled") == 1
                assert names.count("TradeCreated") == 1
    finally:
        engine.dispose()
