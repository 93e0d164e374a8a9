"""Auction form mistakes found walking the portal by hand: an id too large for the chain is a
422 with one line (was a 500 from the chain call)."""

from __future__ import annotations

from tests.portal.conftest import Env
from tests.portal.test_auction import _ask, _error

HUGE = str(10**30)


def test_a_huge_auction_or_order_id_is_one_line(env: Env) -> None:
    env.login()
    for path, fields, start in (
        ("/auctions/order", {"auction_id": HUGE, "energy_mwh": "1", "price": "400"}, "auction_id"),
        ("/auctions/amend", {"order_id": HUGE, "energy_mwh": "1", "price": "400"}, "order_id"),
        ("/auctions/cancel", {"order_id": HUGE}, "order_id"),
    ):
        status, page, _ = _ask(env, path, **fields)
        assert status == 422, path
        assert _error(page) == f"{start}: Input should be less than or equal to {2**63 - 1}"
