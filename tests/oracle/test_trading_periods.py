"""The oracle on the trading market's delivery periods, end to end.

Readings total per TradingMarket period id (the id settlement and dispatch use), trades come
from the chain, and after a period closes the oracle records every node total itself
(``submitNodeTotal`` through its outbox), so ``SettlementEngine.settle`` runs on them.

Periods (block time T when the market fixture opened period 1 at T + 1 day, unaligned):
``aligned`` [D, D + 8 x 900) with D a multiple of 900 about 4 h ahead, and ``shifted``
[D + 2 h + 450, +4 x 900), deliberately off the 900 s grid; between them a gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.clients.oracle import MeterOracleClient
from ledger.clients.trading import Period, TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from ledger.webauth import ApiKeys, Role
from oracle.app import create_app
from oracle.dispatch import ChainTradeSource
from oracle.errors import OracleError
from oracle.periods import FixedPeriodCalendar, TradingPeriodCalendar, make_calendar
from oracle.schemas import DispatchResult, ReadingBatch, SignedReading
from oracle.service import OracleService
from oracle.store import NodeTotalRow, OutboxRow, ReadingRow
from scripts.dispatch_sim import sign_batch
from scripts.meter_sim import SimMeter, make_meters
from tests.conftest import role_account
from tests.oracle.conftest import DISPATCH_KEY, Clock
from tests.settlement.conftest import (  # noqa: F401  (the `flow` and `market` fixtures)
    Flow,
    block_time,
    flow,
    market,
)

E = 10_000_000  # 10 MWh over intervals 0..3
PRICE = 350_000
CAPACITY_W = 20_000_000  # 5 MWh per 15 minutes
NODES = ("seller", "buyer", "seller2")


@dataclass
class Day:
    """The market with two extra periods, metered nodes and an oracle on trading periods."""

    flow: Flow
    aligned: Period
    shifted: Period
    meters: dict[str, SimMeter]
    service: OracleService
    clock: Clock

    def sign(self, name: str, start: int, imp: int, exp: int) -> SignedReading:
        sim = self.meters[name]
        reading = sim.reading(start, import_wh=imp, export_wh=exp)
        return sim.sign(reading, self.service.chain_id, self.service.meter_oracle.address)


def _open(ctx: LedgerContext, delivery_start: int, intervals: int) -> Period:
    operator = ctx.client(TradingMarketClient, role_account("OPERATOR"))
    now = block_time(ctx)
    receipt = operator.open_period(
        delivery_start, now, now, delivery_start - 600, intervals=intervals
    )
    return operator.period(operator.opened_period_id(receipt))


def _service(
    ctx: LedgerContext,
    sessions: sessionmaker[Session],
    account: LocalAccount,
    clock: Clock,
    **kw: object,
) -> OracleService:
    return OracleService(ctx, sessions=sessions, account=account, clock=clock, **kw)  # type: ignore[arg-type]


@pytest.fixture
def day(
    ctx: LedgerContext,
    flow: Flow,  # noqa: F811
    sessions: sessionmaker[Session],
    oracle_account: LocalAccount,
    operator_oracle: MeterOracleClient,
) -> Day:
    now = block_time(ctx)
    start = -(-(now + 4 * 3600) // 900) * 900
    aligned = _open(ctx, start, 8)
    shifted = _open(ctx, start + 7200 + 450, 4)
    sims = make_meters(len(NODES), capacity_w=CAPACITY_W, start_index=700)
    meters: dict[str, SimMeter] = {}
    for name, sim in zip(NODES, sims, strict=True):
        operator_oracle.register_meter(
            bytes.fromhex(sim.meter_id[2:]),
            flow.party(name).address,
            sim.account.address,
            CAPACITY_W,
        )
        meters[name] = sim
    clock = Clock(float(shifted.delivery_end + 1_000))
    service = _service(ctx, sessions, oracle_account, clock)
    return Day(flow, aligned, shifted, meters, service, clock)


@pytest.fixture
def api(ctx: LedgerContext, day: Day) -> Iterator[TestClient]:
    app = create_app(
        ctx,
        sessions=day.service.sessions,
        account=day.service.account,
        service=day.service,
        api_keys=ApiKeys({"dispatch-key": Role.dispatch}),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _post(api: TestClient, *items: SignedReading) -> tuple[int, dict[str, Any]]:
    body = ReadingBatch(readings=list(items)).model_dump(mode="json", by_alias=True)
    resp = api.post("/readings", json=body)
    return resp.status_code, resp.json()


def _feed_period(day: Day) -> dict[str, tuple[int, int]]:
    """Contiguous readings of every node over the aligned period; their (import, export)
    sums per node."""
    sums: dict[str, tuple[int, int]] = {}
    items = []
    for name in NODES:
        imp_sum = exp_sum = 0
        for k in range(day.aligned.intervals):
            imp, exp = {
                "seller": (1_000 + k, 2_500_000 + 7_000 * k),
                "buyer": (2_400_000 + 11_000 * k, 0),
                "seller2": (3_000 * k, 1_200_000 - 5_000 * k),
            }[name]
            items.append(day.sign(name, day.aligned.delivery_start + k * 900, imp, exp))
            imp_sum += imp
            exp_sum += exp
        sums[name] = (imp_sum, exp_sum)
    result = day.service.ingest(ReadingBatch(readings=items))
    assert (result.accepted, result.rejected, result.flagged) == (len(items), 0, 0), result
    return sums


def test_the_service_defaults_to_the_trading_market(day: Day) -> None:
    assert isinstance(day.service.calendar, TradingPeriodCalendar)
    assert isinstance(day.service.trades, ChainTradeSource)
    ctx = day.flow.ctx
    fixed = ctx.settings.model_copy(update={"oracle_period_source": "fixed"})
    fixed_ctx = LedgerContext(fixed, w3=ctx.w3, manifest=ctx.manifest)
    calendar = make_calendar(fixed_ctx, day.service.account)
    assert isinstance(calendar, FixedPeriodCalendar)
    assert calendar.bounds(5) == (5 * 3600, 6 * 3600)


def test_readings_map_to_trading_period_ids(api: TestClient, day: Day) -> None:
    a, s = day.aligned, day.shifted
    status, body = _post(
        api,
        day.sign("seller", a.delivery_start, 10, 20),
        day.sign("buyer", a.delivery_start + 7 * 900, 30, 0),
        day.sign("seller2", s.delivery_start + 450, 0, 40),
    )
    assert status == 200
    assert body["rejected"] == 0
    with day.service.sessions() as session:
        rows = {r.interval_start: r.period for r in session.scalars(select(ReadingRow)).all()}
    assert rows == {
        a.delivery_start: a.id,
        a.delivery_start + 7 * 900: a.id,
        s.delivery_start + 450: s.id,
    }
    assert {a.id, s.id} == {day.flow.period + 1, day.flow.period + 2}
    assert day.service.period_bounds(a.id) == (a.delivery_start, a.delivery_end)


def test_a_reading_outside_every_trading_period_is_refused(api: TestClient, day: Day) -> None:
    gap = day.aligned.delivery_end  # between the aligned and the shifted period
    status, body = _post(api, day.sign("seller", gap, 10, 0))
    assert status == 422
    assert body["reason"] == "no_period"
    assert body["detail"] == f"no delivery period covers interval [{gap}, {gap + 900})"
    # A 900 s interval across the end of the shifted period belongs to no single period.
    last = day.shifted.delivery_end - 450
    status, body = _post(api, day.sign("buyer", last, 10, 0))
    assert status == 422
    assert body["reason"] == "no_period"
    assert body["detail"] == (
        f"interval [{last}, {last + 900}) crosses the end of delivery period "
        f"{day.shifted.id} at {day.shifted.delivery_end}"
    )
    with day.service.sessions() as session:
        assert session.scalars(select(ReadingRow)).all() == []


def test_dispatch_trades_come_from_the_chain(api: TestClient, day: Day) -> None:
    f, p = day.flow, day.aligned.id
    t1 = f.trade("seller", "buyer", E, PRICE, period=p)
    t2 = f.trade("seller2", "buyer2", 4_000_000, 420_000, period=p)
    f.open_taking()
    f.trade("seller", "buyer2", 1_000_000, PRICE)  # in the market fixture's period
    resp = api.get("/dispatch/trades", params={"period": p}, headers=DISPATCH_KEY)
    assert resp.status_code == 200
    assert resp.json() == [
        {
            "tradeId": t1,
            "period": p,
            "seller": f.party("seller").address,
            "buyer": f.party("buyer").address,
            "fromRegion": "0",
            "toRegion": "3",
            "energyWh": E,
            "intervalStart": day.aligned.delivery_start,
            "intervalSeconds": 3600,
        },
        {
            "tradeId": t2,
            "period": p,
            "seller": f.party("seller2").address,
            "buyer": f.party("buyer2").address,
            "fromRegion": "1",
            "toRegion": "2",
            "energyWh": 4_000_000,
            "intervalStart": day.aligned.delivery_start,
            "intervalSeconds": 3600,
        },
    ]
    for period in (day.shifted.id, 999, 2**40):
        listed = api.get("/dispatch/trades", params={"period": period}, headers=DISPATCH_KEY)
        assert listed.json() == []
    # Results name the trading period id; the fixed calendar's id is inconsistent.
    dispatch = role_account("DISPATCH")
    contract = day.service.dispatch_results.address

    def submit(*results: DispatchResult) -> tuple[int, dict[str, Any]]:
        signed = sign_batch(dispatch, list(results), day.service.chain_id, contract)
        body = signed.model_dump(mode="json", by_alias=True)
        resp = api.post("/dispatch/results", json=body)
        return resp.status_code, resp.json()

    hourly = day.aligned.delivery_start // 3600
    status, body = submit(
        DispatchResult(trade_id=t1, period=hourly, executed_wh=E, curtailed_wh=0, reason_code=0)
    )
    assert (status, body["reason"]) == (422, "inconsistent_result")
    status, body = submit(
        DispatchResult(trade_id=10_000, period=p, executed_wh=E, curtailed_wh=0, reason_code=0)
    )
    assert (status, body["reason"]) == (422, "unknown_trade")
    status, body = submit(
        DispatchResult(trade_id=t1, period=p, executed_wh=E, curtailed_wh=0, reason_code=0),
        DispatchResult(
            trade_id=t2, period=p, executed_wh=3_000_000, curtailed_wh=1_000_000, reason_code=1
        ),
    )
    assert status == 202, body
    assert day.service.relay.run_once() == 1
    assert day.service.dispatch_results.result_of(t2) == (
        True,
        p,
        3_000_000,
        1_000_000,
        1,
        dispatch.address,
    )


def test_closing_records_node_totals_and_settlement_reads_them(
    ctx: LedgerContext, api: TestClient, day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    f, p, service = day.flow, day.aligned.id, day.service
    tid = f.trade("seller", "buyer", E, PRICE, period=p)
    dispatch = role_account("DISPATCH")
    result = DispatchResult(trade_id=tid, period=p, executed_wh=E, curtailed_wh=0, reason_code=0)
    signed = sign_batch(dispatch, [result], service.chain_id, service.dispatch_results.address)
    body = signed.model_dump(mode="json", by_alias=True)
    assert api.post("/dispatch/results", json=body).status_code == 202
    sums = _feed_period(day)
    assert service.due_periods() == []  # the late-reading window is still open
    from_block = ctx.w3.eth.block_number
    day.clock.now = day.aligned.delivery_end + ctx.settings.oracle_max_age_s + 1
    assert service.due_periods() == [p]
    service.tick()  # anchors, posts the period root, then submits every node total
    assert service.due_periods() == []
    oracle = service.meter_oracle
    for name in NODES:
        address = f.party(name).address
        imp, exp = sums[name]
        assert oracle.metered_energy_of(address, p) == (True, imp, exp, imp - exp)
        assert service.node_proof(address, p).import_wh == imp
    events = oracle.contract.events.NodeTotalRecorded().get_logs(from_block=from_block)
    assert sorted((e["args"]["node"], e["args"]["period"]) for e in events) == sorted(
        (f.party(n).address, p) for n in NODES
    )
    with service.sessions() as session:
        rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        totals = list(session.scalars(select(NodeTotalRow)))
    kinds = [r.kind for r in rows]
    assert kinds[-4:] == ["post_period", "node_total", "node_total", "node_total"]
    assert all(r.status == "mined" for r in rows)
    assert {t.submit_outbox_id for t in totals} == {r.id for r in rows if r.kind == "node_total"}
    gas = [r.gas_used or 0 for r in rows if r.kind == "node_total"]
    assert all(40_000 < g < 70_000 for g in gas)
    with capsys.disabled():
        print(f"\nsubmitNodeTotal gas per node total (3 nodes, 1-2 hash proofs): {gas}")
    # Settlement reads the oracle's totals under the same period id.
    f.open_settlement(p)
    receipt = f.engine.settle(tid)
    (settled,) = f.engine.events(receipt, "TradeSettled")
    assert (settled["args"]["period"], settled["args"]["executedWh"]) == (p, E)
    assert f.market.settler.trade(tid).status == TradeStatus.SETTLED


class Crash(BaseException):
    """A simulated kill of the oracle process."""


@pytest.mark.parametrize("point", ["signed", "sent"])
def test_node_total_submissions_survive_a_restart(
    ctx: LedgerContext,
    day: Day,
    sessions: sessionmaker[Session],
    oracle_account: LocalAccount,
    point: str,
) -> None:
    def crash(at: str, row: OutboxRow) -> None:
        if at == point and row.kind == "node_total":
            raise Crash

    first = _service(ctx, sessions, oracle_account, day.clock, crash_hook=crash)
    day.service = first
    p = day.aligned.id
    sums = _feed_period(day)
    from_block = ctx.w3.eth.block_number
    first.close_period(p, force=True)
    with pytest.raises(Crash):
        first.relay.run_once()
    with sessions() as session:
        rows = list(
            session.scalars(
                select(OutboxRow).where(OutboxRow.kind == "node_total").order_by(OutboxRow.id)
            )
        )
    assert [r.status for r in rows] == ["signed", "pending", "pending"]
    crashed = rows[0]
    # Meanwhile one node records its own total (anyone may): the oracle must skip it.
    self_node = rows[-1].ref.split(":", 1)[1]
    proof = first.node_proof(self_node, p)
    own = ctx.client(MeterOracleClient, day.flow.party("buyer").actor.account)
    own.submit_node_total(
        (
            proof.node,
            p,
            proof.import_wh,
            proof.export_wh,
            proof.reading_count,
            bytes.fromhex(proof.readings_root[2:]),
        ),
        [bytes.fromhex(h[2:]) for h in proof.totals_proof],
    )
    restarted_ctx = LedgerContext(ctx.settings, w3=ctx.w3, manifest=ctx.manifest)
    second = _service(restarted_ctx, sessions, oracle_account, day.clock)
    assert second.relay.run_once() == 3
    assert second.relay.run_once() == 0
    with sessions() as session:
        after = {
            r.id: r
            for r in session.scalars(select(OutboxRow).where(OutboxRow.kind == "node_total"))
        }
        every = list(session.scalars(select(OutboxRow)))
    assert [after[r.id].status for r in rows] == ["mined", "mined", "skipped"]
    assert after[crashed.id].tx_hash == crashed.tx_hash  # the same bytes, sent once
    assert "already recorded" in (after[rows[-1].id].error or "")
    events = second.meter_oracle.contract.events.NodeTotalRecorded().get_logs(from_block=from_block)
    recorded = [e["args"]["node"] for e in events]
    assert sorted(recorded) == sorted(day.flow.party(n).address for n in NODES)  # once each
    for name in NODES:
        imp, exp = sums[name]
        assert second.meter_oracle.metered_energy_of(day.flow.party(name).address, p) == (
            True,
            imp,
            exp,
            imp - exp,
        )
    # No gap and no duplicate: the key's nonce equals the oracle's mined transactions.
    mined = [r for r in every if r.status == "mined"]
    assert ctx.w3.eth.get_transaction_count(oracle_account.address) == (
        max(r.nonce or 0 for r in mined) + 1
    )
    assert len({r.nonce for r in mined}) == len(mined)
    with pytest.raises(ContractRevertError) as info:
        own.submit_node_total(
            (
                proof.node,
                p,
                proof.import_wh,
                proof.export_wh,
                proof.reading_count,
                bytes.fromhex(proof.readings_root[2:]),
            ),
            [bytes.fromhex(h[2:]) for h in proof.totals_proof],
        )
    assert info.value.name == "NodeTotalAlreadyRecorded"


def test_the_calendar_refreshes_for_new_periods_and_rejects_unknown_ids(
    ctx: LedgerContext, day: Day
) -> None:
    client = ctx.client(TradingMarketClient, day.service.account)
    ticks = [0.0]
    calendar = TradingPeriodCalendar(client, min_refresh_s=1.0, monotonic=lambda: ticks[0])
    gap = day.aligned.delivery_end
    assert calendar.period_of(day.aligned.delivery_start) == day.aligned.id
    assert calendar.period_of(gap) is None
    later = _open(ctx, gap, 2)  # fills the gap
    ticks[0] = 0.5
    assert calendar.period_of(gap) is None  # a refresh at most once per second
    ticks[0] = 1.5
    assert calendar.period_of(gap) == later.id
    assert calendar.bounds(later.id) == (gap, gap + 1800)
    # Overlapping periods: the lowest id wins (stable: new periods get higher ids).
    overlap = _open(ctx, day.aligned.delivery_start, 4)
    assert calendar.refresh(force=True)
    assert calendar.period_of(day.aligned.delivery_start + 900) == day.aligned.id < overlap.id
    for unknown in (0, 10_000, 2**40):
        with pytest.raises(OracleError) as info:
            calendar.bounds(unknown)
        assert (info.value.status, info.value.reason) == (404, "unknown_period")
