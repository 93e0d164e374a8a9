"""Tampered meters: feeder meters in the scenario, and the detector by energy balance, own
history and peers."""

from __future__ import annotations

from ledger import scenario
from ledger.feeders import CALIBRATION_DAYS, generate_feeders
from oracle.tamper import detect, run_days


def test_feeders_do_not_change_the_scenario_and_balance_true_consumption() -> None:
    before = scenario.generate("jibei-mini", 2).model_dump_json()
    net = generate_feeders(scenario.generate("jibei-mini", 2), days=10)
    assert scenario.generate("jibei-mini", 2).model_dump_json() == before
    assert net == generate_feeders(scenario.generate("jibei-mini", 2), days=10)
    assert len(net.tampered) == 1
    assert all(start >= CALIBRATION_DAYS for start in net.tampered.values())
    by_meter = {m.meter: m for m in net.meters}
    assert sorted(by_meter) == sorted(m for f in net.feeders for m in f.meters)
    for f in net.feeders:
        # Losses are positive: a feeder reads more than its customers report.
        reported = [sum(by_meter[m].reported_wh[d] for m in f.meters) for d in range(net.days)]
        assert all(e > r for e, r in zip(f.energy_wh, reported, strict=True))


def test_the_detector_finds_the_injected_meters_exactly_and_no_honest_feeder() -> None:
    net = generate_feeders(scenario.generate("jibei-mini", 2), days=14)
    result = run_days(net, horizon_days=7)
    assert set(result.detected) == set(net.tampered)
    assert result.false_positives == []
    tampered_feeders = {m.feeder for m in net.meters if m.meter in net.tampered}
    flags = detect(net, net.days - 1)
    assert {f.meter for f in flags} == set(net.tampered)
    assert {f.feeder for f in flags} <= tampered_feeders
    flag = flags[0]
    start = net.tampered[flag.meter]
    assert abs(flag.first_day - start) <= 1
    assert flag.days[-1] == net.days - 1
    # The estimated missing energy is about 20 % of what the meter should have read.
    assert 0.5 * flag.missing_wh < flag.feeder_missing_wh < 2 * flag.missing_wh
    assert 0.7 < flag.peer_ratio < 0.9


def test_no_tampering_no_flags() -> None:
    net = generate_feeders(scenario.generate("jibei-mini", 3), days=14, tamper_share=0.0)
    assert net.tampered == {}
    assert all(detect(net, t) == [] for t in range(net.days))
