"""Liabilities follow the entity in every registry state (issue 19, docs/defaults.md 2).

A debt holder (the engine's debt, the desk's unserved penalty, the quota ledger's unpaid
fine) holds one registry obligation per owing node; here the MARKET_CONTRACT account plays
the debt holder. The obligation binds in every registered state: a node that owes cannot
exit, be reclaimed, withdraw or get back a held bond, and its entity stays held by it (a
new address is refused with `EntityAlreadyRegistered(entity, owingNode)`), also when the
regulator removed it or the debt was recorded after it left. The last fen paid releases
the entity; a regulator's own ban stays.
"""

from __future__ import annotations

from ledger.clients.registry import NodeStatus, code
from ledger.identity import demo_bundle
from tests.contracts.conftest import CONSUMER, WIND, Market
from tests.contracts.helpers import reverts

ZERO = "0x" + "00" * 20
C_LEVEL_BOND = 100_000_000  # fen: level C (the unrated default) in the deploy table


def test_removal_of_an_owing_node_keeps_its_entity_until_paid(market: Market) -> None:
    node = market.admit(1, WIND)
    entity = demo_bundle(1).entity_hash
    debt_holder, reg = market.market, market.regulator
    debt_holder.add_obligation(node.address)  # a debt
    receipt = reg.remove_node(node.address, code("LICENCE_REVOKED"))
    (ev,) = reg.events(receipt, "NodeRemoved")
    assert (ev["args"]["node"], ev["args"]["bondHeldFen"]) == (node.address, C_LEVEL_BOND)
    # the removal does not free the owing entity: it stays held by the owing address
    assert reg.node_of_entity(entity) == node.address
    newcomer = market.node(2)
    with reverts("EntityAlreadyRegistered", entityHash=entity, node=node.address):
        newcomer.apply(WIND, demo_bundle(1))
    with reverts("OpenObligations", node=node.address, obligations=1):
        reg.return_held_bond(node.address)
    # the last fen paid releases the obligation, and with it the entity
    receipt = debt_holder.remove_obligation(node.address)
    (ev,) = debt_holder.events(receipt, "ObligationRemoved")
    assert ev["args"]["obligations"] == 0
    assert reg.node_of_entity(entity) == ZERO
    (ev,) = reg.events(reg.return_held_bond(node.address), "HeldBondReturned")
    assert ev["args"]["amountFen"] == C_LEVEL_BOND
    newcomer.apply(WIND, demo_bundle(1))
    assert reg.node_of_entity(entity) == newcomer.address


def test_a_ban_stays_after_the_owing_entity_pays(market: Market) -> None:
    node = market.admit(1, WIND)
    entity = demo_bundle(1).entity_hash
    debt_holder, reg = market.market, market.regulator
    debt_holder.add_obligation(node.address)
    receipt = reg.ban_entity(node.address, code("FRAUD"))
    assert len(reg.events(receipt, "NodeRemoved")) == 1
    assert reg.node_of_entity(entity) == node.address
    debt_holder.remove_obligation(node.address)
    assert reg.node_of_entity(entity) == ZERO
    with reverts("BannedEntity", entityHash=entity):
        market.node(2).apply(WIND, demo_bundle(1))
    # a second ban of the same entity is refused as before; an owing left node is not
    # removed twice
    with reverts("BannedEntity", entityHash=entity):
        reg.ban_entity(node.address, code("FRAUD"))


def test_a_debt_recorded_after_exit_binds_the_entity_again(market: Market) -> None:
    node = market.admit(1, WIND)
    entity = demo_bundle(1).entity_hash
    debt_holder, reg = market.market, market.regulator
    (ev,) = reg.events(node.exit(), "NodeExited")
    assert ev["args"]["bondReturnedFen"] == C_LEVEL_BOND
    assert reg.node_of_entity(entity) == ZERO
    # the deviation of a period it traded in settles late and leaves a debt
    receipt = debt_holder.add_obligation(node.address)
    (ev,) = debt_holder.events(receipt, "ObligationAdded")
    assert dict(ev["args"]) == {
        "node": node.address,
        "obligations": 1,
        "by": debt_holder.sender.address,
    }
    assert reg.status_of(node.address) == NodeStatus.EXITED
    assert reg.node_of_entity(entity) == node.address
    with reverts("EntityAlreadyRegistered", entityHash=entity, node=node.address):
        market.node(2).apply(WIND, demo_bundle(1))
    # nor can the owing address come back, under this entity or another one
    with reverts("OpenObligations", node=node.address, obligations=1):
        node.apply(WIND, demo_bundle(1))
    with reverts("OpenObligations", node=node.address, obligations=1):
        node.apply(WIND, demo_bundle(3))
    with reverts("OpenObligations", node=node.address, obligations=1):
        node.withdraw_bond(1)
    debt_holder.remove_obligation(node.address)
    assert reg.node_of_entity(entity) == ZERO
    market.node(2).apply(WIND, demo_bundle(1))
    assert reg.node_of_entity(entity) == market.node(2).address


def test_a_debt_of_a_pending_or_removed_node_blocks_every_way_out(market: Market) -> None:
    debt_holder, reg = market.market, market.regulator
    pending = market.apply(1, CONSUMER)
    debt_holder.add_obligation(pending.address)
    with reverts("OpenObligations", node=pending.address, obligations=1):
        pending.exit()
    # a rejected owing applicant keeps its entity until it pays
    market.verifier.reject_node(pending.address, code("INCOMPLETE"))
    assert reg.node_of_entity(demo_bundle(1).entity_hash) == pending.address
    debt_holder.remove_obligation(pending.address)
    assert reg.node_of_entity(demo_bundle(1).entity_hash) == ZERO
    # removed clean, then a late debt: the held bond stays held until it is paid
    removed = market.admit(2, WIND)
    reg.remove_node(removed.address, code("LICENCE_REVOKED"))
    assert reg.node_of_entity(demo_bundle(2).entity_hash) == ZERO
    debt_holder.add_obligation(removed.address)
    assert reg.node_of_entity(demo_bundle(2).entity_hash) == removed.address
    with reverts("OpenObligations", node=removed.address, obligations=1):
        reg.return_held_bond(removed.address)
    # inactive and owing: the OPERATOR cannot reclaim it either
    idle = market.admit(3, WIND)
    debt_holder.add_obligation(idle.address)
    market.warp(reg.inactivity_period() + 1)
    with reverts("OpenObligations", node=idle.address, obligations=1):
        market.operator.reclaim(idle.address)
