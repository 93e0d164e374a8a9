"""Licence (qualification) expiry: reminded 30 days and again 7 days before, once each, from
the registry's ``qualificationsExpiringBefore`` view; a renewed licence starts over."""

from __future__ import annotations

from ledger.clients.registry import code
from tests.contracts.conftest import Market, market
from tests.notify.conftest import Centre

__all__ = ["market"]
DAY_S = 86_400
LIC = "GEN_LICENCE"


def test_licence_expiry_reminded_at_30_and_7_days_once_each(market: Market, centre: Centre) -> None:
    node = market.admit(40)
    me = node.address
    expires = market.now() + 40 * DAY_S
    node.qualify(LIC, "1234-5678", expires)
    market.verifier.approve_qualification(me, code(LIC))
    assert centre.new(me, "licence") == []

    market.warp(expires - 30 * DAY_S - market.now() - 60)  # a minute before the 30-day mark
    assert centre.new(me, "licence") == []
    market.warp(120)
    (r,) = centre.new(me, "licence")
    assert (r.key, r.at, r.title) == (
        f"licence:{LIC}@{expires}:30d",
        expires,
        f"Licence {LIC} expires within 30 days",
    )
    assert centre.new(me, "licence") == []  # sent once

    market.warp(expires - 7 * DAY_S - market.now() - 60)
    assert centre.new(me, "licence") == []
    market.warp(120)
    (r,) = centre.new(me, "licence")
    assert r.key == f"licence:{LIC}@{expires}:7d"
    assert centre.new(me, "licence") == []

    # renewed: the new expiry is a new subject, reminded when its own turn comes
    renewed = market.now() + 20 * DAY_S
    node.qualify(LIC, "1234-9999", renewed)
    market.verifier.approve_qualification(me, code(LIC))
    (r,) = centre.new(me, "licence")
    assert r.key == f"licence:{LIC}@{renewed}:30d"
    # another node's licence is not this node's reminder
    other = market.admit(41)
    other.qualify(LIC, "5555", market.now() + 3 * DAY_S)
    market.verifier.approve_qualification(other.address, code(LIC))
    assert centre.new(me, "licence") == []
    assert [r.threshold for r in centre.new(other.address, "licence")] == ["7d"]
