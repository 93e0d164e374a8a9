"""Display names in the explorer: projected from ``DisplayNameSet``, shown, searched by
case-insensitive substring; migration 0004 up and down (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
from alembic import command
from sqlalchemy import Engine, inspect, select

from gateway.app import create_app
from gateway.db import alembic_config, upgrade
from gateway.indexer import Indexer
from gateway.pages import search_hits
from gateway.tables import Participant, table_of
from ledger.clients.registry import NodeKind, Side
from ledger.context import LedgerContext
from ledger.identity import demo_bundle
from ledger.keystore import demo_account
from ledger.settings import Settings
from node.registry.participant import NodeProfile, Verifier
from node.registry.participant import Participant as Node
from tests.conftest import role_account
from tests.gateway.conftest import LiveServer, node

WIND = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=3, capacity_kw=50_000)
SOLAR = NodeProfile(kind=NodeKind.SOLAR, side=Side.SELLER, region=2, capacity_kw=9_000)


def test_names_are_projected_shown_and_searched(
    ctx: LedgerContext, indexer: Indexer, gw_engine: Engine, gw_settings: Settings
) -> None:
    Node(ctx, demo_account(1001)).apply(WIND, demo_bundle(1), display_name="Bohai Wind Farm")
    Node(ctx, demo_account(1002)).apply(SOLAR, demo_bundle(2), display_name="Yanshan Solar")
    Node(ctx, demo_account(1003)).apply(SOLAR, demo_bundle(3))
    Verifier(ctx, role_account("VERIFIER")).set_display_name(node(2), "Yanshan 100%_Solar")
    indexer.run_once()
    t = table_of(Participant)
    with gw_engine.connect() as conn:
        names = dict(conn.execute(select(t.c.address, t.c.display_name)).all())
        assert names == {
            node(1): "Bohai Wind Farm",
            node(2): "Yanshan 100%_Solar",
            node(3): None,
        }
        assert search_hits(conn, "wind") == [
            (f"participant Bohai Wind Farm ({node(1)})", f"/participants/{node(1)}")
        ]
        assert search_hits(conn, "YANSHAN") == [
            (f"participant Yanshan 100%_Solar ({node(2)})", f"/participants/{node(2)}")
        ]
        assert [link for _, link in search_hits(conn, "a")] == []  # too short to search
        assert [link for _, link in search_hits(conn, "ha")] == [
            f"/participants/{node(1)}",  # "Bohai Wind Farm" sorts first
            f"/participants/{node(2)}",
        ]
        # LIKE wildcards in the query are literal
        assert [link for _, link in search_hits(conn, "0%_s")] == [f"/participants/{node(2)}"]
        assert search_hits(conn, "%%") == []
        assert search_hits(conn, "__") == []
    app = create_app(gw_settings, engine=gw_engine, ctx=ctx)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
        page = client.get("/search", params={"q": "bohai"}).text
        assert f'href="/participants/{node(1)}"' in page
        assert "Bohai Wind Farm" in client.get("/participants").text
        assert "Bohai Wind Farm" in client.get(f"/participants/{node(1)}").text
        api = client.get(f"/api/v1/participants/{node(1)}").json()
        assert api["participant"]["display_name"] == "Bohai Wind Farm"


def test_migration_0004_adds_and_drops_the_column(gw_engine: Engine) -> None:
    def columns() -> set[str]:
        return {c["name"] for c in inspect(gw_engine).get_columns("gw_participants")}

    assert "display_name" in columns()
    command.downgrade(alembic_config(gw_engine), "0003")
    assert "display_name" not in columns()
    assert "region" in columns()
    upgrade(gw_engine)
    assert "display_name" in columns()
