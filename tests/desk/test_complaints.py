"""The complaint state machine, attribution, overdue flags, ratings and attachments."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import NotFoundError, ValidationError
from node.desk.errors import DeskError, DeskForbiddenError, TransitionRefusedError
from node.desk.service import Desk
from node.desk.store import Links
from tests.desk.conftest import FILER, OPERATOR, OTHER, T0

DAY = 86_400


def test_a_complaint_goes_new_in_progress_resolved_closed_each_change_attributed(
    desk: Desk,
) -> None:
    store = desk.store
    c = store.file(
        FILER,
        "billing",
        "Bill too high",
        "March bill doubled",
        now=T0,
        links=Links(trade_id=7, bill="0xb1", meter="m-9"),
    )
    assert (c.state, c.filer, c.due_at) == ("new", FILER.address, T0 + 48 * 3600)
    store.assign(OPERATOR, c.id, "0x000000000000000000000000000000000000dEaD", now=T0 + 10)
    store.move(OPERATOR, c.id, "in_progress", "looking", now=T0 + 20)
    store.move(OPERATOR, c.id, "resolved", "refunded", now=T0 + 30)
    store.move(FILER, c.id, "closed", now=T0 + 40)
    detail = store.show(FILER, c.id, now=T0 + 50)
    assert detail.state == "closed"
    assert detail.links == Links(trade_id=7, bill="0xb1", meter="m-9")
    assert [
        (ch.action, ch.from_state, ch.to_state, ch.actor, ch.actor_role, ch.at)
        for ch in detail.changes
    ] == [
        ("file", None, "new", FILER.address, "participant", T0),
        ("assign", "new", "new", OPERATOR.address, "operator", T0 + 10),
        ("move", "new", "in_progress", OPERATOR.address, "operator", T0 + 20),
        ("move", "in_progress", "resolved", OPERATOR.address, "operator", T0 + 30),
        ("move", "resolved", "closed", FILER.address, "participant", T0 + 40),
    ]
    assert [ch.id for ch in detail.changes] == [1, 2, 3, 4, 5]
    assert detail.changes[3].data == {"note": "refunded"}


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ((), "resolved"),
        ((), "closed"),
        ((), "new"),
        (("in_progress",), "closed"),
        (("in_progress",), "new"),
        (("in_progress", "resolved"), "new"),
        (("in_progress", "resolved", "closed"), "in_progress"),
        (("in_progress", "resolved", "closed"), "resolved"),
        ((), "escalated"),
    ],
)
def test_bad_transitions_are_refused_naming_from_and_to(
    desk: Desk, path: tuple[str, ...], bad: str
) -> None:
    c = desk.store.file(FILER, "metering", "Meter stuck", "no readings", now=T0)
    state = "new"
    for step in path:
        state = desk.store.move(OPERATOR, c.id, step).state
    with pytest.raises(TransitionRefusedError) as refused:
        desk.store.move(OPERATOR, c.id, bad)
    assert (refused.value.from_state, refused.value.to_state) == (state, bad)
    assert f"from {state} to {bad}" in str(refused.value)
    assert desk.store.show(OPERATOR, c.id).state == state  # nothing changed
    assert len(desk.store.show(OPERATOR, c.id).changes) == 1 + len(path)


def test_who_may_do_what(desk: Desk) -> None:
    store = desk.store
    c = store.file(FILER, "trading", "Order lost", "my listing vanished", now=T0)
    with pytest.raises(DeskForbiddenError):
        store.move(FILER, c.id, "in_progress")  # the operator moves
    with pytest.raises(DeskForbiddenError):
        store.assign(FILER, c.id, "someone")
    with pytest.raises(DeskForbiddenError):
        store.show(OTHER, c.id)  # not its complaint
    assert store.complaints(OTHER) == []
    assert [x.id for x in store.complaints(FILER)] == [c.id]
    assert [x.id for x in store.complaints(OPERATOR)] == [c.id]
    store.move(OPERATOR, c.id, "in_progress")
    store.move(OPERATOR, c.id, "resolved")
    with pytest.raises(DeskForbiddenError):
        store.move(OTHER, c.id, "closed")
    store.move(FILER, c.id, "in_progress")  # the filer reopens
    assert store.show(FILER, c.id).state == "in_progress"
    with pytest.raises(NotFoundError):
        store.show(OPERATOR, 999)
    with pytest.raises(ValidationError, match="unknown category 'weather'"):
        store.file(FILER, "weather", "x", "y")


def test_the_filer_rates_once_after_resolution(desk: Desk) -> None:
    store = desk.store
    c = store.file(FILER, "settlement", "Late payout", "not paid", now=T0)
    with pytest.raises(DeskError, match="rate it once resolved"):
        store.rate(FILER, c.id, 4)
    store.move(OPERATOR, c.id, "in_progress")
    store.move(OPERATOR, c.id, "resolved")
    with pytest.raises(DeskForbiddenError):
        store.rate(OPERATOR, c.id, 5)
    with pytest.raises(ValidationError):
        store.rate(FILER, c.id, 6)
    rated = store.rate(FILER, c.id, 4, "quick")
    assert (rated.rating, rated.rating_comment) == (4, "quick")
    with pytest.raises(DeskError, match="already rated"):
        store.rate(FILER, c.id, 5)


def test_overdue_after_the_category_limit_until_resolved(desk: Desk) -> None:
    store = desk.store
    trading = store.file(FILER, "trading", "a", "b", now=T0)  # 24 h
    billing = store.file(FILER, "billing", "c", "d", now=T0)  # 48 h
    assert not store.show(FILER, trading.id, now=T0 + DAY).overdue
    assert store.show(FILER, trading.id, now=T0 + DAY + 1).overdue
    assert not store.show(FILER, billing.id, now=T0 + DAY + 1).overdue
    assert [c.id for c in store.complaints(OPERATOR, overdue=True, now=T0 + DAY + 1)] == [
        trading.id
    ]
    counts = store.counts(now=T0 + DAY + 1)
    assert counts["trading"] == (1, 1)
    assert counts["billing"] == (1, 0)
    assert counts["other"] == (0, 0)
    store.move(OPERATOR, trading.id, "in_progress", now=T0 + 2 * DAY)
    assert store.show(FILER, trading.id, now=T0 + 2 * DAY).overdue  # still open
    store.move(OPERATOR, trading.id, "resolved", now=T0 + 2 * DAY)
    assert not store.show(FILER, trading.id, now=T0 + 3 * DAY).overdue
    assert store.counts(now=T0 + 3 * DAY)["trading"] == (0, 0)
    assert store.counts(now=T0 + 3 * DAY)["billing"] == (1, 1)


def test_attachments_are_kept_with_their_sha256(desk: Desk) -> None:
    c = desk.store.file(FILER, "metering", "photo", "see attached", now=T0)
    content = b"\x89PNG meter photo"
    a = desk.store.attach(FILER, c.id, "meter.png", content)
    assert a.sha256 == hashlib.sha256(content).hexdigest()
    assert desk.store.attachment(OPERATOR, c.id, a.id) == ("meter.png", content)
    with pytest.raises(DeskForbiddenError):
        desk.store.attachment(OTHER, c.id, a.id)
    assert desk.store.show(FILER, c.id).changes[-1].data["sha256"] == a.sha256
