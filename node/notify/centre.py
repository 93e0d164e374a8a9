"""One pass of the notification centre: derive the reminders, record the new ones (portal
inbox + queued e-mail, :class:`node.notify.store.NotifyStore`), send the queued e-mail.

Exactly once: a reminder's key is recorded in the same transaction that puts it in the
portal inbox and queues its e-mail, so a second pass, a second process or a restart finds
it recorded and skips it. E-mail goes out after that commit; if the SMTP server is down or
refuses, the e-mail stays queued (attempts and error kept) and the next pass retries it; the
portal entry is never written again. A crash between the SMTP server's acceptance and the
``sent`` mark is the one window where an e-mail can go out twice (at least once); the inbox
is exactly once.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path

from eth_account import Account
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ledger.addresses import checksum_address
from ledger.context import LedgerContext
from ledger.errors import ValidationError
from ledger.settings import Settings
from node.notify.reminders import KINDS, Reminder, Source, collect
from node.notify.store import Mail, NotifyStore
from node.retail.issue import IssuedBatch

SUBJECT_PREFIX = "[GridLedger] "


class PassResult(BaseModel):
    """What one pass did."""

    participant: str
    now: int
    new: list[Reminder]
    sent: int
    failed: int
    error: str = ""


def load_issues(paths: Iterable[Path]) -> dict[int, IssuedBatch]:
    """Retail issue files (``gridledger retail issue-bills --out``) by batch id; a directory
    stands for every ``*.json`` in it."""
    out: dict[int, IssuedBatch] = {}
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for f in files:
            try:
                batch = IssuedBatch.model_validate(json.loads(f.read_text()))
            except (OSError, ValueError, PydanticValidationError) as exc:
                raise ValidationError(f"{f}: not a retail issue file ({exc})") from exc
            out[batch.batch_id] = batch
    return out


def _message(settings: Settings, mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = mail.to_addr
    msg["Subject"] = mail.subject
    msg["X-GridLedger-Key"] = mail.key
    msg.set_content(mail.body)
    return msg


def send_queued(
    store: NotifyStore, settings: Settings, participant: str | None = None
) -> tuple[int, int, str]:
    """Send the queued e-mail over one SMTP connection: (sent, failed, first error). A
    connection failure counts every queued e-mail as failed this pass (retried next pass)."""
    queued = store.pending_mail(participant)
    if not queued:
        return 0, 0, ""
    sent = 0
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            for mail in queued:
                smtp.send_message(_message(settings, mail))
                store.mark_sent(mail.id, int(time.time()))
                sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        error = f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc}".splitlines()[0]
        for mail in queued[sent:]:
            store.mark_failed(mail.id, error)
        return sent, len(queued) - sent, error
    return sent, 0, ""


def check(
    ctx: LedgerContext,
    participant: str,
    store: NotifyStore,
    *,
    issues: dict[int, IssuedBatch] | None = None,
    kinds: Iterable[str] = KINDS,
    send: bool = True,
) -> PassResult:
    """One pass for ``participant`` (an address) at the latest block time; the chain is
    read with a throwaway key (reads only, no password needed)."""
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    me = checksum_address(participant)
    src = Source(ctx, Account.create(), me, now, ctx.settings.notify_lead_s, issues or {})
    new = store.record(me, collect(src, tuple(kinds)), now, SUBJECT_PREFIX)
    sent, failed, error = send_queued(store, ctx.settings, me) if send else (0, 0, "")
    return PassResult(participant=me, now=now, new=new, sent=sent, failed=failed, error=error)
