"""An unserved penalty confirmed after the accused exited still binds it (issue 19).

The ruling comes after the node left with its bond: nothing is slashed, the whole penalty
is unpaid and, as a registry obligation held in any registry state, it takes the entity
back for the owing node until paid (docs/defaults.md section 2).
"""

from __future__ import annotations

from ledger.clients.registry import NodeKind, NodeRegistryClient, NodeStatus, Side
from ledger.clients.token import SettlementTokenClient
from ledger.identity import demo_bundle
from node.registry.participant import Bank, NodeProfile, Participant
from tests.conftest import role_account
from tests.surveillance.test_onchain import REASON, Desk, desk, revert  # noqa: F401

ZERO = "0x" + "00" * 20


def test_a_penalty_confirmed_after_exit_binds_the_entity_until_paid(desk: Desk) -> None:  # noqa: F811
    accused = desk.nodes[1]
    node = accused.address
    entity = desk.registry.node_info(node).entity_hash
    rid = desk.file()
    own_registry = desk.ctx.client(NodeRegistryClient, accused.account)
    own_registry.exit()
    assert desk.registry.node_of_entity(entity) == ZERO
    penalty = 1_000
    receipt = desk.regulator.rule(rid, True, penalty, 0, REASON)
    [ev] = desk.regulator.events(receipt, "PenaltyUnpaid")
    assert dict(ev["args"]) == {
        "reportId": rid,
        "node": node,
        "entityHash": entity,
        "unpaidFen": penalty,
        "totalUnpaidFen": penalty,
        "obligationHeld": True,
    }
    assert desk.registry.status_of(node) == NodeStatus.EXITED
    assert desk.registry.obligations_of(node) == 1
    assert desk.registry.node_of_entity(entity) == node
    # the same entity (its identity bundle) from a new address is refused
    newcomer = Participant(desk.ctx, desk.ctx.account("node-94"))
    profile = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=0, capacity_kw=1_000)
    assert demo_bundle(62).entity_hash == entity
    err = revert(lambda: newcomer.apply(profile, demo_bundle(62)))
    assert err.arguments == {"entityHash": entity, "node": node}
    assert err.name == "EntityAlreadyRegistered"
    Bank(desk.ctx, role_account("CLEARING_BANK")).mint(node, penalty, "PENALTY-FUNDS")
    desk.ctx.client(SettlementTokenClient, accused.account).approve(desk.accused.address, penalty)
    [paid] = desk.accused.events(desk.accused.pay_penalty(node, penalty), "PenaltyPaid")
    assert dict(paid["args"]) == {
        "node": node,
        "payer": node,
        "paidFen": penalty,
        "remainingFen": 0,
    }
    assert desk.registry.obligations_of(node) == 0
    newcomer.apply(profile, demo_bundle(62))
    assert desk.registry.node_of_entity(entity) == newcomer.address
