"""The VERIFIER's pages against a real chain and a real identity vault: the queue shows an
applicant, its bundle is shown only with a stated reason (the audited read is in the
hash-chained access log), an approval through the confirmation page makes the node Active
with the exact event; a non-verifier sees no Review link and gets a 403 page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.clients.registry import NodeKind, NodeStatus, Side
from ledger.context import LedgerContext
from ledger.identity import IdentityVault, demo_bundle
from ledger.identity_audit import verify_chain
from ledger.keystore import Keystore
from node.portal.app import Portal, PortalConfig, create_app
from node.registry.participant import NodeProfile, Participant, Verifier
from tests.conftest import role_account
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import PASSWORD, Env, csrf_of
from tests.trading.conftest import Market, block_time

APPLICANT = 7
PROFILE = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=0, capacity_kw=40_000)


@dataclass
class Institution:
    """The portal of an institution's wallet (VERIFIER or OPERATOR), logged in."""

    ctx: LedgerContext
    client: httpx.Client
    url: str
    portal: Portal

    def csrf(self, path: str) -> str:
        return csrf_of(self.client.get(path).text)

    def confirm(self, path: str, data: dict[str, str], csrf_from: str) -> tuple[str, str]:
        """POST a form that goes to /confirm: (the confirmation page, its action id)."""
        r = self.client.post(
            path, data={"csrf": self.csrf(csrf_from), **data}, follow_redirects=False
        )
        assert r.status_code == 303, html.unescape(r.text)
        page = self.client.get(r.headers["location"])
        assert page.status_code == 200
        return page.text, r.headers["location"].split("action=")[1]

    def submit(self, action: str) -> str:
        r = self.client.post("/submit", data={"csrf": self.csrf("/"), "action": action})
        assert r.status_code == 200, html.unescape(r.text)
        return html.unescape(r.text)


def serve_institution(
    ctx: LedgerContext, wallet: str, account: LocalAccount, tmp_path: Path
) -> Iterator[Institution]:
    """Serve the portal of ``wallet`` (a real keystore holding ``account``) and log in."""
    keystore = Keystore(tmp_path / "keystore", scrypt_n=1024)
    keystore.create(wallet, PASSWORD, private_key=account.key)
    ctx.keystore = keystore  # type: ignore[misc]
    app = create_app(ctx, PortalConfig(wallet=wallet, idle_timeout_s=600))
    with (
        LiveServer(app) as server,
        httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as client,
    ):
        nonce = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"csrf": nonce, "password": PASSWORD})
        assert r.status_code == 200
        yield Institution(ctx, client, server.url, app.state.portal)


@dataclass
class Review:
    inst: Institution
    vault: IdentityVault
    applicant: Participant


def vault_settings(market: Market, tmp_path: Path) -> IdentityVault:
    """Point the context's settings at a vault of this test (database and key) and open it
    as the CLI does."""
    ctx = market.ctx
    ctx.settings = ctx.settings.model_copy(  # type: ignore[misc]
        update={
            "database_url_override": f"sqlite:///{tmp_path}/vault.db",
            "identity_key_file_override": tmp_path / "identity.key",
        }
    )
    return IdentityVault.from_settings(ctx.settings)


@pytest.fixture
def review(market: Market, tmp_path: Path) -> Iterator[Review]:
    """The verifier's portal; node-7 applied with its bundle stored in the vault."""
    vault = vault_settings(market, tmp_path)
    applicant = Participant(market.ctx, market.ctx.account(f"node-{APPLICANT}"))
    applicant.apply(PROFILE, demo_bundle(APPLICANT), vault, display_name="Bohai Wind 7")
    for inst in serve_institution(market.ctx, "verifier", role_account("VERIFIER"), tmp_path):
        yield Review(inst, vault, applicant)
    vault.close()


def test_verifier_views_the_bundle_with_a_reason_and_approves(review: Review) -> None:
    c, node = review.inst.client, review.applicant.address
    home = c.get("/").text
    assert 'id="nav-review"' in home
    queue = c.get("/review").text
    assert f'id="review-application-{node}"' in queue
    page = c.get(f"/review/node/{node}").text
    assert "Bohai Wind 7" in page
    assert "wind (seller)" in page
    assert "40,000 kW" in page
    assert "Demo Person 7" not in page  # the bundle is not shown without a reason
    assert review.vault.audit.entries() == []
    # a view without a reason is refused with one line, and nothing is decrypted or logged
    r = c.post(f"/review/node/{node}/view", data={"csrf": csrf_of(page), "reason": "  "})
    assert r.status_code == 422
    refused = re.findall(r'<p class="error" id="view-error">([^<]*)</p>', r.text)
    assert refused == ["Refused: a reason for reading identity data is required"]
    assert "Demo Person 7" not in r.text
    assert review.vault.audit.entries() == []
    # with a reason: the bundle is shown and the read is logged with reader, node, reason
    r = c.post(
        f"/review/node/{node}/view", data={"csrf": csrf_of(page), "reason": "onboarding check"}
    )
    assert r.status_code == 200
    bundle = demo_bundle(APPLICANT)
    for value in (bundle.name, bundle.legal_representative, bundle.id_number, bundle.uscc):
        assert value in r.text
    verifier = str(role_account("VERIFIER").address)
    (entry,) = review.vault.audit.entries()
    assert (entry.reader, entry.role, entry.address, entry.reason, entry.outcome) == (
        verifier,
        "verifier",
        node,
        "onboarding check",
        "read",
    )
    assert entry.record_id == review.vault.records_of(node)[0]
    # approve through the confirmation page
    info = review.applicant.registry.node_info(node)
    confirm, action = review.inst.confirm(
        "/review/approve",
        {"node": node, "what": "application", "reason": "application review"},
        f"/review/node/{node}",
    )
    confirm = html.unescape(confirm)
    assert f"NodeRegistry.approveNode({node})" in confirm
    assert "0x" + info.identity_hash.hex() in confirm
    assert "logged with the reason 'application review'" in confirm
    assert review.applicant.registry.status_of(node) == NodeStatus.PENDING  # nothing sent yet
    done = review.inst.submit(action)
    assert review.applicant.registry.status_of(node) == NodeStatus.ACTIVE
    assert (
        f"NodeApproved(node={node}, entityHash=0x{info.entity_hash.hex()}, "
        f"verifier={verifier})" in done
    )
    assert re.search(r"tx hash</dt><dd class=\"mono\">0x[0-9a-f]{64}<", done)
    # the approval read and checked the bundle again: a second logged read
    entries = review.vault.audit.entries()
    assert [(e.reason, e.outcome) for e in entries] == [
        ("onboarding check", "read"),
        ("application review", "read"),
    ]
    assert verify_chain(entries).ok
    assert f'id="review-application-{node}"' not in c.get("/review").text


def test_approve_without_a_reason_and_reject_with_a_bad_code(review: Review) -> None:
    node = review.applicant.address
    c = review.inst.client
    csrf = review.inst.csrf(f"/review/node/{node}")
    r = c.post("/review/approve", data={"csrf": csrf, "node": node, "what": "application"})
    assert r.status_code == 422
    assert re.findall(r'id="decision-error">([^<]*)<', r.text) == [
        "a reason for reading identity data is required"
    ]
    r = c.post("/review/reject", data={"csrf": csrf, "node": node, "reason": "É"})
    assert r.status_code == 422
    assert "a code must be 1-32 ASCII characters" in html.unescape(r.text)
    confirm, action = review.inst.confirm(
        "/review/reject", {"node": node, "reason": "DOCS_INCOMPLETE"}, f"/review/node/{node}"
    )
    assert f"NodeRegistry.rejectNode({node}, DOCS_INCOMPLETE)" in confirm
    done = review.inst.submit(action)
    assert review.applicant.registry.status_of(node) == NodeStatus.REJECTED
    reason_hex = b"DOCS_INCOMPLETE".ljust(32, b"\0").hex()
    assert f"reasonCode=0x{reason_hex}" in done
    assert review.vault.audit.entries() == []  # a rejection reads no identity data


def test_a_non_verifier_gets_no_review_link_and_a_403(env: Env) -> None:
    env.login()
    assert 'id="nav-review"' not in env.client.get("/").text
    r = env.client.get("/review")
    assert r.status_code == 403
    assert re.findall(r'<p class="error" id="error">([^<]*)</p>', html.unescape(r.text)) == [
        "Refused: these pages are for a wallet holding the VERIFIER role; buyer does not hold it."
    ]
    assert env.client.get("/operator").status_code == 403


def test_certificate_and_change_request_approved_through_the_portal(review: Review) -> None:
    node, ctx = review.applicant.address, review.inst.ctx
    Verifier(ctx, role_account("VERIFIER"), review.vault).approve(node, "set-up")
    expires = block_time(ctx) + 365 * 86_400
    review.applicant.qualify("GEN_LICENCE", "GL-0007", expires)
    renewed = demo_bundle(APPLICANT, name="Bohai Wind Power Co. 7")
    review.applicant.request_change(capacity_kw=45_000, bundle=renewed, vault=review.vault)
    change_id = review.applicant.registry.change_request_of(node).change_id
    queue = review.inst.client.get("/review").text
    assert f'id="review-qualification-{node}"' in queue
    assert f'id="review-change-{node}"' in queue
    assert f"#{change_id}: region 0, 45000 kW" in queue
    page = html.unescape(review.inst.client.get(f"/review/node/{node}").text)
    assert "new: its bundle is read and checked at approval" in page
    # the certificate
    confirm, action = review.inst.confirm(
        "/review/approve",
        {"node": node, "what": "qualification", "licence": "GEN_LICENCE"},
        f"/review/node/{node}",
    )
    assert f"NodeRegistry.approveQualification({node}, GEN_LICENCE)" in confirm
    done = review.inst.submit(action)
    licence_hex = b"GEN_LICENCE".ljust(32, b"\0").hex()
    number_hex = Web3.keccak(text="GL-0007").hex().removeprefix("0x")
    verifier = str(role_account("VERIFIER").address)
    assert (
        f"QualificationApproved(node={node}, licenceType=0x{licence_hex}, "
        f"numberHash=0x{number_hex}, expiresAt={expires}, verifier={verifier})" in done
    )
    (q,) = review.applicant.registry.qualifications_of(node)
    assert (q.valid, q.pending, q.expires_at) == (True, False, expires)
    # the change: its new bundle is read (logged with the reason) and checked
    confirm, action = review.inst.confirm(
        "/review/approve",
        {"node": node, "what": "change", "reason": "capacity upgrade"},
        f"/review/node/{node}",
    )
    assert f"NodeRegistry.approveChange({node})" in confirm
    done = review.inst.submit(action)
    assert f"ChangeApproved(node={node}, changeId={change_id}, verifier={verifier})" in done
    info = review.applicant.registry.node_info(node)
    assert (info.capacity_kw, info.identity_hash) == (45_000, renewed.bundle_hash)
    last = review.vault.audit.entries()[-1]
    assert (last.reason, last.outcome, last.address) == ("capacity upgrade", "read", node)
    assert "nothing awaits review" in review.inst.client.get("/review").text
