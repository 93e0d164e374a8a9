"""Notification-centre fixtures: a local SMTP server (aiosmtpd) and a :class:`Centre` that
runs passes for a participant on the session chain with its own data dir (its store)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ledger.context import LedgerContext
from ledger.engines.local import free_port
from ledger.manifest import write_manifest
from ledger.settings import Settings
from node.notify.centre import PassResult, check
from node.notify.reminders import Reminder
from node.notify.store import NotifyStore
from node.retail.issue import IssuedBatch


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


@dataclass
class Smtp:
    port: int
    inbox: Inbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(free_port(), Inbox())
    server.start()
    yield server
    server.stop()


@dataclass
class Centre:
    """Passes of the notification centre over ``ctx``'s chain with its own data dir."""

    ctx: LedgerContext
    store: NotifyStore

    def run(self, participant: str, issues: dict[int, IssuedBatch] | None = None) -> PassResult:
        return check(self.ctx, participant, self.store, issues=issues)

    def lead(self, seconds: int) -> None:
        """Remind ``seconds`` before deadlines (``GRIDLEDGER_NOTIFY_LEAD_S``)."""
        settings = self.ctx.settings.model_copy(update={"notify_lead_s": seconds})
        self.ctx = LedgerContext(settings, w3=self.ctx.w3, manifest=self.ctx.manifest)

    def new(self, participant: str, kind: str, **kw: Any) -> list[Reminder]:
        """The new reminders of ``kind`` of one pass."""
        return [r for r in self.run(participant, **kw).new if r.kind == kind]


def centre_settings(ctx: LedgerContext, data_dir: Path, smtp_port: int) -> Settings:
    """The session settings with ``data_dir`` (holding the deployment manifest) and the
    local SMTP server."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(data_dir / "manifest.json", ctx.manifest)
    return ctx.settings.model_copy(update={"data_dir": data_dir, "smtp_port": smtp_port})


@pytest.fixture
def centre(ctx: LedgerContext, tmp_path: Path, smtp: Smtp) -> Iterator[Centre]:
    settings = centre_settings(ctx, tmp_path / "data", smtp.port)
    own = LedgerContext(settings, w3=ctx.w3, manifest=ctx.manifest)
    store = NotifyStore.in_dir(settings.data_dir)
    yield Centre(own, store)
    store.close()
