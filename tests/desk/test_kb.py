"""The knowledge base's full-text search (SQLite FTS5 / PostgreSQL tsvector) and the feed
of announcements with the surveillance desk's on-chain ones."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.clients.registry import NodeKind, Side
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.context import LedgerContext
from node.desk.errors import DeskForbiddenError
from node.desk.fts import fts5_query
from node.desk.service import Desk
from node.registry.participant import NodeProfile, onboard_demo_node
from node.surveillance.indicators import schema_hash
from tests.conftest import role_account
from tests.desk.conftest import FILER, OPERATOR, REGULATOR, make_desk

MODEL_ID = "0x" + "11" * 32


@pytest.fixture
def any_desk(ctx: LedgerContext, database_url: str) -> Iterator[Desk]:
    """A desk on SQLite and on PostgreSQL."""
    d = make_desk(ctx, database_url)
    yield d
    d.close()


def test_full_text_search_finds_and_does_not_find(any_desk: Desk) -> None:
    kb = any_desk.kb
    text = "When a smart meter stops reporting, the oracle marks the period estimated."
    meter = kb.add_article(OPERATOR, "Meter readings missing", text, ["metering"])
    text = "File a complaint in the billing category with the bill hash."
    bill = kb.add_article(REGULATOR, "Disputing a retail bill", text, ["billing", "retail"])
    assert [a.id for a in kb.search("meter")] == [meter.id]
    assert [a.id for a in kb.search("reports")] == [meter.id]  # stemmed: reporting
    assert [a.id for a in kb.search("bill complaint")] == [bill.id]
    assert [a.id for a in kb.search("retail")] == [bill.id]  # tags are searched
    assert kb.search("hydrogen") == []
    assert kb.search("meter bill hydrogen") == []  # every word must match
    assert kb.search('" OR * -') == []  # operators are words, not syntax
    assert bill.tags == ["billing", "retail"]


def test_only_staff_write_articles_and_announcements(desk: Desk) -> None:
    with pytest.raises(DeskForbiddenError):
        desk.kb.add_article(FILER, "t", "b", [])
    with pytest.raises(DeskForbiddenError):
        desk.kb.announce(FILER, "t", "b")


def test_fts5_query_quotes_every_word() -> None:
    assert fts5_query('meter "OR" bill*') == '"meter" "OR" "bill"'


def test_feed_lists_announcements_with_on_chain_violations(desk: Desk, ctx: LedgerContext) -> None:
    profile = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=0, capacity_kw=50_000)
    reporter, accused = (onboard_demo_node(ctx, n, profile) for n in (61, 62))
    regulator = ctx.client(SurveillanceDeskClient, role_account("REGULATOR"))
    regulator.register_model(MODEL_ID, schema_hash(), 600_000)
    filed = ctx.client(SurveillanceDeskClient, reporter.account).file_report(
        accused.address, MODEL_ID, "0x" + "aa" * 32, 750_000, 100, 127, [7]
    )
    report = regulator.filed_report_id(filed)
    regulator.rule(report, True, 1_000, 5, "0x" + "bb" * 32)
    desk.kb.announce(OPERATOR, "Maintenance", "The market closes Sunday 02:00-04:00.")
    items, chain = desk.feed()
    assert chain
    by_kind = {i.kind: i for i in items}
    assert set(by_kind) == {
        "announcement",
        "ViolationReported",
        "ViolationRuled",
        "ViolationAnnounced",
    }
    assert by_kind["announcement"].source == "operator"
    assert by_kind["ViolationRuled"].title == f"Ruling on report {report}: confirmed"
    assert accused.address in by_kind["ViolationAnnounced"].title
    assert by_kind["ViolationReported"].ref == filed["transactionHash"].to_0x_hex()
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)


def test_change_numbers_stay_consecutive_under_concurrent_writers(any_desk: Desk) -> None:
    def file(n: int) -> int:
        return any_desk.store.file(FILER, "other", f"request {n}", "please", kind="request").id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = sorted(pool.map(file, range(12)))
    assert ids == list(range(1, 13))
    changes = [ch.id for c in ids for ch in any_desk.store.show(FILER, c).changes]
    assert sorted(changes) == list(range(1, 13))
