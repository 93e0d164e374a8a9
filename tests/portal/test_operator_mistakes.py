"""Operator page mistakes found walking the portal by hand: a number too large for a time or
a chain id is a 422 with one line (was a 500: "timestamp out of range", an overflow)."""

from __future__ import annotations

from tests.portal.test_operator import _errors, op  # noqa: F401
from tests.portal.test_review import Institution
from tests.trading.conftest import Market

HUGE = str(10**30)


def test_huge_numbers_in_the_operator_forms_are_one_line(
    op: Institution,  # noqa: F811
    market: Market,
) -> None:
    csrf = op.csrf("/operator")
    period = {"delivery_in_s": HUGE, "taking_closes_before_s": "3600", "interval_s": "900"}
    cases = [
        ("/operator/period", period, "delivery_in_s: Input should be less than or equal to "),
        ("/operator/settle", {"period": HUGE}, "period: Input should be less than or equal to "),
        ("/operator/clear", {"auction_id": HUGE}, "auction_id: Input should be less than or "),
        (
            "/operator/auction",
            {"period": str(market.period.id), "gate": HUGE, "min_lot_mwh": "1"},
            "gate: Input should be less than or equal to ",
        ),
    ]
    for path, form, start in cases:
        r = op.client.post(path, data={"csrf": csrf, **form})
        assert r.status_code == 422, path
        (line,) = _errors(r.text)
        assert line.startswith(start), line
