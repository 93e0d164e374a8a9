"""The portal's contracts pages against a real chain: two portals, the seller's (node-1,
wind) and the buyer's (node-3, consumer), each with its own keystore and message store,
negotiate (propose, counter, accept), co-sign and register a wholesale contract end to end
by handing each other the files their pages offer; a bad term is one line; the signed
bundle verifies offline; an amendment is co-signed and applied."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ledger.bilateral.bundle import Bundle, verify_bundle
from ledger.bilateral.templates import RETAIL_AGENCY, WHOLESALE
from ledger.clients.bilateral import BilateralContractsClient, ContractStatus
from ledger.context import LedgerContext
from ledger.keystore import Keystore
from node.portal.app import PortalConfig, create_app
from tests.conftest import role_account
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import PASSWORD, csrf_of
from tests.trading.conftest import Actor, Market
from tests.trading.conftest import market as market  # re-exported fixture


@dataclass
class Party:
    """One organisation's portal, logged in."""

    actor: Actor
    client: httpx.Client

    def csrf(self) -> str:
        return csrf_of(self.client.get("/contracts").text)

    def ask(self, path: str, **fields: str) -> tuple[int, str, str]:
        """Post a form; (status, page, action id): the confirmation page on success."""
        r = self.client.post(path, data={"csrf": self.csrf(), **fields}, follow_redirects=False)
        if r.status_code != 303:
            return r.status_code, html.unescape(r.text), ""
        page = self.client.get(r.headers["location"])
        assert page.status_code == 200
        return 303, html.unescape(page.text), r.headers["location"].split("action=")[1]

    def confirm(self, path: str, **fields: str) -> tuple[str, str]:
        """The confirmation page, then the result page after signing."""
        status, page, action = self.ask(path, **fields)
        assert status == 303, page
        r = self.client.post("/submit", data={"csrf": self.csrf(), "action": action})
        assert r.status_code == 200, r.text
        return page, html.unescape(r.text)

    def load(self, text: str) -> str:
        r = self.client.post("/contracts/load", data={"csrf": self.csrf(), "file": text})
        assert r.status_code == 200, r.text
        found = re.search(r'<p class="ok" id="loaded">(.*?)</p>', r.text)
        assert found, r.text
        return html.unescape(found.group(1))


def error_of(page: str) -> str:
    found = re.search(r'<p class="error" id="error">(.*?)</p>', page)
    assert found, page
    return html.unescape(found.group(1))


@contextmanager
def portal(ctx: LedgerContext, actor: Actor, wallet: str, store_dir: Path) -> Iterator[Party]:
    app = create_app(ctx, PortalConfig(wallet=wallet, idle_timeout_s=600))
    app.state.contracts.store_dir = store_dir
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client,
    ):
        nonce = csrf_of(client.get("/login").text)
        client.post("/login", data={"csrf": nonce, "password": PASSWORD})
        yield Party(actor, client)


@dataclass
class Two:
    market: Market
    seller: Party
    buyer: Party

    @property
    def chain(self) -> BilateralContractsClient:
        return self.market.ctx.client(BilateralContractsClient, self.market.buyer.account)


@pytest.fixture
def two(market: Market, tmp_path: Path) -> Iterator[Two]:
    ctx = market.ctx
    operator = ctx.client(BilateralContractsClient, role_account("OPERATOR"))
    for t in (WHOLESALE, RETAIL_AGENCY):
        operator.publish_template(t.kind, t.version, t.template_hash())
    keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
    keystore.create("seller", PASSWORD, private_key=market.seller.account.key)
    keystore.create("buyer", PASSWORD, private_key=market.buyer.account.key)
    ctx.keystore = keystore  # both organisations' keystores
    with (
        portal(ctx, market.seller, "seller", tmp_path / "seller") as seller,
        portal(ctx, market.buyer, "buyer", tmp_path / "buyer") as buyer,
    ):
        yield Two(market, seller, buyer)


def terms_of(market: Market, **overrides: str) -> dict[str, str]:
    """The seller's proposal form: 2 and 3 MWh in the fixture's period and the next."""
    terms = {
        "template": "wholesale@1",
        "role": "seller",
        "my_name": "Wind Farm One",
        "counterparty": market.buyer.address,
        "counterparty_name": "Steel Works",
        "first_period_id": str(market.period.id),
        "first_interval": "0",
        "last_interval": "95",
        "schedule_mwh": "2, 3",
        "price": "3500",
        "tolerance_bps": "500",
        "note": "offer",
    }
    return terms | overrides


def _nid(page: str) -> str:
    found = re.search(r"/contracts/n/(0x[0-9a-f]{64})/", page)
    assert found, page
    return found.group(1)


def _envelope(party: Party, nid: str) -> str:
    r = party.client.get(f"/contracts/n/{nid}/envelope.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.text


def negotiate_and_register(two: Two) -> str:
    """Seller proposes, buyer counters, seller accepts, both sign, the buyer registers."""
    seller, buyer, m = two.seller, two.buyer, two.market
    pid = m.period.id
    page, done = seller.confirm("/contracts/propose", **terms_of(m))
    assert "EIP-712 NegotiationStep(kind=proposal, step 1)" in page
    assert f"Steel Works ({m.buyer.address})" in page
    assert "you are</dt><dd>seller" in page
    assert f"5 MWh (5,000,000 Wh) in all ({pid}: 2 MWh (2,000,000 Wh); {pid + 1}: 3 MWh" in page
    assert "3500.00 CNY/MWh (350,000 fen/MWh)" in page
    assert f"{pid} to {pid + 1}, intervals 0-95" in page
    assert "17500.00 CNY (1,750,000 fen)" in page  # 5 MWh x 3,500 CNY/MWh
    nid = _nid(done)
    assert buyer.load(_envelope(seller, nid)) == f"stored proposal from {m.seller.address}"
    assert "your answer" in buyer.client.get("/contracts").text
    assert "waiting for them" in seller.client.get("/contracts").text
    page, done = buyer.confirm(
        "/contracts/counter", negotiation_id=nid, schedule_mwh="2, 3", price="3400", note="lower"
    )
    assert f"Wind Farm One ({m.seller.address})" in page
    assert "3400.00 CNY/MWh (340,000 fen/MWh)" in page
    assert seller.load(_envelope(buyer, nid)) == f"stored counter from {m.buyer.address}"
    page, done = seller.confirm("/contracts/accept", negotiation_id=nid, note="agreed")
    assert "NegotiationStep(kind=accept, step 3)" in page
    assert buyer.load(_envelope(seller, nid)) == f"stored accept from {m.seller.address}"
    page, done = seller.confirm("/contracts/sign", negotiation_id=nid)
    assert "EIP-712 ContractTerms (digest 0x" in page
    signature = seller.client.get(f"/contracts/n/{nid}/signature.json").text
    buyer.confirm("/contracts/sign", negotiation_id=nid)
    assert buyer.load(signature) == f"stored the terms signature of {m.seller.address}"
    page, done = buyer.confirm("/contracts/register", negotiation_id=nid)
    assert "BilateralContracts.register(terms, 0x" in page
    assert "Contract 1 registered" in done
    assert (
        "ContractRegistered(contractNo=1, periods=2, scheduledWh=5000000, priceFenPerMwh=340000)"
        in done
    )
    return nid


def test_two_portals_negotiate_sign_and_register(two: Two) -> None:
    negotiate_and_register(two)
    m = two.market
    c = two.chain.contract_of(1)
    assert (c.status, c.seller, c.buyer, c.price_fen_per_mwh) == (
        ContractStatus.ACTIVE,
        m.seller.address,
        m.buyer.address,
        340_000,
    )
    assert [p.energy_wh for p in two.chain.schedule(1)] == [2_000_000, 3_000_000]
    (event,) = two.chain.contract.events["ContractRegistered"]().get_logs(from_block=0)
    assert event["args"]["registrant"] == m.buyer.address
    assert "0x" + event["args"]["termsDigest"].hex() == c.terms_digest
    for party in (two.seller, two.buyer):
        listed = party.client.get("/contracts").text
        assert '<td data-label="state" class="contract-state">active</td>' in listed
        assert "registered as contract 1" in listed
        detail = party.client.get("/contracts/1").text
        assert "lower" in detail
        assert "agreed" in detail
    bundle = Bundle.model_validate_json(two.buyer.client.get("/contracts/1/bundle.json").text)
    report = verify_bundle(bundle)
    assert (report.contract_no, report.document_hash) == (1, c.document_hash)
    document = two.seller.client.get("/contracts/1/document.html").text
    assert "Wholesale electricity purchase and sale contract" in document
    assert "Wind Farm One" in document


def test_bad_terms_are_one_line(two: Two) -> None:
    m = two.market
    status, page, _ = two.seller.ask("/contracts/propose", **terms_of(m, price="0"))
    assert status == 422
    assert error_of(page) == "price_fen_per_mwh: Input should be greater than 0"
    status, page, _ = two.seller.ask(
        "/contracts/propose", **terms_of(m, first_interval="10", last_interval="5")
    )
    assert error_of(page) == "form: first_interval must not exceed last_interval"
    status, page, _ = two.seller.ask("/contracts/propose", **terms_of(m, schedule_mwh="2, x"))
    assert error_of(page) == "schedule_mwh: not an energy in MWh: 'x'"
    status, page, _ = two.seller.ask("/contracts/propose", **terms_of(m, counterparty="0x12"))
    assert error_of(page).startswith("counterparty: String should match pattern")
    assert 'value="Wind Farm One"' in page  # the form keeps what was typed
    r = two.buyer.client.post(
        "/contracts/load", data={"csrf": two.buyer.csrf(), "file": '{"step": 1}'}
    )
    assert r.status_code == 422
    assert re.search(r'id="load-error">file: step: ', r.text), r.text
    # a tampered envelope: its signature no longer recovers its sender
    page, done = two.seller.confirm("/contracts/propose", **terms_of(m))
    own = _envelope(two.seller, _nid(done))
    r = two.seller.client.post("/contracts/load", data={"csrf": two.seller.csrf(), "file": own})
    assert "file: this is your own step: hand it to the counterparty" in html.unescape(r.text)
    envelope = json.loads(own)
    envelope["fields"]["price_fen_per_mwh"] = 1
    r = two.buyer.client.post(
        "/contracts/load", data={"csrf": two.buyer.csrf(), "file": json.dumps(envelope)}
    )
    assert r.status_code == 422
    assert "its terms hash does not match its fields" in html.unescape(r.text)


def test_amendment_cosigned_and_applied(two: Two) -> None:
    negotiate_and_register(two)
    page, done = two.seller.confirm(
        "/contracts/amend", contract_no="1", schedule_mwh="2, 4", price="3300"
    )
    assert "3400.00 CNY/MWh (340,000 fen/MWh) → 3300.00 CNY/MWh (330,000 fen/MWh)" in page
    assert "EIP-712 Amendment(contract 1, sequence 1)" in page
    amendment = two.seller.client.get("/contracts/1/amendment.json").text
    assert two.buyer.load(amendment) == "stored amendment 1 of contract 1"
    page, done = two.buyer.confirm("/contracts/cosign", contract_no="1")
    assert "BilateralContracts.amend(amendment, sellerSig, buyerSig)" in page
    assert "Contract 1 amended" in done  # the periods are outside gate closure
    c = two.chain.contract_of(1)
    assert (c.sequence, c.price_fen_per_mwh) == (1, 330_000)
    assert [p.energy_wh for p in two.chain.schedule(1)] == [2_000_000, 4_000_000]
    page = two.seller.client.get("/contracts/1").text
    assert "ContractAmended" in page
    assert 'id="amendment"' not in page  # nothing waits for signatures any more
    for party in (two.seller, two.buyer):  # the amended document, from the amendment file
        bundle = Bundle.model_validate_json(party.client.get("/contracts/1/bundle.json").text)
        assert verify_bundle(bundle).document_hash == c.document_hash
        assert bundle.fields["price_fen_per_mwh"] == 330_000


def test_rejected_negotiation_closes(two: Two) -> None:
    page, done = two.seller.confirm("/contracts/propose", **terms_of(two.market))
    nid = _nid(done)
    two.buyer.load(_envelope(two.seller, nid))
    status, page, _ = two.seller.ask("/contracts/accept", negotiation_id=nid)
    assert status == 422
    assert error_of(page) == "the last step is yours: wait for the counterparty's answer"
    page, done = two.buyer.confirm("/contracts/reject", negotiation_id=nid, note="too dear")
    assert "NegotiationStep(kind=reject, step 2)" in page
    assert "Negotiation step signed: reject" in done
    assert (
        two.seller.load(_envelope(two.buyer, nid))
        == f"stored reject from {two.market.buyer.address}"
    )
    for party in (two.seller, two.buyer):
        assert '<dd id="state">rejected</dd>' in party.client.get(f"/contracts/n/{nid}").text
    status, page, _ = two.seller.ask("/contracts/sign", negotiation_id=nid)
    assert error_of(page) == f"negotiation {nid} is not accepted"
