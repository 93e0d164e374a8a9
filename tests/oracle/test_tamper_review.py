"""A suspected tampered meter's readings go back to the review queue, with the evidence; its
period (and so its node's totals and settlement) waits for the VERIFIER."""

from __future__ import annotations

import pytest

from oracle.schemas import ReadingBatch
from oracle.service import OracleService
from scripts.meter_sim import SimMeter
from tests.conftest import role_account
from tests.oracle.conftest import Clock


def test_a_tamper_flag_holds_the_meters_readings_until_a_verifier_decides(
    service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    period_s = service.period_s
    period = (int(clock()) - 3 * period_s) // period_s
    start = period * period_s
    sim = meters[0]
    items = [
        sim.sign(sim.reading(start + k * 900), service.chain_id, service.meter_oracle.address)
        for k in range(3)
    ]
    result = service.ingest(ReadingBatch(readings=items))
    assert [r.outcome for r in result.results] == ["accepted"] * 3
    assert service.pending_review() == []
    evidence = "feeder 3: days 5..11 missing 1,200 kWh; meter at 0.80 of its peers"
    held = service.hold_meter(sim.meter_id, start + 900, start + 3 * 900, evidence)
    assert held == 2
    pending = service.pending_review()
    assert [p.flags for p in pending] == [["tamper"], ["tamper"]]
    with pytest.raises(Exception, match="await review"):
        service.close_period(period, force=True)
    verifier = role_account("VERIFIER").address
    assert service.review(pending[0].reading_id, "clear", verifier) == "cleared"
    assert service.review(pending[1].reading_id, "reject", verifier) == "rejected"
    service.close_period(period, force=True)
