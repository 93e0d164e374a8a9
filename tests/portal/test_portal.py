"""The participant portal against a real chain: log-in, CSRF, session timeout, the
confirmation page's figures, refused and reverted takes as one readable line, a take."""

from __future__ import annotations

import html
import re

import pytest

from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from ledger.units import fen_to_cny
from node.portal.sessions import COOKIE
from node.registry.participant import Participant, Verifier
from node.reputation.api import ReputationDesk
from tests.conftest import role_account
from tests.portal.conftest import Env, csrf_of
from tests.trading.conftest import advance_time, block_time


def _confirm(env: Env, listing_id: int, energy_mwh: str) -> tuple[str, str]:
    """Ask to take; return the confirmation page's html and its action id."""
    r = env.client.post(
        "/take",
        data={"csrf": env.csrf(), "listing_id": str(listing_id), "energy_mwh": energy_mwh},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    action = r.headers["location"].split("action=")[1]
    page = env.client.get(r.headers["location"])
    assert page.status_code == 200
    return page.text, action


def _submit(env: Env, action: str) -> str:
    r = env.client.post(
        "/submit", data={"csrf": csrf_of(env.client.get("/").text), "action": action}
    )
    return r.text


def test_login_wrong_password_then_right_and_logout_wipes_key(env: Env) -> None:
    r = env.client.get("/", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login"
    r = env.login("not the password")
    assert r.status_code == 401
    assert "Wrong password." in r.text
    r = env.login()
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    status = env.client.get("/")
    assert "active" in status.text
    assert "consumer (buyer)" in status.text
    session = env.portal.sessions.get(env.client.cookies[COOKIE])
    assert session is not None
    assert session.account is not None
    assert session.account.address == env.market.buyer.address
    env.client.post("/logout", data={"csrf": csrf_of(status.text)})
    assert session.account is None
    assert env.client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_csrf_refused(env: Env) -> None:
    env.login()
    r = env.client.post("/take", data={"listing_id": "1", "energy_mwh": "1"})
    assert r.status_code == 403
    assert "CSRF token is missing or wrong" in r.text
    r = env.client.post("/take", data={"csrf": "forged", "listing_id": "1", "energy_mwh": "1"})
    assert r.status_code == 403
    nonce = csrf_of(env.client.get("/login").text)
    env.client.cookies.delete("gl_portal_login")
    r = env.client.post("/login", data={"csrf": nonce, "password": "x"})
    assert "CSRF check failed" in r.text


def test_session_idle_timeout(env: Env) -> None:
    env.login()
    sessions = env.portal.sessions
    now = [1_000.0]
    sessions.clock = lambda: now[0]
    assert env.client.get("/").status_code == 200  # touched at 1000
    now[0] += 599
    assert env.client.get("/").status_code == 200  # still live: touched at 1599
    now[0] += 601
    r = env.client.get("/offers", follow_redirects=False)
    assert r.headers["location"] == "/login?expired=1"
    assert "Your session expired" in env.client.get("/login?expired=1").text


def test_confirmation_page_shows_exact_figures(env: Env) -> None:
    env.login()
    listing_id = env.listings[0]
    page, _ = _confirm(env, listing_id, "1.5")
    q = env.market.buyer.market.quote(listing_id, env.market.buyer.region, 1_500_000)
    seller = env.market.seller.address
    assert f"TradingMarket.take({listing_id}, 1500000, {q.price_fen_per_mwh})" in page
    assert "1.5 MWh (1,500,000 Wh)" in page
    assert f"{fen_to_cny(q.price_fen_per_mwh)} CNY/MWh ({q.price_fen_per_mwh:,} fen/MWh)" in page
    for fen in (q.energy_fen, q.fee_fen, q.escrow_fen):
        assert f"{fen_to_cny(fen)} CNY ({fen:,} fen)" in page
    assert seller in page
    assert f"0 → 3: {'&gt;'.join(map(str, q.route))}" in page  # North to City via Coast
    assert f"{env.market.period.id}, intervals 0-3" in page
    assert "SettlementToken.approve" in page  # no allowance yet: the approve is signed too


def test_take_with_insufficient_balance(env: Env) -> None:
    env.login()
    b = env.market.buyer
    listing_id = env.listings[0]
    q = b.market.quote(listing_id, b.region, 1_000_000)
    # Confirmed while the balance covers it; then the balance drops: the chain refuses.
    _, action = _confirm(env, listing_id, "1")
    balance = b.token.balance_of(b.address)
    b.token.transfer(env.market.buyer2.address, balance - q.escrow_fen + 1)
    text = _submit(env, action)
    expected = (
        f"InsufficientBalance(buyer={b.address}, balanceFen={q.escrow_fen - 1}, "
        f"neededFen={q.escrow_fen})"
    )
    assert expected in text
    assert "Traceback" not in text
    # Asked again now: refused before the confirmation page, on the form.
    r = env.client.post(
        "/take", data={"csrf": env.csrf(), "listing_id": str(listing_id), "energy_mwh": "1"}
    )
    assert r.status_code == 422
    assert re.search(r"insufficient balance: the prepayment is [\d,.]+ CNY", r.text)


def test_take_expired_listing_and_bad_input(env: Env) -> None:
    env.login()
    advance_time(env.market.ctx, 700)
    r = env.client.post(
        "/take", data={"csrf": env.csrf(), "listing_id": str(env.expiring), "energy_mwh": "0.5"}
    )
    assert r.status_code == 422
    assert f"listing {env.expiring} expired at" in r.text
    assert "it can no longer be taken" in r.text
    r = env.client.post("/take", data={"csrf": env.csrf(), "listing_id": "1", "energy_mwh": "-2"})
    assert r.status_code == 422
    assert 'id="take-error"' in r.text


def test_successful_take_and_pages(env: Env) -> None:
    env.login()
    listing_id = env.listings[1]
    _, action = _confirm(env, listing_id, "2")
    text = _submit(env, action)
    trade_id = int(re.search(r"Trade (\d+) created", text).group(1))  # type: ignore[union-attr]
    trade = env.market.buyer.market.trade(trade_id)
    assert trade.buyer == env.market.buyer.address
    assert trade.energy_wh == 2_000_000
    assert trade.status == TradeStatus.FORMED
    assert f"TradeCreated(trade {trade_id}, listing {listing_id})" in text
    assert re.search(r"0x[0-9a-f]{64}", text)
    # the same action cannot be signed twice
    assert _submit(env, action).count("Nothing waits for confirmation") == 1
    trades = env.client.get("/trades").text
    assert f'<td data-label="id">{trade_id}</td>' in trades
    assert "formed" in trades
    csv = env.client.get(f"/statements/{env.market.period.id}.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    for path in ("/statements", "/ratings", "/offers", "/"):
        assert env.client.get(path).status_code == 200, path


def test_rating_goes_through_confirmation_and_the_chain_refusal_reads_as_one_line(
    env: Env,
) -> None:
    env.login()
    _, action = _confirm(env, env.listings[0], "1")
    trade_id = int(re.search(r"Trade (\d+) created", _submit(env, action)).group(1))  # type: ignore[union-attr]
    r = env.client.post("/rate", data={"csrf": env.csrf("/ratings"), "trade_id": str(trade_id),
                                       "score": "9"})  # fmt: skip
    assert r.status_code == 422
    assert "score: Input should be less than or equal to 5" in r.text
    r = env.client.post(
        "/rate", data={"csrf": env.csrf("/ratings"), "trade_id": str(trade_id), "score": "4"}
    )
    assert f"ReputationLedger.rate({trade_id}, 4, 0x00…)" in r.text
    assert env.market.seller.address in r.text
    action = r.text.split('name="action" value="')[1].split('"')[0]
    desk = ReputationDesk(env.market.ctx, env.market.buyer.account)
    with pytest.raises(ContractRevertError) as refused:  # the trade is not settled yet
        desk.rate(trade_id, 4)
    text = _submit(env, action)
    assert f'<p class="error" id="error">{html.escape(refused.value.signature)}</p>' in text
    # settled: the rating goes through; the seller's rating back shows as received
    env.market.settler.mark_dispatched(trade_id, 1_000_000, 0)
    env.market.settler.close_trade(trade_id, TradeStatus.SETTLED)
    page = env.client.get("/ratings").text
    assert 'name="score"' in page
    r = env.client.post(
        "/rate", data={"csrf": csrf_of(page), "trade_id": str(trade_id), "score": "4"}
    )
    action = r.text.split('name="action" value="')[1].split('"')[0]
    text = _submit(env, action)
    assert f"RatingSubmitted(trade {trade_id}, score 4)" in text
    assert env.market.seller.address in text
    ReputationDesk(env.market.ctx, env.market.seller.account).rate(trade_id, 5)
    page = env.client.get("/ratings").text
    assert 'name="score"' not in page
    assert '<td data-label="received">5</td>' in page
    assert '<td data-label="given">4</td>' in page


def test_status_shows_bond_and_qualification_warnings(env: Env) -> None:
    env.login()
    ctx, buyer = env.market.ctx, env.market.buyer
    node = Participant(ctx, buyer.account)
    now = block_time(ctx)
    node.qualify("SUPPLY_LICENCE", "S-1", now + 10 * 86_400 - 3_600)
    Verifier(ctx, role_account("VERIFIER")).approve_qualification(buyer.address, "SUPPLY_LICENCE")
    node.qualify("GRID_ACCESS", "G-7", now + 400 * 86_400)  # not yet approved
    page = env.client.get("/").text
    info = buyer.registry.node_info(buyer.address)
    assert f"{fen_to_cny(info.bond_fen)} CNY ({info.bond_fen:,} fen)" in page
    assert f"{fen_to_cny(info.required_bond_fen)} CNY ({info.required_bond_fen:,} fen)" in page
    assert "SUPPLY_LICENCE: expires in 9 days" in page
    assert "GRID_ACCESS: pending approval" in page


def test_unexpected_error_is_one_line(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.login()

    def boom(trader: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("node.portal.pages.status_view", boom)
    r = env.client.get("/")
    assert r.status_code == 500
    assert '<p class="error" id="error">unexpected error: boom</p>' in r.text
    assert "Traceback" not in r.text
