"""Bilateral contracts in the gateway: projection, search, contract page, document archive,
downloads and the verification bundle (which verifies offline)."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine

from gateway.contracts_archive import ContractQuery, archive_document, reader, search
from gateway.indexer import Indexer
from ledger.bilateral.bundle import Bundle, verify_bundle
from tests.contracts_bilateral.conftest import SCHEDULE, Parties, parties  # noqa: F401
from tests.gateway.conftest import AUDITOR
from tests.trading.conftest import market  # noqa: F401 - the fixture under parties


def _two_contracts(p: Parties) -> tuple[int, int, str]:
    nid = p.negotiate()
    first = p.seller.register(nid, *p.cosign(nid))
    offer = p.retailer.propose(
        "retail-agency",
        p.fields(
            seller={"address": p.retailer.account.address, "name": "City Retail"},
            schedule_wh=[1_000_000],
            agency_fee_fen_per_mwh=500,
        ),
    )
    p.buyer.receive(offer)
    accept = p.buyer.accept(offer.step.negotiation_id)
    p.retailer.receive(accept)
    nid2 = offer.step.negotiation_id
    second = p.buyer.register(nid2, p.retailer.sign_terms(nid2), p.buyer.sign_terms(nid2))
    return first, second, nid


def test_contracts_projected_searched_archived_and_bundled(
    parties: Parties,  # noqa: F811
    indexer: Indexer,
    gw_engine: Engine,
    live: tuple[str, httpx.Client],
    tmp_path: Path,
) -> None:
    first, second, nid = _two_contracts(parties)
    parties.buyer.approve_escrow(10**9)
    parties.buyer.form_period(first, parties.market.period.id)
    indexer.run_once()
    with gw_engine.connect() as conn:
        everything = search(conn, ContractQuery())
        assert [c["contract_no"] for c in everything] == [second, first]
        one = everything[1]
        assert (one["kind"], one["status"], one["scheduled_wh"], one["traded_wh"]) == (
            "wholesale",
            "active",
            sum(SCHEDULE),
            SCHEDULE[0],
        )
        by_kind = search(conn, ContractQuery(kind="retail-agency"))
        assert [c["contract_no"] for c in by_kind] == [second]
        retailer = parties.retailer.account.address
        assert [c["contract_no"] for c in search(conn, ContractQuery(party=retailer))] == [second]
        pid = parties.market.period.id
        assert len(search(conn, ContractQuery(period=pid + 1))) == 1
        assert search(conn, ContractQuery(status="completed")) == []
        assert search(conn, ContractQuery(registered_from=one["created_time"] + 10**6)) == []

    _url, client = live
    listed = client.get("/api/v1/contracts", params={"party": retailer}).json()
    assert [c["contract_no"] for c in listed] == [second]
    detail = client.get(f"/api/v1/contracts/{first}").json()
    assert [p["period"] for p in detail["periods"]] == [parties.market.period.id]
    assert [e["event"] for e in detail["events"]] == ["ContractRegistered", "PeriodTradeFormed"]
    page = client.get(f"/contracts/{first}")
    assert page.status_code == 200
    assert "Schedule and execution" in page.text
    assert "Bilateral contracts" in client.get("/contracts", params={"kind": "wholesale"}).text
    assert client.get(f"/api/v1/contracts/{first}/document.pdf", headers=AUDITOR).status_code == 404
    assert client.get(f"/api/v1/contracts/{first}/bundle").status_code == 403

    fields = parties.seller.agreement(nid).fields.model_dump(mode="json")
    archive_document(gw_engine, reader(parties.market.ctx), first, "wholesale", fields)
    pdf = client.get(f"/api/v1/contracts/{first}/document.pdf", headers=AUDITOR)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    html = client.get(f"/api/v1/contracts/{first}/document.html", headers=AUDITOR)
    assert "Wind Farm One" in html.text
    bundle = client.get(f"/api/v1/contracts/{first}/bundle", headers=AUDITOR)
    assert verify_bundle(Bundle.model_validate(bundle.json())).contract_no == first
