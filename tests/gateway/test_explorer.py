"""The explorer's lists over HTTP: keyset paging both ways, filters, CSV with the same
filters (equal to the history API's answer), chain-time statuses, report pages."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select

from gateway.db import MIGRATIONS_DIR, alembic_config, upgrade
from gateway.indexer import Indexer
from gateway.tables import Base, Block, Listing, Trade, table_of
from tests.gateway.conftest import node
from tests.gateway.synthetic import BASE_TIME, VINTAGE, many_trades, market_events, store

Live = tuple[str, httpx.Client]
EXTRA = 120  # trades 100..219, on top of trade #7


def _load_migration(prefix: str) -> Any:
    path = next((MIGRATIONS_DIR / "versions").glob(f"{prefix}_*.py"))
    spec = importlib.util.spec_from_file_location(f"gw_migration_{prefix}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MIGRATION_0005 = _load_migration("0005")


@pytest.fixture
def market(indexer: Indexer, gw_engine: Engine) -> None:
    indexer.run_once()
    store(indexer, gw_engine, market_events() + many_trades(EXTRA))


def trade_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/trades/(\d+)">', html)]


def link(html: str, anchor_id: str) -> str | None:
    m = re.search(rf'<a id="{anchor_id}" href="([^"]+)"', html)
    return m.group(1).replace("&amp;", "&") if m else None


def walk(client: httpx.Client, path: str, anchor_id: str) -> list[list[int]]:
    """The trade ids of every page from ``path`` following ``anchor_id`` links."""
    pages = []
    next_path: str | None = path
    while next_path:
        r = client.get(next_path)
        assert r.status_code == 200, r.text[:300]
        pages.append(trade_ids(r.text))
        next_path = link(r.text, anchor_id)
    return pages


def api_trades(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every trade the history API answers for ``params``, following its cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/trades", params=query).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_trades_page_newest_first_and_back(live: Live, market: None) -> None:
    _, client = live
    forward = walk(client, "/trades", "older")
    assert [len(p) for p in forward] == [50, 50, 21]
    every = [t for page in forward for t in page]
    assert every == sorted(every, reverse=True) == [*range(219, 99, -1), 7]
    # from the last page back to the first with the "newer" links
    last = client.get(link(client.get("/trades").text, "older") or "").text
    last = client.get(link(last, "older") or "").text
    assert trade_ids(last) == [*range(119, 99, -1), 7]
    back = walk(client, link(last, "newer") or "", "newer")
    assert back == forward[1::-1]
    assert link(client.get("/trades").text, "newer") is None


def test_filters_narrow_every_list(live: Live, market: None) -> None:
    _, client = live
    b = node(2)
    page = client.get("/trades", params={"period": VINTAGE + 1, "participant": b}).text
    assert trade_ids(page) == [] or "No trades" in page
    page = client.get("/trades", params={"period": str(VINTAGE + 1), "status": "formed"}).text
    expected = [t for t in range(219, 99, -1) if (t - 100) % 2 == 1 and (t - 100) % 3 != 0]
    assert trade_ids(page) == expected[:50]
    # empty form fields are unset; bad values answer 400
    assert trade_ids(client.get("/trades?period=&status=&participant=").text)[:1] == [219]
    for bad in ("period=x", "participant=0x12", "side=up", "from_time=yesterday", "before=x"):
        assert client.get(f"/trades?{bad}").status_code == 400, bad
    # a time range, as unix seconds or a UTC date-time
    created = client.get("/api/v1/trades/150").json()["trade"]["created_time"]
    iso = datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M")  # on a minute
    for value in (str(created), iso):
        page = client.get("/trades", params={"from_time": value, "to_time": value}).text
        assert trade_ids(page) == [150]
    listings = client.get("/listings", params={"side": "buy"}).text
    assert "390.00 CNY/MWh" in listings
    assert "410.00 CNY/MWh" not in listings
    parts = client.get("/participants", params={"region": "Langfang"}).text
    assert node(2)[:8] in parts
    assert f'title="{node(1)}"' not in parts.split("Role holders")[0]
    assert "#1" in client.get("/violations", params={"status": "confirmed"}).text
    assert "No violation reports" in client.get("/violations", params={"status": "pending"}).text


def test_listing_status_is_read_in_chain_time(live: Live, market: None) -> None:
    _, client = live
    rows = re.findall(r"<tr><td>(\d+)</td>.*?</tr>", client.get("/listings").text, re.S)
    assert rows == ["3", "2", "1"]
    expired = client.get("/listings", params={"status": "expired"}).text
    assert re.findall(r"<tr><td>(\d+)</td>", expired) == ["2"]
    opened = client.get("/listings", params={"status": "open"}).text
    assert re.findall(r"<tr><td>(\d+)</td>", opened) == ["3"]
    csv_rows = list(csv.DictReader(io.StringIO(client.get("/listings.csv").text)))
    assert {r["listing_id"]: r["status"] for r in csv_rows} == {
        "1": "partial",
        "2": "expired",
        "3": "open",
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "settled"},
        {"period": str(VINTAGE)},
        {"participant": "BUYER", "status": "formed"},
    ],
)
def test_csv_equals_the_api_for_the_same_filter(
    live: Live, market: None, params: dict[str, str]
) -> None:
    _, client = live
    params = {k: node(3) if v == "BUYER" else v for k, v in params.items()}
    r = client.get("/trades.csv", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    expected = [
        {k: "" if v is None else str(v) for k, v in item.items()}
        for item in api_trades(client, **params)
    ]
    assert rows == expected
    assert len(rows) > 0
    # the page's CSV link carries the page's filters
    page = client.get("/trades", params=params).text
    assert client.get(link(page, "csv") or "").text == r.text


def test_violation_report_page(live: Live, market: None) -> None:
    _, client = live
    page = client.get("/violations/1").text
    for needle in ("wash-trading", "910,000 ppm", "0x" + "cd" * 32, "0x" + "ef" * 32):
        assert needle in page, needle
    assert "10,000.00 CNY" in page
    assert "ViolationRuled" in page
    assert client.get("/violations/99").status_code == 404


def test_offline_api_docs(live: Live) -> None:
    _, client = live
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    for asset in re.findall(r"(?:src|href)=['\"](/static/[^'\"]+)['\"]", page):
        r = client.get(asset)
        assert r.status_code == 200, asset
        assert len(r.content) > 500, asset
    assert "/static/swagger-ui/swagger-ui-bundle.js" in page


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")
def test_migration_0005_backfills_expiries_and_indexes_the_filters(
    indexer: Indexer, gw_engine: Engine
) -> None:
    store(indexer, gw_engine, market_events() + many_trades(30))
    t = table_of(Listing)
    query = select(t.c.listing_id, t.c.expires_at).order_by(t.c.listing_id)
    with gw_engine.connect() as conn:
        before = conn.execute(query).all()
    assert before == [(1, None), (2, BASE_TIME + 3600), (3, 4_102_444_800)]
    cfg = alembic_config(gw_engine)
    command.downgrade(cfg, "0004")
    assert "expires_at" not in {c["name"] for c in inspect(gw_engine).get_columns("gw_listings")}
    upgrade(gw_engine)  # on a database with data
    with gw_engine.connect() as conn:
        assert conn.execute(query).all() == before
    made = {ix["name"] for name in ("gw_trades", "gw_listings", "gw_reports")
            for ix in inspect(gw_engine).get_indexes(name)}  # fmt: skip
    declared = {ix.name for tb in Base.metadata.tables.values() for ix in tb.indexes}
    for name, _table, _columns in MIGRATION_0005.INDEXES:
        assert name in made
        assert name in declared
    # a status page reads the (status, trade_id) index, not the whole table
    trades = table_of(Trade)
    page = select(trades).where(trades.c.status == "open").order_by(trades.c.trade_id.desc())
    with gw_engine.connect() as conn:
        if gw_engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(page.limit(51).compile(
                    gw_engine, compile_kwargs={"literal_binds": True}))))  # fmt: skip
            assert "ix_gw_trades_status_id" in plan, plan


def test_retirements_and_blocks_are_paged_lists(
    live: Live, market: None, gw_engine: Engine
) -> None:
    _, client = live
    page = client.get("/certificates/retirements", params={"participant": node(2)}).text
    assert "Download CSV" in page
    assert 'href="/trades/7"' in page
    rows = list(csv.DictReader(io.StringIO(client.get("/certificates/retirements.csv").text)))
    assert [(r["retirement_id"], r["trade_id"]) for r in rows] == [("1", "7")]
    assert "No retirements" in client.get("/certificates/retirements?period=1").text
    seen: list[str] = []
    next_path: str | None = "/blocks"
    while next_path:
        html = client.get(next_path).text
        seen += re.findall(r'<tr><td><a href="/blocks/(\d+)">', html)
        next_path = link(html, "older")
    with gw_engine.connect() as conn:
        numbers = conn.execute(select(table_of(Block).c.number)).scalars().all()
    assert [int(n) for n in seen] == sorted(numbers, reverse=True)
    assert len(seen) > 50  # more than one page
