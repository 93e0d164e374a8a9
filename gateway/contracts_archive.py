"""The archive of bilateral contracts: search over the projection, documents, bundles.

``search`` filters ``gw_contracts`` by contract number, party, template kind, delivery
period, status and registration date. ``archive_document`` stores a contract's template and
fields once the document they render hashes to the contract's on-chain document hash;
``document`` re-renders it (HTML, PDF) and ``bundle`` builds the offline verification
bundle from the chain (``ledger.bilateral.archive``). ``gridledger gateway contract-archive``
is the write path (the web gateway is read-only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account import Account
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update

from gateway.contract_tables import Contract, ContractDocument
from gateway.db import engine_from_settings, upgrade
from gateway.queries import event_dict
from gateway.tables import Event, Trade, table_of
from ledger.bilateral.archive import build_bundle, document_of
from ledger.bilateral.bundle import Bundle
from ledger.bilateral.render import Document
from ledger.cli_support import console, make_context
from ledger.clients.bilateral import CONTRACT_EVENTS, BilateralContractsClient
from ledger.context import LedgerContext
from ledger.errors import NotFoundError

C = table_of(Contract)
D = table_of(ContractDocument)
E = table_of(Event)
T = table_of(Trade)


class ContractQuery(BaseModel):
    """Search filters (all optional, combined with AND)."""

    contract_no: int | None = None
    party: str | None = None
    kind: str | None = None
    period: int | None = None
    status: str | None = None
    registered_from: int | None = None
    registered_to: int | None = None


def search(conn: Connection, q: ContractQuery, limit: int = 100) -> list[dict[str, Any]]:
    """Contracts matching ``q``, newest first."""
    where = []
    if q.contract_no is not None:
        where.append(C.c.contract_no == q.contract_no)
    if q.party:
        who = q.party.lower()
        where.append(or_(func.lower(C.c.seller) == who, func.lower(C.c.buyer) == who))
    if q.kind:
        where.append(C.c.kind == q.kind)
    if q.period is not None:
        where.append(and_(C.c.first_period <= q.period, C.c.last_period >= q.period))
    if q.status:
        where.append(C.c.status == q.status)
    if q.registered_from is not None:
        where.append(C.c.created_time >= q.registered_from)
    if q.registered_to is not None:
        where.append(C.c.created_time <= q.registered_to)
    query = select(C).where(*where).order_by(C.c.contract_no.desc()).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def contract_detail(conn: Connection, contract_no: int) -> dict[str, Any] | None:
    """A contract, its period trades (with their execution) and its history."""
    row = conn.execute(select(C).where(C.c.contract_no == contract_no)).mappings().first()
    if row is None:
        return None
    pattern = f'%"contractNo":"{contract_no}"%'
    events = [
        event_dict(r)
        for r in conn.execute(
            select(E)
            .where(E.c.event.in_(CONTRACT_EVENTS), E.c.args.like(pattern))
            .order_by(E.c.block_number, E.c.log_index)
        ).mappings()
    ]
    formed = [e for e in events if e["event"] == "PeriodTradeFormed"]
    trade_ids = [int(e["args"]["tradeId"]) for e in formed]
    trades = {
        r["trade_id"]: dict(r)
        for r in conn.execute(select(T).where(T.c.trade_id.in_(trade_ids))).mappings()
    }
    periods = [
        {
            "period": int(e["args"]["periodId"]),
            "trade_id": int(e["args"]["tradeId"]),
            "energy_wh": int(e["args"]["energyWh"]),
            "price_fen_per_mwh": int(e["args"]["priceFenPerMwh"]),
            "trade": trades.get(int(e["args"]["tradeId"])),
        }
        for e in formed
    ]
    archived = conn.execute(select(D.c.contract_no).where(D.c.contract_no == contract_no))
    return {
        "contract": dict(row),
        "periods": periods,
        "events": events,
        "archived": archived.first() is not None,
    }


def archived_fields(conn: Connection, contract_no: int) -> tuple[str, dict[str, Any]]:
    row = conn.execute(select(D).where(D.c.contract_no == contract_no)).mappings().first()
    if row is None:
        raise NotFoundError(f"no document of contract {contract_no} is archived")
    return str(row["template_key"]), dict(json.loads(row["fields"]))


def archive_document(
    engine: Engine,
    client: BilateralContractsClient,
    contract_no: int,
    template_key: str,
    fields: dict[str, Any],
) -> Document:
    """Archive a contract's document (ValidationError unless it is the contract's)."""
    document = document_of(client, contract_no, template_key, fields)
    values = {
        "template_key": template_key,
        "fields": json.dumps(fields, sort_keys=True),
        "document_hash": document.document_hash,
        "archived_time": int(time.time()),
    }
    with engine.begin() as conn:
        done = conn.execute(update(D).where(D.c.contract_no == contract_no).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(D).values(contract_no=contract_no, **values))
    return document


def document(conn: Connection, client: BilateralContractsClient, contract_no: int) -> Document:
    """The archived document of ``contract_no``, re-rendered and checked against the chain."""
    key, fields = archived_fields(conn, contract_no)
    return document_of(client, contract_no, key, fields)


def bundle(conn: Connection, client: BilateralContractsClient, contract_no: int) -> Bundle:
    key, fields = archived_fields(conn, contract_no)
    return build_bundle(client, contract_no, key, fields)


def reader(ctx: LedgerContext) -> BilateralContractsClient:
    """A read-only client (a never-funded key)."""
    return ctx.client(BilateralContractsClient, Account.create())


def register(app: typer.Typer) -> None:
    """Add ``contract-archive`` to the gateway's CLI."""

    @app.command("contract-archive")
    def contract_archive(
        contract_no: Annotated[int, typer.Argument(help="Contract number.", min=1)],
        template: Annotated[str, typer.Option("--template", help="Template kind[@version].")],
        fields: Annotated[Path, typer.Option("--fields", help="JSON file of its fields.")],
    ) -> None:
        """Archive a contract's document (checked against its on-chain document hash)."""
        ctx = make_context()
        engine = engine_from_settings(ctx.settings)
        try:
            upgrade(engine)
            values = json.loads(fields.read_text())
            doc = archive_document(engine, reader(ctx), contract_no, template, values)
        finally:
            engine.dispose()
        console.print(f"archived contract {contract_no}: document {doc.document_hash}")
