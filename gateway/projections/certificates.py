"""Green certificates and renewable quotas."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.models import Certificate, Quota, table_of
from gateway.projections.base import (
    Projector,
    arg,
    as_addr,
    as_int,
    as_text,
    get_row,
    need_addr,
    need_int,
    upsert,
)

SOURCES = ("wind", "solar", "hydro", "biomass", "other")
C = table_of(Certificate)
Q = table_of(Quota)
CERT_ID = ("certificateId", "certId")


class CertificatesProjector(Projector):
    name = "certificates"
    events = frozenset(
        {"CertificateIssued", "CertificateTransferred", "CertificateRetired", "QuotaAssigned"}
    )
    models = (Certificate, Quota)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        if ev.event == "QuotaAssigned":
            account = need_addr(ev, "account", "holder")
            year = need_int(ev, "year")
            existing = get_row(conn, Q, account=account, year=year)
            upsert(
                conn,
                Q,
                {"account": account, "year": year},
                {
                    "quota_wh": as_int(arg(ev, "quotaWh")),
                    "retired_wh": (existing or {}).get("retired_wh", 0),
                    "block_number": ev.block_number,
                },
            )
            return
        key = {"certificate_id": need_int(ev, *CERT_ID)}
        if ev.event == "CertificateIssued":
            upsert(
                conn,
                C,
                key,
                {
                    "owner": as_addr(arg(ev, "owner", "to", "generator")),
                    "energy_wh": as_int(arg(ev, "energyWh")),
                    "source": as_text(arg(ev, "source", "sourceType", "energyType"), SOURCES),
                    "trade_id": as_int(arg(ev, "tradeId")),
                    "status": "issued",
                    "created_block": ev.block_number,
                    "created_time": ev.block_time,
                    "tx_hash": ev.tx_hash,
                    "block_number": ev.block_number,
                },
            )
            return
        cert = get_row(conn, C, **key)
        if cert is None:
            return
        if ev.event == "CertificateTransferred":
            upsert(
                conn,
                C,
                key,
                {"owner": as_addr(arg(ev, "to", "newOwner")), "block_number": ev.block_number},
            )
            return
        upsert(conn, C, key, {"status": "retired", "block_number": ev.block_number})
        holder = as_addr(arg(ev, "owner", "holder")) or cert["owner"]
        retire_year = as_int(arg(ev, "year"))
        if holder is not None and retire_year is not None:
            quota = get_row(conn, Q, account=holder, year=retire_year)
            upsert(
                conn,
                Q,
                {"account": holder, "year": retire_year},
                {
                    "quota_wh": (quota or {}).get("quota_wh"),
                    "retired_wh": (quota or {}).get("retired_wh", 0) + (cert["energy_wh"] or 0),
                    "block_number": ev.block_number,
                },
            )


PROJECTOR = CertificatesProjector()
