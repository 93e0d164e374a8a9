"""Section 4: oracle ingestion. Signed meter readings verified, stored and anchored per
second, and on-chain gas per reading.

Simulated meters (``scripts.meter_sim``) sign their readings before the clock starts (the
signing rate is reported apart). The timed window covers the oracle's HTTP API
(``POST /readings`` through the FastAPI app in-process, one POST per interval with every
meter's reading, as a metering head-end would), signature and plausibility checks, the
SQLite writes, cutting the Merkle batches and relaying their ``anchorBatch`` transactions
until mined. Gas per reading adds the period's ``postPeriod`` root to the batch anchors.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

from sqlalchemy import select

from ledger.clients.oracle import MeterOracleClient
from ledger.db import make_engine, session_factory
from oracle.app import create_app
from oracle.dispatch import MemoryTradeSource
from oracle.periods import FixedPeriodCalendar
from oracle.service import OracleService
from oracle.store import OutboxRow, create_tables
from scripts.bench.common import BenchChain, Blaster, Call, bench_chain, node_account, role
from scripts.bench.report import Section
from scripts.meter_sim import SimMeter, batch_json, make_meters

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's TestClient deprecation notice
    from fastapi.testclient import TestClient

ZERO = "0x0000000000000000000000000000000000000000"
TARGET_PER_S = 1_200
TARGET_GAS = 500


@dataclass(frozen=True)
class Shape:
    meters: int
    intervals: int


FULL = Shape(meters=1_000, intervals=8)
QUICK = Shape(meters=100, intervals=4)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _register_meters(chain: BenchChain, meters: int) -> list[SimMeter]:
    """``meters`` simulated meters registered on bare node addresses (as the oracle's tests)."""
    operator = chain.ctx.client(MeterOracleClient, role("OPERATOR"))
    operator.set_node_status_source(ZERO)
    sims = make_meters(meters, start_index=1000)
    Blaster(chain, threads=1, batch=100).run(
        [
            Call(
                role("OPERATOR"),
                operator.address,
                operator.encode(
                    "registerMeter",
                    bytes.fromhex(s.meter_id[2:]),
                    node_account(n % 50 + 1).address,
                    s.account.address,
                    s.capacity_w,
                ),
            )
            for n, s in enumerate(sims)
        ]
    )
    return sims


def run(section: Section, quick: bool) -> None:
    shape = QUICK if quick else FULL
    with bench_chain() as chain:
        ctx = chain.ctx
        sims = _register_meters(chain, shape.meters)
        url = f"sqlite:///{chain.data_dir}/oracle.db"
        engine = make_engine(ctx.settings, url)
        create_tables(engine)
        sessions = session_factory(engine)
        latest = chain.block_time()
        clock = Clock(float(latest // 900 * 900 + 10))
        # fixed hourly delivery periods and in-memory trades, as the oracle's own throughput
        # test: ingestion is measured, not the trading calendar
        service = OracleService(
            ctx,
            sessions=sessions,
            account=role("METER_ORACLE"),
            trades=MemoryTradeSource(),
            calendar=FixedPeriodCalendar(ctx.settings.oracle_period_s),
            clock=clock,
        )
        period_s = service.period_s
        first_period = (int(clock()) - 8 * 3600) // period_s
        start = first_period * period_s
        contract = service.meter_oracle.address
        began = time.perf_counter()
        bodies = [
            batch_json(
                [s.sign(s.reading(start + k * 900), service.chain_id, contract) for s in sims],
                service.chain_id,
                contract,
            )
            for k in range(shape.intervals)
        ]
        sign_s = time.perf_counter() - began
        readings = shape.meters * shape.intervals
        app = create_app(ctx, sessions=sessions, account=service.account, service=service)
        with TestClient(app, raise_server_exceptions=True) as http:
            began = time.perf_counter()
            for body in bodies:
                reply = http.post("/readings", json=body)
                if reply.status_code >= 300 or reply.json().get("rejected", 0):
                    raise RuntimeError(f"readings refused: {reply.status_code} {reply.text[:300]}")
            service.close_batches(force=True)
            service.relay.run_once()
            elapsed = time.perf_counter() - began
        periods = range(first_period, first_period + shape.intervals * 900 // period_s)
        for period in periods:
            service.close_period(period, force=True)
        service.relay.run_once()
        with service.sessions() as s:
            rows = list(s.scalars(select(OutboxRow)))
        if not all(r.status == "mined" for r in rows):
            raise RuntimeError("some oracle transactions were not mined")
        anchor_gas = sum(r.gas_used or 0 for r in rows if r.kind == "anchor_batch")
        period_gas = sum(r.gas_used or 0 for r in rows if r.kind == "post_period")
        per_s = readings / elapsed
        per_reading = (anchor_gas + period_gas) / readings
        section.add(
            "readings_per_s",
            "readings verified+stored+anchored/s",
            per_s,
            "readings/s",
            target=f">= {TARGET_PER_S:,} (1 M meters at 15 min)",
            ok=per_s >= TARGET_PER_S,
        )
        section.add(
            "gas_per_reading",
            "on-chain gas per reading",
            per_reading,
            "gas",
            target=f"<= {TARGET_GAS}",
            ok=per_reading <= TARGET_GAS,
        )
        section.add(
            "signing_per_s", "meter signing rate (before timing)", readings / sign_s, "readings/s"
        )
        section.details.update(
            {
                "shape": shape.__dict__,
                "readings": readings,
                "batch_size": ctx.settings.oracle_batch_size,
                "anchor_gas": anchor_gas,
                "period_gas": period_gas,
                "anchor_txs": sum(1 for r in rows if r.kind == "anchor_batch"),
                "period_txs": sum(1 for r in rows if r.kind == "post_period"),
                "timed": "POST /readings (in-process ASGI) + checks + SQLite + batch cut + "
                "anchorBatch mined",
            }
        )
