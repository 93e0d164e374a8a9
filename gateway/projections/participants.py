"""Market nodes (NodeRegistry, credit agency, reputation): one row per address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    SkipEvent,
    arg,
    as_int,
    as_text,
    get_row,
    need_addr,
    region_label,
    upsert,
)
from gateway.tables import Participant, table_of

KINDS = ("seller", "buyer")
#: NodeRegistry's ``NodeKind`` enum (contracts/interfaces/INodeRegistry.sol).
NODE_KINDS = (
    "coal",
    "gas",
    "wind",
    "solar",
    "hydro",
    "biomass",
    "storage",
    "retailer",
    "consumer",
    "grid",
)
STATUS_BY_EVENT = {
    "NodeRegistered": "pending",
    "NodeApplied": "pending",
    "EntityBanned": "banned",
    "NodeBlocked": "blocked",
    "NodeUnblocked": "active",
    "NodeApproved": "active",
    "NodeRejected": "rejected",
    "NodeSuspended": "suspended",
    "NodeReinstated": "active",
    "NodeExited": "exited",
    "NodeReclaimed": "reclaimed",
    "NodeRemoved": "removed",
    "NodeBanned": "banned",
}
BOND_EVENTS = frozenset({"BondDeposited", "BondWithdrawn", "BondSlashed"})
NODE_ARGS = ("node", "account", "participant")
T = table_of(Participant)


class ParticipantsProjector(Projector):
    name = "participants"
    events = (
        frozenset(STATUS_BY_EVENT)
        | BOND_EVENTS
        | frozenset({"CreditLevelSet", "CreditLevelUpdated", "ReputationUpdated"})
        | frozenset({"DisplayNameSet"})
    )
    models = (Participant,)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        address = need_addr(ev, *NODE_ARGS)
        row = get_row(conn, T, address=address)
        values: dict[str, Any] = {"block_number": ev.block_number, "tx_hash": ev.tx_hash}
        if row is None:
            values |= {
                "status": "unregistered",
                "registered_block": ev.block_number,
                "registered_time": ev.block_time,
                "bond_fen": 0,
            }
        if ev.event == "NodeApplied":
            side = as_text(arg(ev, "side"), KINDS)
            kind = as_text(arg(ev, "kind"), NODE_KINDS)
            values |= {
                "kind": f"{side} ({kind})" if side and kind else side or kind,
                "region": region_label(conn, arg(ev, "region")),
                "registered_block": ev.block_number,
                "registered_time": ev.block_time,
            }
        if ev.event == "NodeRegistered":
            values |= {
                "kind": as_text(arg(ev, "kind", "nodeKind", "side"), KINDS),
                "region": region_label(conn, arg(ev, "region", "regionId")),
                "registered_block": ev.block_number,
                "registered_time": ev.block_time,
            }
        if ev.event in STATUS_BY_EVENT:
            values["status"] = STATUS_BY_EVENT[ev.event]
        elif ev.event in BOND_EVENTS:
            total = as_int(arg(ev, "bondFen", "totalBondFen", "balanceFen"))
            if total is None:
                amount = as_int(arg(ev, "slashedFen", "amountFen", "amount"))
                if amount is None:
                    raise SkipEvent(f"{ev.event} has neither bondFen nor amountFen")
                current = (row or {}).get("bond_fen") or 0
                total = current + amount if ev.event == "BondDeposited" else current - amount
            values["bond_fen"] = total
        elif ev.event.startswith("CreditLevel"):
            values["credit_level"] = as_int(arg(ev, "level", "creditLevel"))
        elif ev.event == "DisplayNameSet":
            name = arg(ev, "name")
            values["display_name"] = str(name)[:64] if name is not None else None
        elif ev.event == "ReputationUpdated":
            values["reputation"] = as_int(arg(ev, "reputation", "score", "newReputation"))
        upsert(conn, T, {"address": address}, values)


PROJECTOR = ParticipantsProjector()
