"""Bilateral contracts (BilateralContracts): templates, contracts and their execution."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gateway.contract_tables import Contract, ContractTemplate
from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_hash,
    as_int,
    as_text,
    created_by,
    get_row,
    need_int,
    upsert,
)
from gateway.tables import table_of
from ledger.clients.bilateral import CONTRACT_EVENTS

T = table_of(Contract)
TT = table_of(ContractTemplate)
#: IBilateralContracts.ContractStatus by index, as the explorer names it.
STATUSES = ("none", "active", "completed", "terminated", "terminated for cause")


class ContractsProjector(Projector):
    name = "contracts"
    events = frozenset({"TemplatePublished", *CONTRACT_EVENTS})
    models = (ContractTemplate, Contract)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        if ev.event == "TemplatePublished":
            key = {"template_id": need_int(ev, "templateId")}
            upsert(
                conn,
                TT,
                key,
                {
                    "kind": as_text(arg(ev, "kind")),
                    "version": as_int(arg(ev, "version")),
                    "template_hash": as_hash(arg(ev, "templateHash")),
                    **created_by(ev),
                },
            )
            return
        key = {"contract_no": need_int(ev, "contractNo")}
        if ev.event == "ContractRegistered":
            self._registered(conn, ev, key)
            return
        row = get_row(conn, T, **key)
        if row is None:
            return  # a contract we never saw registered
        values: dict[str, Any] = {"block_number": ev.block_number}
        if ev.event == "PeriodTradeFormed":
            values["traded_wh"] = row["traded_wh"] + (as_int(arg(ev, "energyWh")) or 0)
            values["trade_count"] = row["trade_count"] + 1
        elif ev.event == "ContractAmended":
            periods = as_int(arg(ev, "periods")) or 0
            untraded = as_int(arg(ev, "untradedWhAfter")) or 0
            values |= {
                "amendments": row["amendments"] + 1,
                "document_hash": as_hash(arg(ev, "documentHash")),
                "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
                "last_period": (row["first_period"] or 0) + periods - 1,
                "scheduled_wh": row["traded_wh"] + untraded,
            }
        elif ev.event in ("ContractTerminated", "ContractCompleted"):
            status = (
                as_text(arg(ev, "status"), STATUSES) if ev.event == "ContractTerminated" else None
            )
            values |= {"status": status or "completed", "ended_time": ev.block_time}
        elif ev.event == "AnomalyRecorded":
            values["anomalies"] = row["anomalies"] + 1
        upsert(conn, T, key, values)

    def _registered(self, conn: Connection, ev: DecodedEvent, key: dict[str, Any]) -> None:
        template_id = as_int(arg(ev, "templateId"))
        template = get_row(conn, TT, template_id=template_id) if template_id else None
        first = as_int(arg(ev, "firstPeriodId"))
        periods = as_int(arg(ev, "periods")) or 0
        upsert(
            conn,
            T,
            key,
            {
                "template_id": template_id,
                "kind": template["kind"] if template else None,
                "seller": as_addr(arg(ev, "seller")),
                "buyer": as_addr(arg(ev, "buyer")),
                "status": "active",
                "document_hash": as_hash(arg(ev, "documentHash")),
                "terms_digest": as_hash(arg(ev, "termsDigest")),
                "first_period": first,
                "last_period": first + periods - 1 if first is not None else None,
                "price_fen_per_mwh": as_int(arg(ev, "priceFenPerMwh")),
                "scheduled_wh": as_int(arg(ev, "scheduledWh")),
                "traded_wh": 0,
                "trade_count": 0,
                "amendments": 0,
                "anomalies": 0,
                **created_by(ev),
            },
        )


PROJECTOR = ContractsProjector()
