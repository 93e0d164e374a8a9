"""A surveillance report filed against the participant, and its ruling, each reminded once
(tests/surveillance: models, reports and rulings on the SurveillanceDesk)."""

from __future__ import annotations

from tests.notify.conftest import Centre
from tests.surveillance.test_onchain import REASON, Desk, desk

__all__ = ["desk"]


def test_report_filed_and_ruled_reminded_to_the_accused(desk: Desk, centre: Centre) -> None:
    accused = desk.nodes[1].address
    reporter = desk.nodes[0].address
    assert centre.new(accused, "violation") == []
    rid = desk.file()
    rule_by = desk.operator.report_info(rid).rule_by
    (r,) = centre.new(accused, "violation")
    assert (r.key, r.title) == (
        f"violation:report {rid}:filed",
        f"Violation report {rid} filed against you",
    )
    assert r.detail == (
        f"periods 100..127, trades [7, 9, 12]: respond before the ruling deadline {rule_by}"
    )
    assert centre.new(reporter, "violation") == []  # the reporter is not the accused
    assert centre.new(accused, "violation") == []  # once

    desk.regulator.rule(rid, True, 300_000, 40, REASON)
    (r,) = centre.new(accused, "violation")
    assert (r.key, r.title, r.detail) == (
        f"violation:report {rid}:ruled",
        f"Violation report {rid} confirmed",
        f"the REGULATOR confirmed report {rid}: 3000.00 CNY slashed, 40 reputation points",
    )
    assert centre.new(accused, "violation") == []
