"""``gridledger intake``: the omission proof from a kept receipt file, the REGULATOR's
penalty, and refusals as one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ledger.cli import run
from ledger.clients.auction import OrderSide
from tests.auction.conftest import MIN_LOT_WH, Book
from tests.auction.test_cli import cli as cli  # the fixture: the CLI on the test chain
from tests.intake.conftest import PENALTY_FEN, Desk


def gl(*args: str) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation(input="") as streams:
        code = run(["intake", *args])
        out = streams[2].getvalue().decode()  # stdout and stderr, interleaved
    return code, out


def test_prove_omission_from_the_receipt_file(cli: Book, desk: Desk, tmp_path: Path) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    order, order_sig = desk.order(m.buyer, aid, OrderSide.BID, MIN_LOT_WH, 300_000)
    receipt, intake_sig = desk.receipt(4, order)
    kept = tmp_path / "receipt.json"
    kept.write_text(
        json.dumps(
            {
                "receipt": receipt.model_dump(),
                "signature": "0x" + intake_sig.hex(),
                "intake": desk.key.address,
                "order": order.model_dump(mode="json"),
                "order_signature": "0x" + order_sig.hex(),
            }
        )
    )
    code, out = gl("prove-omission", "--wallet", "node-91", str(kept))
    assert code == 1
    assert out.strip().startswith("error: OmissionNotYetProvable(auctionId=")
    book.close_gate(aid)
    before = m.token.balance_of(m.buyer.address)
    code, out = gl("prove-omission", "--wallet", "node-91", str(kept))
    assert code == 0, out
    assert "omission proven" in out
    assert m.token.balance_of(m.buyer.address) == before + PENALTY_FEN
    code, out = gl("prove-omission", "--wallet", "node-91", str(kept))
    assert (code, out.strip()) == (1, "error: OmissionAlreadyProven(seq=4)")


def test_penalty_and_key_are_role_gated(cli: Book, desk: Desk) -> None:
    code, out = gl("penalty", "--wallet", "regulator", "150")
    assert code == 0, out
    assert desk.intake.bond()[1] == 15_000
    code, out = gl("set-key", "--wallet", "node-91", desk.key.address)
    assert code == 1
    assert out.strip().startswith("error: AccessControlUnauthorizedAccount(account=")
