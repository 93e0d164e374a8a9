"""The running oracle scans its stored readings and feeder readings for tampered meters: on a
small scenario with feeders it flags exactly the injected meter, holds its readings (the
periods, and so the node's settlement, wait), and a VERIFIER decides the case."""

from __future__ import annotations

import pytest

from ledger import scenario
from ledger.clients.oracle import MeterOracleClient
from ledger.feeders import FeederNetwork, generate_feeders
from ledger.keystore import demo_account
from oracle.errors import OracleError
from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from oracle.tamper_watch import FeederMeter
from scripts.meter_sim import SimMeter, make_meters
from tests.conftest import role_account
from tests.oracle.conftest import Clock

#: A scan "day" of four 15-minute intervals (one fixed hourly period), so ten days of
#: readings stay small; the detector only sees daily sums.
DAY_S = 3600
INTERVALS = DAY_S // 900
SHARES = (0.23, 0.27, 0.24, 0.26)


def _small_network() -> FeederNetwork:
    """jibei-mini seed 2 over 10 days: the feeder of the tampered meter and one honest feeder
    of the same kind of customer (24 meters)."""
    net = generate_feeders(scenario.generate("jibei-mini", 2), days=10)
    keep = {14, 0}
    return net.model_copy(
        update={
            "feeders": [f for f in net.feeders if f.id in keep],
            "meters": [m for m in net.meters if m.feeder in keep],
        }
    )


def _register(
    net: FeederNetwork, service: OracleService, oracle: MeterOracleClient
) -> dict[str, SimMeter]:
    sims = make_meters(len(net.meters), start_index=500)
    nodes = sorted({m.node for m in net.meters})
    address = {n: demo_account(3000 + i).address for i, n in enumerate(nodes)}
    out: dict[str, SimMeter] = {}
    for m, sim in zip(net.meters, sims, strict=True):
        oracle.register_meter(
            bytes.fromhex(sim.meter_id[2:]), address[m.node], sim.account.address, sim.capacity_w
        )
        out[m.meter] = sim
    for f in net.feeders:
        members = [
            FeederMeter(meter_id=out[m.meter].meter_id, node=address[m.node], kind=m.kind)
            for m in net.meters
            if m.feeder == f.id
        ]
        service.register_feeder(f.id, f.region, members)
    return out


def test_the_running_oracle_flags_exactly_the_injected_meter_and_its_settlement_waits(
    service: OracleService, operator_oracle: MeterOracleClient, clock: Clock
) -> None:
    net = _small_network()
    scale = 9_000 * INTERVALS / max(max(m.reported_wh) for m in net.meters)
    sims = _register(net, service, operator_oracle)
    service.tamper.day_s, service.tamper.grace_s = DAY_S, 900
    first_day = int(clock()) // DAY_S - net.days - 2
    for d in range(net.days):
        day = first_day + d
        for k in range(INTERVALS):
            start = day * DAY_S + k * 900
            clock.now = start + 900 + 10
            items = []
            for i, m in enumerate(net.meters):
                wh = round(m.reported_wh[d] * scale * SHARES[(k + i) % INTERVALS])
                sim = sims[m.meter]
                reading = sim.reading(start, import_wh=wh, export_wh=0)
                items.append(sim.sign(reading, service.chain_id, service.meter_oracle.address))
            result = service.ingest(ReadingBatch(readings=items))
            assert {r.outcome for r in result.results} == {"accepted"}
            if k == INTERVALS - 1:
                for f in net.feeders:
                    service.record_feeder_days(f.id, {day: round(f.energy_wh[d] * scale)})
            service.tick()
    tampered = {sims[m].meter_id for m in net.tampered}
    cases = service.tamper_cases()
    assert {c.meter_id for c in cases} == tampered
    case = cases[0]
    assert case.status == "pending"
    assert case.first_day - first_day == net.tampered[next(iter(net.tampered))]
    assert case.feeder == 14
    assert 0.5 * case.missing_wh < case.feeder_missing_wh < 2 * case.missing_wh
    assert case.held_readings > 0
    held = [p for p in service.pending_review(limit=1000) if "tamper" in p.flags]
    assert {p.meter_id for p in held} == tampered
    assert len(held) == case.held_readings
    # The held readings' periods (and the flagged node's totals) cannot close.
    waiting = sorted({p.interval_start // service.period_s for p in held})
    with pytest.raises(OracleError, match="await review"):
        service.close_period(waiting[0], force=True)
    # Only a VERIFIER decides; confirming rejects the held readings and the periods close.
    with pytest.raises(OracleError, match="does not hold VERIFIER"):
        service.decide_tamper(case.case_id, "confirm", role_account("OPERATOR").address)
    verifier = role_account("VERIFIER").address
    decided = service.decide_tamper(case.case_id, "confirm", verifier, "feeder balance")
    assert decided.status == "confirmed"
    assert service.pending_review(limit=1000) == []
    for period in waiting:
        service.close_period(period, force=True)
    # A decided meter is not flagged again.
    assert service.scan_tamper(first_day + net.days - 1) == []
