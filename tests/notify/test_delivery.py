"""Delivery: e-mail reaches a local SMTP server (aiosmtpd), each reminder exactly once
across passes and processes, the participant's channel choice, SMTP down -> retried on a
later pass (never a second portal entry), and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ledger.clients.registry import code
from ledger.context import LedgerContext
from node.notify.store import Channels, NotifyStore
from node.registry.participant import Participant
from tests.contracts.conftest import Market, market
from tests.notify.conftest import Centre, Smtp, centre_settings

__all__ = ["market"]
DAY_S = 86_400
MAIL = "ops@windfarm.example"
TITLE = "Licence GEN_LICENCE expires within 7 days"


def licensed(market: Market, n: int = 40, days: int = 5) -> tuple[Participant, int]:
    """An admitted node whose GEN_LICENCE expires in ``days`` days."""
    node = market.admit(n)
    expires = market.now() + days * DAY_S
    node.qualify("GEN_LICENCE", f"lic-{n}", expires)
    market.verifier.approve_qualification(node.address, code("GEN_LICENCE"))
    return node, expires


def test_email_arrives_once_with_the_reminder(market: Market, centre: Centre, smtp: Smtp) -> None:
    node, expires = licensed(market)
    centre.store.set_address(node.address, MAIL)
    result = centre.run(node.address)
    assert ([r.title for r in result.new], result.sent, result.failed) == ([TITLE], 1, 0)
    (msg,) = smtp.inbox.messages
    assert smtp.inbox.recipients == [[MAIL]]
    assert (msg["Subject"], msg["To"], msg["From"]) == (
        f"[GridLedger] {TITLE}",
        MAIL,
        "gridledger@localhost",
    )
    assert msg["X-GridLedger-Key"] == f"licence:GEN_LICENCE@{expires}:7d"
    assert "submit the renewed licence" in msg.get_payload()
    second = centre.run(node.address)
    assert (second.new, second.sent) == ([], 0)
    assert len(smtp.inbox.messages) == 1
    (mail,) = centre.store.mail(node.address)
    assert (mail.attempts, mail.last_error) == (1, "")
    assert mail.sent_at is not None


def test_channel_choice_is_respected(market: Market, centre: Centre, smtp: Smtp) -> None:
    a, _ = licensed(market, 40)
    b, _ = licensed(market, 41)
    c, _ = licensed(market, 42)
    for node in (a, b, c):
        centre.store.set_address(node.address, MAIL)
    centre.store.set_channels(a.address, Channels(kind="licence", portal=False, mail=True))
    centre.store.set_channels(b.address, Channels(kind="licence", portal=True, mail=False))
    centre.store.set_address(c.address, None)  # no address: no e-mail whatever the channel
    # another kind's choice does not change the licence channel
    centre.store.set_channels(c.address, Channels(kind="bill", portal=False, mail=False))
    for node in (a, b, c):
        assert len(centre.run(node.address).new) == 1
    assert smtp.inbox.recipients == [[MAIL]]  # a's only
    assert centre.store.inbox(a.address) == []  # portal off: not shown...
    assert [r.title for r in centre.store.inbox(a.address, include_hidden=True)] == [TITLE]
    assert [r.title for r in centre.store.inbox(b.address)] == [TITLE]
    assert centre.store.mail(b.address) == []
    assert [r.title for r in centre.store.inbox(c.address)] == [TITLE]
    assert centre.store.mail(c.address) == []
    assert (centre.store.unread_count(a.address), centre.store.unread_count(b.address)) == (0, 1)


def test_smtp_down_is_retried_later_never_duplicated(
    market: Market, centre: Centre, smtp: Smtp
) -> None:
    node, _ = licensed(market)
    centre.store.set_address(node.address, MAIL)
    smtp.stop()
    down = centre.run(node.address)
    assert ([r.title for r in down.new], down.sent, down.failed) == ([TITLE], 0, 1)
    assert down.error.startswith(f"SMTP 127.0.0.1:{smtp.port}: ")
    again = centre.run(node.address)  # still down: still queued, no new reminder
    assert (again.new, again.sent, again.failed) == ([], 0, 1)
    (mail,) = centre.store.mail(node.address)
    assert (mail.attempts, mail.sent_at) == (2, None)
    assert [r.title for r in centre.store.inbox(node.address)] == [TITLE]

    smtp.start()
    up = centre.run(node.address)
    assert (up.new, up.sent, up.failed) == ([], 1, 0)
    assert [m["Subject"] for m in smtp.inbox.messages] == [f"[GridLedger] {TITLE}"]
    assert centre.run(node.address).sent == 0
    assert len(smtp.inbox.messages) == 1
    assert len(centre.store.inbox(node.address)) == 1


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "notify", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_exactly_once_across_processes(
    ctx: LedgerContext, market: Market, tmp_path: Path, smtp: Smtp
) -> None:
    node, expires = licensed(market)
    settings = centre_settings(ctx, tmp_path / "data", smtp.port)
    env = {
        "GRIDLEDGER_DATA_DIR": str(settings.data_dir),
        "GRIDLEDGER_RPC_URL": settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
        "GRIDLEDGER_SMTP_PORT": str(smtp.port),
    }
    out = _cli(env, "channels", "--wallet", node.address, "--address", MAIL)
    assert f"e-mail address: {MAIL}" in out
    out = _cli(env, "channels", "bill", "--wallet", node.address, "--mail", "off")
    assert "bill      portal on, e-mail off" in out
    first = _cli(env, "check", "--wallet", node.address)
    assert f"licence   {TITLE}" in first
    assert "1 new reminders; e-mail sent 1" in first
    # a second process (a restart) over the same store: nothing again
    second = _cli(env, "run", "--wallet", node.address, "--rounds", "2", "--interval", "0.1")
    assert second.splitlines() == [
        "0 new reminders; e-mail sent 0",
        "0 new reminders; e-mail sent 0",
    ]
    assert len(smtp.inbox.messages) == 1
    listed = _cli(env, "list", "--wallet", node.address)
    assert listed.startswith(f"* {expires}  licence   {TITLE}")
    store = NotifyStore.in_dir(settings.data_dir)
    try:
        assert [r.key for r in store.inbox(node.address)] == [f"licence:GEN_LICENCE@{expires}:7d"]
    finally:
        store.close()
