"""Desk fixtures: a fresh desk database over the session chain, and its actors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.context import LedgerContext
from ledger.keystore import demo_account
from node.desk.service import Desk
from node.desk.states import Actor, DeskRole
from tests.conftest import role_account

OPERATOR = Actor(role_account("OPERATOR").address, DeskRole.operator)
REGULATOR = Actor(role_account("REGULATOR").address, DeskRole.regulator)
FILER = Actor(demo_account(11).address, DeskRole.participant)
OTHER = Actor(demo_account(12).address, DeskRole.participant)
#: A fixed clock: 2026-12-01 00:00 UTC.
T0 = 1_796_083_200


def make_desk(ctx: LedgerContext, url: str) -> Desk:
    return Desk(ctx.settings, url, ctx=ctx)


@pytest.fixture
def desk(ctx: LedgerContext, tmp_path: Path) -> Iterator[Desk]:
    """A desk on a fresh SQLite file, over the session chain."""
    d = make_desk(ctx, f"sqlite:///{tmp_path / 'desk.db'}")
    yield d
    d.close()
