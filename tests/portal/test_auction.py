"""The portal's auction pages against a real chain (tests/auction's book on the portal's
consumer node ``buyer``): a bid through the confirmation page moves exactly its escrow and
emits its event, a cancel refunds it to the fen, an amend, refusals as one line, and a
cleared auction's fills with their CSV."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ledger.clients.auction import OrderSide, OrderStatus
from ledger.units import fen_to_cny
from node.auction.api import AuctionDesk, fills_csv
from tests.auction.conftest import FEE_CAP, MIN_LOT_WH, Book
from tests.auction.conftest import book as book  # re-exported fixture
from tests.portal.conftest import PASSWORD, Env, csrf_of
from tests.portal.test_contracts import portal
from tests.trading.conftest import block_time


def _ask(env: Env, path: str, **fields: str) -> tuple[int, str, str]:
    """Post an auction form; (status, page, action id) -- the confirmation page on success."""
    r = env.client.post(
        path, data={"csrf": env.csrf("/auctions"), **fields}, follow_redirects=False
    )
    if r.status_code != 303:
        return r.status_code, r.text, ""
    action = r.headers["location"].split("action=")[1]
    page = env.client.get(r.headers["location"])
    assert page.status_code == 200
    return 303, html.unescape(page.text), action


def _submit(env: Env, action: str) -> tuple[int, str]:
    r = env.client.post(
        "/submit", data={"csrf": csrf_of(env.client.get("/").text), "action": action}
    )
    return r.status_code, html.unescape(r.text)


def _error(page: str) -> str:
    found = re.search(r'<p class="error" id="error">(.*?)</p>', page)
    assert found, page
    return html.unescape(found.group(1))


def cny(fen: int) -> str:
    return f"{fen_to_cny(fen)} CNY ({fen:,} fen)"


def test_bid_escrow_exact_then_cancel_refunds_to_the_fen(env: Env, book: Book) -> None:
    env.login()
    aid = book.open()
    b = env.market.buyer
    before = b.token.balance_of(b.address)
    page = env.client.get("/auctions").text
    assert 'id="open-auctions"' in page
    assert f'<a href="/auctions/{aid}">{aid}</a>' in page
    status, page, action = _ask(
        env, "/auctions/order", auction_id=str(aid), energy_mwh="0.3", price="4000"
    )
    assert status == 303, page
    escrow = 300_000 * 400_000 // 1_000_000 + 300_000 * FEE_CAP // 1_000_000
    assert escrow == 124_500
    assert f"CentralAuction.placeOrder({aid}, Bid, 300000, 400000)" in page
    assert "0.3 MWh (300,000 Wh)" in page
    assert "4000.00 CNY/MWh (400,000 fen/MWh)" in page
    assert cny(escrow) in page  # worst-case escrow
    assert cny(4_500) in page  # fee bound at the fee cap
    assert "0.01 MWh (10,000 Wh)" in page  # the minimum lot
    assert "SettlementToken.approve(CentralAuction, escrow)" in page
    code, done = _submit(env, action)
    assert code == 200, done
    assert "Order 1 placed in auction 1" in done
    assert (
        "OrderPlaced(orderId=1, side=0, seq=1, energyWh=300000, priceFenPerMwh=400000, "
        "heldFen=124500)"
    ) in done
    assert b.token.balance_of(b.address) == before - escrow
    order = book.reader.order(1)
    assert (order.node, order.side, order.held_fen) == (b.address, OrderSide.BID, escrow)
    (placed,) = book.reader.contract.events["OrderPlaced"]().get_logs(from_block=0)
    assert dict(placed["args"]) == {
        "orderId": 1,
        "auctionId": aid,
        "node": b.address,
        "side": OrderSide.BID,
        "seq": 1,
        "energyWh": 300_000,
        "priceFenPerMwh": 400_000,
        "heldFen": escrow,
    }
    page = env.client.get("/auctions").text
    assert '<td data-label="status" class="order-status">live</td>' in page
    # amend: a higher limit raises the escrow by exactly the difference
    status, page, action = _ask(
        env, "/auctions/amend", order_id="1", energy_mwh="0.3", price="4500"
    )
    assert status == 303, page
    new_escrow = 300_000 * 450_000 // 1_000_000 + 4_500
    assert f"{cny(escrow)} → {cny(new_escrow)}" in page
    assert "lost (new sequence number)" in page
    assert _submit(env, action)[0] == 200
    assert b.token.balance_of(b.address) == before - new_escrow
    # cancel: refunded to the fen
    status, page, action = _ask(env, "/auctions/cancel", order_id="1")
    assert status == 303, page
    assert f"refunded</dt><dd>{cny(new_escrow)}" in page
    code, done = _submit(env, action)
    assert code == 200, done
    assert f"OrderCancelled(orderId=1, releasedFen={new_escrow})" in done
    assert b.token.balance_of(b.address) == before
    assert book.reader.order(1).status == OrderStatus.CANCELLED
    assert (
        '<td data-label="status" class="order-status">cancelled</td>'
        in env.client.get("/auctions").text
    )


def test_refusals_are_one_line(env: Env, book: Book) -> None:
    env.login()
    aid = book.open()
    status, page, _ = _ask(
        env, "/auctions/order", auction_id=str(aid), energy_mwh="0.005", price="4000"
    )
    assert status == 422
    assert _error(page) == (
        f"0.005 MWh (5,000 Wh) is below auction {aid}'s minimum lot of 0.01 MWh ({MIN_LOT_WH:,} Wh)"
    )
    status, page, _ = _ask(env, "/auctions/order", auction_id=str(aid), energy_mwh="x", price="1")
    assert status == 422
    assert _error(page).startswith("energy_mwh: ")
    status, page, _ = _ask(
        env, "/auctions/order", auction_id=str(aid), energy_mwh="1", price="9000"
    )
    assert "is outside auction 1's limits" in _error(page)
    # not open yet
    now = block_time(env.market.ctx)
    later = book.operator.opened_auction_id(
        book.operator.open_auction(env.market.period.id, 0, 95, now + 300, now + 900,
                                   MIN_LOT_WH, book.reader.auction(aid).rule, FEE_CAP)
    )  # fmt: skip
    status, page, _ = _ask(
        env, "/auctions/order", auction_id=str(later), energy_mwh="1", price="4000"
    )
    assert status == 422
    assert re.fullmatch(
        rf"auction {later} takes orders from .+ to .+ UTC \(gate closure\); "
        r"it is now .+ UTC",
        _error(page),
    ), _error(page)
    # confirmed inside the window, submitted after the gate: the chain's error, one line
    status, page, action = _ask(
        env, "/auctions/order", auction_id=str(aid), energy_mwh="1", price="4000"
    )
    assert status == 303
    book.close_gate(aid)
    code, done = _submit(env, action)
    assert code == 422
    assert re.search(r'<p class="error" id="error">OutsideOrderWindow\(auctionId=1, ', done), done
    assert "Traceback" not in done


def test_cleared_auction_shows_fills_and_csv(env: Env, book: Book) -> None:
    env.login()
    aid = book.open()
    m = env.market
    status, _, action = _ask(
        env, "/auctions/order", auction_id=str(aid), energy_mwh="0.2", price="4000"
    )
    assert status == 303
    assert _submit(env, action)[0] == 200
    seller = book.client(m.seller)
    seller.place_order(aid, OrderSide.OFFER, 150_000, 300_000)
    book.close_gate(aid)
    assert "gate closed: clearing" in env.client.get("/auctions").text
    AuctionDesk(m.ctx, m.seller.account).clear(aid)
    page = env.client.get("/auctions").text
    assert 'id="cleared"' in page
    assert "trade 1: 0.15 MWh at 3500.00 CNY/MWh" in page  # uniform: (400 + 300) / 2
    detail = env.client.get(f"/auctions/{aid}").text
    assert '<td data-label="buyer" class="mono">you</td>' in detail
    assert '<td data-label="status">settled</td>' in detail
    r = env.client.get(f"/auctions/{aid}/fills.csv")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text == fills_csv(AuctionDesk(m.ctx, m.seller.account).result(aid).fills)
    assert r.text.splitlines()[1].split(",")[-3:] == ["150000", "350000", "52500"]
    assert env.client.get("/auctions/99").status_code == 404


def test_seller_offer_reserves_bond_exposure(env: Env, book: Book, tmp_path: Path) -> None:
    m = env.market
    env.market.ctx.keystore.create("seller", PASSWORD, private_key=m.seller.account.key)
    aid = book.open()
    reserved = m.registry.node_info(m.seller.address).reserved_fen
    with portal(m.ctx, m.seller, "seller", tmp_path / "contracts") as seller:
        assert "seller you offer" in seller.client.get("/auctions").text
        status, page, action = seller.ask(
            "/auctions/order", auction_id=str(aid), energy_mwh="0.2", price="2500"
        )
        assert status == 303, page
        # exposure of 0.2 MWh at the 6,000 CNY/MWh cap: 1,200 CNY x 10 % = 120 CNY
        assert f"CentralAuction.placeOrder({aid}, Offer, 200000, 250000)" in page
        assert f"bond reservation</dt><dd>{cny(12_000)}" in page
        assert "fee bound" not in page
        r = seller.client.post("/submit", data={"csrf": seller.csrf(), "action": action})
        assert "heldFen=12000" in r.text
    assert m.registry.node_info(m.seller.address).reserved_fen == reserved + 12_000


def test_auction_forms_need_the_csrf_token(env: Env, book: Book) -> None:
    env.login()
    aid = book.open()
    for path, fields in (
        ("/auctions/order", {"auction_id": str(aid), "energy_mwh": "1", "price": "4000"}),
        ("/auctions/cancel", {"order_id": "1"}),
        ("/contracts/propose", {"role": "buyer"}),
    ):
        r = env.client.post(path, data=fields)
        assert r.status_code == 403, path
    assert book.reader.order_count() == 0
