"""SIGKILL the intake (a real ``gridledger intake serve`` process) between acknowledging
orders and anchoring them, then kill an anchorer right after its batch landed but before
it recorded the outcome: after a restart every acknowledged order is on chain exactly
once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from ledger.clients.auction import OrderSide
from ledger.clients.intake import IntakeReceipt, recover_digest
from ledger.engines.local import free_port
from node.intake.anchorer import CRASH_ENV
from node.intake.store import IntakeStore
from tests.auction.conftest import MIN_LOT_WH
from tests.intake.conftest import INTAKE_WALLET, Desk

GRIDLEDGER = str(Path(sys.executable).with_name("gridledger"))
ORDERS = 12


def _env(desk: Desk, **extra: str) -> dict[str, str]:
    settings = desk.book.market.ctx.settings
    env = dict(os.environ)
    env.update(
        GRIDLEDGER_RPC_URL=settings.rpc_url,
        GRIDLEDGER_DATA_DIR=str(settings.data_dir),
        GRIDLEDGER_DEMO_KEYS="1",
        **extra,
    )
    return env


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the intake exited"
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the intake did not start")


def _anchor(desk: Desk, db: Path, **extra: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [GRIDLEDGER, "intake", "anchor", "--wallet", INTAKE_WALLET, "--db", str(db)]
    return subprocess.run(
        [*cmd, "--batch", "5"], env=_env(desk, **extra), capture_output=True, timeout=300
    )


def test_sigkill_after_ack_and_after_anchor_every_order_lands_once(
    desk: Desk, tmp_path: Path
) -> None:
    book, m = desk.book, desk.book.market
    aid = book.open()
    book.allow(m.buyer)  # buyer2 gives no allowance: its bids are recorded as rejected
    db = tmp_path / "intake.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [GRIDLEDGER, "intake", "serve", "--wallet", INTAKE_WALLET, "--db", str(db)]
    proc = subprocess.Popen(
        [*serve, "--port", str(port), "--no-anchor"],
        env=_env(desk),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    receipts: list[IntakeReceipt] = []
    try:
        _wait_up(url, proc)
        for k in range(ORDERS):
            who, side = [(m.buyer, OrderSide.BID), (m.seller, OrderSide.OFFER)][k % 2]
            if k % 5 == 4:
                who = m.buyer2
                side = OrderSide.BID
            order, sig = desk.order(who, aid, side, MIN_LOT_WH * (k + 1), 250_000 + k * 1_000)
            body = {"order": order.model_dump(mode="json"), "signature": "0x" + sig.hex()}
            answer = httpx.post(f"{url}/orders", json=body, timeout=30)
            assert answer.status_code == 200, answer.text
            receipt = IntakeReceipt.model_validate(answer.json()["receipt"])
            signature = bytes.fromhex(answer.json()["signature"][2:])
            assert recover_digest(desk.domain.digest(receipt), signature) == desk.key.address
            receipts.append(receipt)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert desk.intake.state()[1] == 0  # acknowledged, nothing anchored yet

    # an anchorer dies right after its first batch landed, before recording it
    crashed = _anchor(desk, db, **{CRASH_ENV: "after-anchor"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert desk.intake.state()[1] == 5
    store = IntakeStore(db)
    assert store.counts() == {"pending": ORDERS}
    store.close()

    done = _anchor(desk, db)
    assert done.returncode == 0, done.stderr
    assert b"anchored 7 orders" in done.stdout
    store = IntakeStore(db)
    counts = store.counts()
    store.close()
    assert counts == {"anchored": ORDERS - 2, "rejected": 2}

    outcomes = desk.intake.anchored_outcomes()
    seqs = Counter(o.seq for o in outcomes)
    assert seqs == Counter(r.seq for r in receipts)  # each acknowledged sequence, once
    assert {o.order_hash for o in outcomes} == {r.order_hash for r in receipts}
    assert all(desk.intake.is_anchored(r.seq) for r in receipts)
    assert len(book.reader.order_ids(aid)) == ORDERS - 2
    assert _anchor(desk, db).stdout.count(b"anchored 0 orders") == 1
