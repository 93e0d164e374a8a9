"""Measured figures: readings/s verified + stored + anchored, on-chain gas per reading."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from ledger.clients.oracle import MeterOracleClient
from ledger.keystore import demo_account
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from oracle.store import OutboxRow
from scripts.meter_sim import make_meters
from tests.oracle.conftest import Clock

METERS = 100
INTERVALS = 24  # six hours of 15-minute readings


@pytest.mark.slow
def test_throughput_and_gas_per_reading(
    service: OracleService,
    operator_oracle: MeterOracleClient,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sims = make_meters(METERS, start_index=1000)
    for n, sim in enumerate(sims):
        operator_oracle.register_meter(
            bytes.fromhex(sim.meter_id[2:]),
            demo_account(1000 + n % 10).address,
            sim.account.address,
            sim.capacity_w,
        )
    period_s = service.period_s
    first_period = (int(clock()) - 8 * 3600) // period_s
    start = first_period * period_s
    signed = [
        [
            s.sign(s.reading(start + k * 900), service.chain_id, service.meter_oracle.address)
            for s in sims
        ]
        for k in range(INTERVALS)
    ]
    began = time.perf_counter()
    for interval in signed:  # one POST per interval from the metering system
        result = service.ingest(ReadingBatch(readings=interval))
        assert result.rejected == 0
    service.close_batches(force=True)
    service.relay.run_once()
    elapsed = time.perf_counter() - began
    readings = METERS * INTERVALS
    periods = range(first_period, first_period + INTERVALS * 900 // period_s)
    for period in periods:
        service.close_period(period, force=True)
    service.relay.run_once()
    with service.sessions() as s:
        rows = list(s.scalars(select(OutboxRow)))
    assert all(r.status == "mined" for r in rows)
    anchor_gas = sum(r.gas_used or 0 for r in rows if r.kind == "anchor_batch")
    period_gas = sum(r.gas_used or 0 for r in rows if r.kind == "post_period")
    per_reading = (anchor_gas + period_gas) / readings
    totals = [r.gas_used or 0 for r in rows if r.kind == "node_total"]
    assert len(totals) == len(periods) * 10  # 10 nodes per period
    with capsys.disabled():
        print(
            f"\n{readings} readings: {readings / elapsed:.0f} readings/s verified+stored+anchored;"
            f" gas/reading {per_reading:.0f} (anchors {anchor_gas}, periods {period_gas});"
            f" submitNodeTotal {min(totals)}..{max(totals)} gas per node total"
            f" (+{sum(totals) / readings:.0f} gas/reading)"
        )
    assert per_reading <= 500
