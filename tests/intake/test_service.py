"""The intake service in process (FastAPI TestClient on the test chain): signed receipts
that verify on chain, refusals with a reason, idempotent retries, and the anchorer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.clients.auction import CentralAuctionClient, OrderSide
from ledger.clients.intake import IntakeOrder, IntakeReceipt, recover_digest
from node.intake.anchorer import Anchorer
from node.intake.api import create_app
from node.intake.service import AuctionTerms, IntakeService
from node.intake.store import IntakeStore
from tests.auction.conftest import CAP, FLOOR, MIN_LOT_WH
from tests.intake.conftest import Desk
from tests.oracle.conftest import TestClient  # imported without starlette's warning

BID, OFFER = OrderSide.BID, OrderSide.OFFER


def _service(desk: Desk, db: Path) -> IntakeService:
    ctx = desk.book.market.ctx
    terms = AuctionTerms(ctx.client(CentralAuctionClient, desk.key))
    return IntakeService(IntakeStore(db), desk.key, desk.domain, terms)


def _body(order: IntakeOrder, signature: bytes) -> dict[str, Any]:
    return {"order": order.model_dump(mode="json"), "signature": "0x" + signature.hex()}


def test_receipts_verify_and_refusals_say_why(desk: Desk, tmp_path: Path) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    service = _service(desk, tmp_path / "intake.db")
    with TestClient(create_app(service)) as http:
        order, sig = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
        answer = http.post("/orders", json=_body(order, sig))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        receipt = IntakeReceipt.model_validate(body["receipt"])
        assert receipt.seq == 1
        assert receipt.order_hash == "0x" + desk.domain.digest(order).hex()
        intake_sig = bytes.fromhex(body["signature"][2:])
        assert body["intake"] == desk.key.address
        assert recover_digest(desk.intake.receipt_digest(receipt), intake_sig) == desk.key.address
        # a retry gets the same receipt; the next order the next sequence
        assert http.post("/orders", json=_body(order, sig)).json() == body
        second = desk.order(m.seller, aid, OFFER, MIN_LOT_WH, 250_000)
        assert http.post("/orders", json=_body(*second)).json()["receipt"]["seq"] == 2

        def refused(o: IntakeOrder, s: bytes) -> tuple[int, str]:
            r = http.post("/orders", json=_body(o, s))
            return r.status_code, str(r.json()["detail"])

        other, _ = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
        status, reason = refused(other, sig)  # the first order's signature
        assert status == 400
        assert reason.startswith("BadOrderSignature: signed by ")
        assert refused(*desk.order(m.buyer, 99, BID, MIN_LOT_WH, 300_000)) == (
            404,
            "UnknownAuction(auctionId=99)",
        )
        assert refused(*desk.order(m.buyer, aid, BID, MIN_LOT_WH - 1, 300_000)) == (
            422,
            f"BelowMinimumLot(auctionId={aid}, energyWh={MIN_LOT_WH - 1}, minLotWh={MIN_LOT_WH})",
        )
        assert refused(*desk.order(m.buyer, aid, BID, MIN_LOT_WH, CAP + 1)) == (
            422,
            f"PriceOutsideLimits(auctionId={aid}, priceFenPerMwh={CAP + 1}, "
            f"floorFenPerMwh={FLOOR}, capFenPerMwh={CAP})",
        )
        assert http.get("/orders/2").json()["state"] == "pending"
        assert http.get("/health").json()["orders"] == {"pending": 2}
    # the gate closes: a fresh service (no cached clock) refuses with the window
    book.close_gate(aid)
    with TestClient(create_app(_service(desk, tmp_path / "intake.db"))) as http:
        late = desk.order(m.buyer, aid, BID, MIN_LOT_WH, 300_000)
        answer = http.post("/orders", json=_body(*late))
        assert answer.status_code == 409
        assert answer.json()["detail"].startswith(f"OutsideOrderWindow(auctionId={aid}, nowS=")


def test_anchorer_puts_the_log_on_chain_once(desk: Desk, tmp_path: Path) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    book.allow(m.buyer)
    service = _service(desk, tmp_path / "intake.db")
    with TestClient(create_app(service)) as http:
        for k in range(7):
            who, side = (m.buyer, BID) if k % 2 == 0 else (m.seller, OFFER)
            order = desk.order(who, aid, side, MIN_LOT_WH * (k + 1), 200_000 + k * 10_000)
            assert http.post("/orders", json=_body(*order)).status_code == 200
    auction = m.ctx.client(CentralAuctionClient, desk.key)
    anchorer = Anchorer(service.store, desk.intake, auction, batch=3)
    assert anchorer.drain() == 7
    assert anchorer.drain() == 0
    assert service.store.counts() == {"anchored": 7}
    assert desk.intake.state() == (desk.key.address, 7, 3)
    placed = book.reader.order_ids(aid)
    assert len(placed) == 7
    # time priority follows the intake sequence
    assert [book.reader.order(i).seq for i in placed] == sorted(
        book.reader.order(i).seq for i in placed
    )
    assert [service.store.get(s).order_id for s in range(1, 8)] == placed  # type: ignore[union-attr]


@pytest.mark.parametrize("gate_in_s", [4])
def test_intake_stops_before_the_gate(desk: Desk, tmp_path: Path, gate_in_s: int) -> None:
    aid = desk.book.open(gate_in_s=gate_in_s)
    with TestClient(create_app(_service(desk, tmp_path / "intake.db"))) as http:
        order = desk.order(desk.book.market.buyer, aid, BID, MIN_LOT_WH, 300_000)
        answer = http.post("/orders", json=_body(*order))
    assert answer.status_code == 409
    assert "intakeClosesAt=" in answer.json()["detail"]
