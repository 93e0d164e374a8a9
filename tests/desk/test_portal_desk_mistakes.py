"""Portal ``/desk`` mistakes found walking it by hand: rating an unknown complaint is a 404
page with the desk's reason (was a 500), times are dates, not unix seconds."""

from __future__ import annotations

from ledger.display import short_time
from node.desk.service import Desk
from tests.desk.conftest import OPERATOR
from tests.desk.test_portal_desk import Portal, portal  # noqa: F401


def test_acting_on_an_unknown_complaint_is_a_404_page(portal: Portal) -> None:  # noqa: F811
    for complaint in ("999", str(10**23)):
        r = portal.post(f"/desk/{complaint}/rate", {"rating": "3"})
        assert r.status_code == 404
        assert "the service desk refused" in r.text
        assert "unexpected error" not in r.text


def test_complaint_times_are_utc_dates(portal: Portal, desk: Desk) -> None:  # noqa: F811
    r = portal.post("/desk/file", {"category": "billing", "title": "Bill", "body": "b"})
    assert r.status_code == 200
    c = desk.store.show(OPERATOR, 1)
    assert f"<b>{short_time(c.due_at)}</b>" in r.text
    assert str(c.due_at) not in r.text
