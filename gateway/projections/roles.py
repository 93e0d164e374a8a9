"""Roles of MarketAccess (OpenZeppelin RoleGranted / RoleRevoked), append-only."""

from __future__ import annotations

from sqlalchemy import Connection

from gateway.decode import ROLE_BY_ID, DecodedEvent
from gateway.projections.base import Projector, append, arg, as_addr, need_addr
from gateway.tables import RoleChange, table_of


class RolesProjector(Projector):
    name = "roles"
    events = frozenset({"RoleGranted", "RoleRevoked"})
    models = (RoleChange,)

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        role = str(arg(ev, "role", required=True))
        append(
            conn,
            table_of(RoleChange),
            ev,
            {
                "role": role,
                "role_name": ROLE_BY_ID.get(role, role[:10]),
                "account": need_addr(ev, "account"),
                "sender": as_addr(arg(ev, "sender")),
                "granted": ev.event == "RoleGranted",
            },
        )


PROJECTOR = RolesProjector()
