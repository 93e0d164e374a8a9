"""Every explorer list paged: certificate tokens (a two-column key), quotas and their
compliance status, quota rules, ratings received and given, and the participant page's
previews of its lists; each list's CSV equals the table's rows for the same filter."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, select, tuple_

from gateway.db import alembic_config, upgrade
from gateway.indexer import Indexer
from gateway.queries import quota_row
from gateway.tables import Base, CertificateToken, Event, Quota, QuotaPeriod, Rating, table_of
from tests.gateway.conftest import AUDITOR, node
from tests.gateway.synthetic import BASE_BLOCK, VINTAGE, ev, many_certificates, market_events, store
from tests.gateway.test_explorer import _load_migration, link

Live = tuple[str, httpx.Client]
VINTAGES = 60
TOKEN = r'<tr><td title="(\d+)">[^<]*</td><td>[a-z0-9]+</td><td><a'
QUOTA = (
    r'<tr><td><a class="mono" href="/participants/[^"]+" title="[^"]+">[^<]+</a></td><td>(\d+)</td>'
)
RULE = r"<tr><td>(\d+)</td><td>[\d.]+%</td>"
RATING = r'<tr><td><a href="/trades/(\d+)">#\d+</a></td><td><a class="mono"'


@pytest.fixture
def certs(indexer: Indexer, gw_engine: Engine) -> None:
    indexer.run_once()
    store(indexer, gw_engine, market_events() + many_certificates(VINTAGES))


def walk(client: httpx.Client, path: str, pattern: str, anchor: str = "older") -> list[list[str]]:
    """What ``pattern`` captures on every page from ``path`` following ``anchor`` links."""
    pages = []
    next_path: str | None = path
    while next_path:
        r = client.get(next_path)
        assert r.status_code == 200, r.text[:300]
        pages.append(re.findall(pattern, r.text))
        next_path = link(r.text, anchor)
    return pages


def csv_rows(client: httpx.Client, path: str, **params: Any) -> list[dict[str, str]]:
    r = client.get(path, params=params)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def as_csv(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]


def db_rows(engine: Engine, model: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table_of(model))).mappings()]


def test_certificate_tokens_page_by_block_and_token_id(
    live: Live, certs: None, gw_engine: Engine
) -> None:
    _, client = live
    tokens = sorted(
        db_rows(gw_engine, CertificateToken), key=lambda t: (t["created_block"], t["token_id"])
    )
    assert len(tokens) == 2 * VINTAGES + 1  # two tokens share each block
    forward = walk(client, "/certificates", TOKEN)
    assert [len(p) for p in forward] == [50, 50, 21]
    assert [t for p in forward for t in p] == [t["token_id"] for t in tokens][::-1]
    # back from the last page with the "newer" links
    last = client.get("/certificates").text
    for _ in range(2):
        last = client.get(link(last, "older") or "").text
    assert "~" in (link(last, "newer") or "")  # the cursor names (block, token id)
    assert walk(client, link(last, "newer") or "", TOKEN, "newer") == forward[1::-1]
    # the CSV: every row, in key order, with the raw columns
    assert csv_rows(client, "/certificates.csv") == as_csv(tokens)
    # filters: generator and vintage
    mine = [t for t in tokens if t["generator"].lower() == node(2).lower()]
    page = walk(client, f"/certificates?participant={node(2)}", TOKEN)
    assert [t for p in page for t in p] == [t["token_id"] for t in mine][::-1]
    assert csv_rows(client, "/certificates.csv", participant=node(2)) == as_csv(mine)
    vintage = [t["token_id"] for t in tokens if t["vintage"] == VINTAGE + 5]
    assert walk(client, f"/certificates?period={VINTAGE + 5}", TOKEN) == [vintage[::-1]]


def test_quotas_page_and_filter_by_compliance(live: Live, certs: None, gw_engine: Engine) -> None:
    _, client = live
    quotas = sorted(
        (quota_row(q) for q in db_rows(gw_engine, Quota)), key=lambda q: (q["period"], q["party"])
    )
    assert len(quotas) > 50
    forward = walk(client, "/certificates/quotas", QUOTA)
    assert len(forward) == 2
    assert [int(p) for page in forward for p in page] == [q["period"] for q in quotas][::-1]
    short = [q for q in quotas if q["compliant"] is False]
    assert len(short) == VINTAGES // 3 + 1  # every third vintage, and the market's buyer
    page = walk(client, "/certificates/quotas?status=short", QUOTA)
    assert [int(p) for p in page[0]] == [q["period"] for q in short][::-1]
    expected = [{k: v for k, v in q.items() if k != "compliant"} for q in short]
    assert csv_rows(client, "/certificates/quotas.csv", status="short") == as_csv(expected)
    compliant = walk(client, "/certificates/quotas?status=compliant", QUOTA)
    assert sum(len(p) for p in compliant) == len(quotas) - len(short)
    assert "No renewable quotas" in client.get("/certificates/quotas?status=pending").text
    mine = walk(client, f"/certificates/quotas?participant={node(3)}&period={VINTAGE + 3}", QUOTA)
    assert mine == [[str(VINTAGE + 3)]]


def test_quota_rules_are_paged(live: Live, certs: None, gw_engine: Engine) -> None:
    _, client = live
    rules = sorted(r["period"] for r in db_rows(gw_engine, QuotaPeriod))
    assert len(rules) == VINTAGES + 1
    forward = walk(client, "/certificates/quota-rules", RULE)
    assert [len(p) for p in forward] == [50, 11]
    assert [int(p) for page in forward for p in page] == rules[::-1]
    assert [int(r["period"]) for r in csv_rows(client, "/certificates/quota-rules.csv")] == rules
    # the certificates page previews quotas, rules and retirements, linking to their lists
    hub = client.get("/certificates").text
    assert 'class="older" href="/certificates/quota-rules?before=' in hub
    assert 'href="/certificates/quotas.csv"' in hub


def test_ratings_received_and_given(live: Live, certs: None, gw_engine: Engine) -> None:
    _, client = live
    ratings = sorted(db_rows(gw_engine, Rating), key=lambda r: r["id"])
    received = [r for r in ratings if r["ratee"].lower() == node(1).lower()]
    given = [r for r in ratings if r["rater"].lower() == node(1).lower()]
    assert len(received) == VINTAGES + 1
    assert len(given) == 1
    page = walk(client, f"/ratings?ratee={node(1)}", RATING)
    assert [int(t) for p in page for t in p] == [r["trade_id"] for r in received][::-1]
    assert csv_rows(client, "/ratings.csv", ratee=node(1)) == as_csv(received)
    assert csv_rows(client, "/ratings.csv", rater=node(1)) == as_csv(given)
    both = csv_rows(client, "/ratings.csv", participant=node(1))
    assert len(both) == len(received) + len(given)
    # the participant page: the newest rows of each list, with links to the paged lists
    html = client.get(f"/participants/{node(1)}").text
    for heading in ("Ratings received", "Ratings given", "Listings", "Renewable quotas"):
        assert f"{heading} (newest first)" in html, heading
    older = re.search(r'class="older" href="(/ratings\?ratee=[^"]+)"', html)
    assert older is not None
    rest = re.findall(RATING, client.get(older.group(1).replace("&amp;", "&")).text)
    assert [int(t) for t in rest] == [r["trade_id"] for r in received][::-1][10:60]
    assert f'href="/certificates?participant={node(1).lower()}"' in html


def api_list(client: httpx.Client, name: str, **params: Any) -> list[dict[str, Any]]:
    """Every row ``/api/v1/lists/{name}`` answers for ``params``, following ``older``."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"before": cursor} if cursor else {})
        page = client.get(f"/api/v1/lists/{name}", params=query).json()
        items += page["items"]
        cursor = page["older"]
        if cursor is None:
            return items


@pytest.mark.parametrize(
    ("name", "path", "params"),
    [
        ("certificates", "/certificates", {"participant": "GEN"}),
        ("certificates", "/certificates", {"period": str(VINTAGE + 7)}),
        ("quotas", "/certificates/quotas", {"status": "short"}),
        ("quota-rules", "/certificates/quota-rules", {}),
        ("ratings", "/ratings", {"ratee": "GEN"}),
        ("retirements", "/certificates/retirements", {"participant": "BUYER"}),
        ("trades", "/trades", {"participant": "GEN"}),
        ("listings", "/listings", {"side": "sell"}),
    ],
)
def test_csv_equals_the_lists_api(
    live: Live, certs: None, name: str, path: str, params: dict[str, str]
) -> None:
    _, client = live
    parties = {"GEN": node(1), "BUYER": node(2)}
    params = {k: parties.get(v, v) for k, v in params.items()}
    items = api_list(client, name, **params)
    assert items
    rows = csv_rows(client, f"{path}.csv", **params)
    assert rows == as_csv([{k: v for k, v in i.items() if k in rows[0]} for i in items[::-1]])
    # the API's pages are the HTML list's pages: same size, same cursors
    first = client.get(f"/api/v1/lists/{name}", params=params | {"limit": 2}).json()
    assert len(first["items"]) == min(2, len(items))
    assert client.get(f"/api/v1/lists/{name}", params={"before": "x~y~z"}).status_code == 400


EVENT_ROW = r'<tr><td><a href="/blocks/(\d+)">'


def test_events_page_and_block_page_are_paged(
    live: Live, indexer: Indexer, gw_engine: Engine
) -> None:
    _, client = live
    indexer.run_once()
    crowded = [  # 230 events in one block: more than a block page's 200
        ev(900, "RatingSubmitted", "ReputationLedger", tradeId=i, rater=node(3), ratee=node(1),
           score=3) for i in range(230)
    ]  # fmt: skip
    store(indexer, gw_engine, market_events() + many_certificates(20) + crowded)
    client.headers.update(AUDITOR)
    with gw_engine.connect() as conn:
        total = len(conn.execute(select(table_of(Event).c.id)).all())
    forward = walk(client, "/events", EVENT_ROW)
    assert sum(len(p) for p in forward) == total
    assert [len(p) for p in forward[:-1]] == [50] * (len(forward) - 1)
    blocks = [int(b) for p in forward for b in p]
    assert blocks == sorted(blocks, reverse=True)
    last = client.get("/events").text
    for _ in range(len(forward) - 1):
        last = client.get(link(last, "older") or "").text
    assert walk(client, link(last, "newer") or "", EVENT_ROW, "newer") == forward[-2::-1]
    mine = walk(client, f"/events?participant={node(3)}&from_block=&event=RatingSubmitted",
                r"<td>(RatingSubmitted)</td>")  # fmt: skip
    assert len([t for p in mine for t in p]) == 230 + 20
    assert client.get("/events?from_block=x").status_code == 400
    assert client.get("/events", headers={"X-API-Key": ""}).status_code in (401, 403)
    # the crowded block: 200 events, then the later 30, and back
    first = client.get(f"/blocks/{BASE_BLOCK + 900}").text
    assert len(re.findall(r"<td>RatingSubmitted</td>", first)) == 200
    assert link(first, "earlier") is None
    later = client.get(link(first, "later") or "").text
    assert len(re.findall(r"<td>RatingSubmitted</td>", later)) == 30
    assert link(later, "later") is None
    back = client.get(link(later, "earlier") or "").text
    assert re.findall(r"tradeId=(\d+)", back) == re.findall(r"tradeId=(\d+)", first)


@pytest.mark.parametrize(
    "path",
    [
        "/certificates?before=5",
        "/certificates?before=5~x",
        "/certificates?after=1~2~3",
        "/certificates/quotas?before=202601~0x12",
        "/ratings?rater=0x12",
        "/ratings?before=-1",
    ],
)
def test_bad_cursors_and_filters_answer_400(live: Live, certs: None, path: str) -> None:
    _, client = live
    assert client.get(path).status_code == 400


def test_migration_0006_indexes_the_lists(certs: None, gw_engine: Engine) -> None:
    migration = _load_migration("0006")
    made = [(name, table) for name, table, _ in migration.INDEXES + migration.LOWER_INDEXES]

    def present() -> set[str]:  # expression indexes too (the inspector skips them on SQLite)
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            if gw_engine.dialect.name == "sqlite"
            else "SELECT indexname FROM pg_indexes"
        )
        with gw_engine.connect() as conn:
            return set(conn.exec_driver_sql(sql).scalars())

    declared = {ix.name for tb in Base.metadata.tables.values() for ix in tb.indexes}
    assert {name for name, _ in made} <= present() & declared
    command.downgrade(alembic_config(gw_engine), "0005")
    assert not {name for name, _ in made} & present()
    upgrade(gw_engine)  # on a database with data
    assert {name for name, _ in made} <= present()
    # a deep quotas page reads the (period, party) index
    if gw_engine.dialect.name == "sqlite":
        q = table_of(Quota)
        page = (
            select(q)
            .where(tuple_(q.c.period, q.c.party) < tuple_(VINTAGE + 9, node(3)))
            .order_by(q.c.period.desc(), q.c.party.desc())
            .limit(51)
        )
        sql = str(page.compile(gw_engine, compile_kwargs={"literal_binds": True}))
        with gw_engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert "ix_gw_quotas_period_party" in plan, plan
