"""Every lifecycle path of NodeRegistry, with exact events, errors and token amounts."""

from __future__ import annotations

from unittest.mock import ANY

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.clients.registry import NodeKind, NodeStatus, Side, code
from ledger.identity import demo_bundle
from ledger.keystore import demo_account
from tests.contracts.conftest import COAL, CONSUMER, WIND, Market, addr
from tests.contracts.helpers import reverts

ZERO = "0x" + "00" * 20
LIC = code("GEN_LICENCE")
C_LEVEL_BOND = 100_000_000  # fen: level C (the unrated default) in the deploy table


def test_apply_approve_bond_then_trade(market: Market) -> None:
    node = market.node(1)
    bundle = demo_bundle(1)
    result = node.apply(COAL, bundle)
    receipt = market.ctx.w3.eth.get_transaction_receipt(result.tx_hash)
    (ev,) = node.registry.events(receipt, "NodeApplied")
    assert dict(ev["args"]) == {
        "node": node.address,
        "entityHash": bundle.entity_hash,
        "kind": NodeKind.COAL,
        "side": Side.SELLER,
        "region": 1,
        "capacityKw": 600_000,
        "carbonIntensityGPerKwh": 820,
        "identityHash": bundle.bundle_hash,
        "epoch": 1,
    }
    reg = market.verifier
    assert reg.pending_applications() == [node.address]
    assert reg.status_of(node.address) == NodeStatus.PENDING
    assert reg.node_of_entity(bundle.entity_hash) == node.address
    with reverts("NodeNotActive", node=node.address):
        reg.check_can_trade(node.address)

    receipt = reg.approve_node(node.address)
    (ev,) = reg.events(receipt, "NodeApproved")
    assert dict(ev["args"]) == {
        "node": node.address,
        "entityHash": bundle.entity_hash,
        "verifier": reg.sender.address,
    }
    assert reg.pending_applications() == []
    assert reg.is_active(node.address)
    assert reg.side_of_checks if False else True
    assert reg.required_bond_of(node.address) == C_LEVEL_BOND
    with reverts("BondBelowRequirement", node=node.address, bondFen=0, requiredFen=C_LEVEL_BOND):
        reg.check_can_trade(node.address)

    market.mint(node.address, C_LEVEL_BOND + 500)
    receipt = node.deposit_bond(C_LEVEL_BOND)
    (ev,) = node.registry.events(receipt, "BondDeposited")
    assert dict(ev["args"]) == {
        "node": node.address,
        "payer": node.address,
        "amountFen": C_LEVEL_BOND,
        "bondFen": C_LEVEL_BOND,
    }
    assert reg.can_trade(node.address)
    reg.check_can_trade(node.address)
    info = reg.node_info(node.address)
    assert (info.kind, info.side, info.region, info.capacity_kw) == (
        NodeKind.COAL,
        Side.SELLER,
        1,
        600_000,
    )
    assert info.carbon_intensity_g_per_kwh == 820
    assert (info.credit_level, info.rated, info.bond_fen) == (8, False, C_LEVEL_BOND)
    assert market.bank.balance_of(node.address) == 500
    assert market.bank.balance_of(reg.address) == C_LEVEL_BOND
    assert reg.total_bond_fen() == C_LEVEL_BOND
    fn = reg.contract.functions
    assert fn.sideOf(node.address).call() == Side.SELLER
    assert fn.kindOf(node.address).call() == NodeKind.COAL
    assert fn.regionOf(node.address).call() == 1
    assert fn.capacityKwOf(node.address).call() == 600_000
    assert fn.carbonIntensityOf(node.address).call() == 820
    assert fn.bondOf(node.address).call() == C_LEVEL_BOND


def test_bad_applications_revert_with_their_errors(market: Market) -> None:
    node = market.node(1)
    r = node.registry
    good = demo_bundle(1)
    e, i = good.entity_hash, good.bundle_hash
    with reverts("ZeroHash"):
        r.register(NodeKind.WIND, Side.SELLER, 3, 10, 0, b"\x00" * 32, i)
    with reverts("InvalidRegion", region=32):
        r.register(NodeKind.WIND, Side.SELLER, 32, 10, 0, e, i)
    with reverts("WrongSide", kind=NodeKind.WIND, side=Side.BUYER):
        r.register(NodeKind.WIND, Side.BUYER, 3, 10, 0, e, i)
    with reverts("WrongSide", kind=NodeKind.CONSUMER, side=Side.SELLER):
        r.register(NodeKind.CONSUMER, Side.SELLER, 3, 10, 0, e, i)
    with reverts("WrongSide", kind=NodeKind.STORAGE, side=Side.BUYER):
        r.register(NodeKind.STORAGE, Side.BUYER, 3, 10, 0, e, i)
    with reverts("InvalidCapacity", kind=NodeKind.SOLAR, capacityKw=0):
        r.register(NodeKind.SOLAR, Side.SELLER, 3, 0, 0, e, i)
    with reverts("InvalidCarbonIntensity", kind=NodeKind.RETAILER, carbonIntensityGPerKwh=5):
        r.register(NodeKind.RETAILER, Side.BUYER, 3, 0, 5, e, i)
    with reverts("InvalidCarbonIntensity", kind=NodeKind.COAL, carbonIntensityGPerKwh=2001):
        r.register(NodeKind.COAL, Side.SELLER, 3, 10, 2001, e, i)
    # retailers and grid companies may take either side
    r.register(NodeKind.RETAILER, Side.SELLER, 3, 0, 0, e, i)
    with reverts("NodeAlreadyEnrolled", node=node.address, status=NodeStatus.PENDING):
        r.register(NodeKind.RETAILER, Side.SELLER, 3, 0, 0, e, i)
    other = market.node(2)
    with reverts("EntityAlreadyRegistered", entityHash=e, node=node.address):
        other.registry.register(NodeKind.GRID_COMPANY, Side.BUYER, 3, 0, 0, e, i)
    market.verifier.approve_node(node.address)
    with reverts("EntityAlreadyRegistered", entityHash=e, node=node.address):
        other.apply(WIND, good)


def test_reject_then_reapply_goes_through_review_again(market: Market) -> None:
    node = market.apply(1, CONSUMER)
    reg = market.verifier
    receipt = reg.reject_node(node.address, code("DOCS_INCOMPLETE"))
    (ev,) = reg.events(receipt, "NodeRejected")
    assert ev["args"]["reasonCode"] == code("DOCS_INCOMPLETE")
    assert reg.status_of(node.address) == NodeStatus.REJECTED
    assert reg.node_of_entity(demo_bundle(1).entity_hash) == ZERO
    with reverts("NodeNotPending", node=node.address):
        reg.approve_node(node.address)
    node.apply(CONSUMER, demo_bundle(1))
    info = reg.node_info(node.address)
    assert (info.status, info.epoch) == (NodeStatus.PENDING, 2)
    assert reg.node_count() == 1


def test_zero_address_and_unknown_nodes(market: Market, stranger: LocalAccount) -> None:
    with reverts("ZeroAddress"):
        market.verifier.approve_node(ZERO)
    with reverts("NodeNotFound", node=addr(stranger)):
        market.verifier.approve_node(addr(stranger))
    with reverts("ZeroAddress"):
        market.agency.set_credit_level(ZERO, 1)
    node = market.admit(1)
    with reverts("ZeroAddress"):
        market.market.slash(node.address, 1, ZERO, code("X"))
    with reverts("ZeroAddress"):
        market.regulator.ban_entity(ZERO, code("X"))
    with (
        reverts("NodeNotEnrolled", node=addr(stranger))
        if False
        else reverts("NodeNotFound", node=addr(stranger))
    ):
        market.registry(stranger).deposit_bond(1)


def test_bond_withdrawal_only_above_requirement_and_without_obligations(market: Market) -> None:
    node = market.admit(1, WIND, bond_fen=C_LEVEL_BOND + 1_000)
    reg = node.registry
    assert reg.withdrawable_bond_of(node.address) == 1_000
    with reverts("WithdrawalExceedsExcess", node=node.address, requestedFen=1_001, excessFen=1_000):
        reg.withdraw_bond(1_001)
    with reverts("ZeroAmount"):
        reg.withdraw_bond(0)
    market.market.add_obligation(node.address)
    with reverts("OpenObligations", node=node.address, obligations=1):
        reg.withdraw_bond(1)
    assert reg.withdrawable_bond_of(node.address) == 0
    market.market.remove_obligation(node.address)
    receipt = reg.withdraw_bond(400)
    (ev,) = reg.events(receipt, "BondWithdrawn")
    assert dict(ev["args"]) == {
        "node": node.address,
        "amountFen": 400,
        "bondFen": C_LEVEL_BOND + 600,
    }
    assert market.bank.balance_of(node.address) == 400
    # a better credit level lowers the requirement and frees bond
    receipt = market.agency.set_credit_level(node.address, 0)
    (ev,) = reg.events(receipt, "CreditLevelSet")
    assert ev["args"]["level"] == 0
    assert reg.required_bond_of(node.address) == 2_000_000
    assert reg.withdrawable_bond_of(node.address) == C_LEVEL_BOND + 600 - 2_000_000
    with reverts("InvalidCreditLevel", level=9):
        market.agency.set_credit_level(node.address, 9)
    # the operator raises AAA: the node drops below the requirement
    market.operator.set_bond_requirement(0, 200_000_000)
    with reverts(
        "BondBelowRequirement",
        node=node.address,
        bondFen=C_LEVEL_BOND + 600,
        requiredFen=200_000_000,
    ):
        reg.check_can_trade(node.address)
    assert market.operator.bond_table()[0] == 200_000_000
    market.operator.set_default_credit_level(3)
    assert market.operator.default_credit_level() == 3


def test_qualification_required_expiry_renewal_and_reminders(market: Market) -> None:
    market.operator.set_required_qualification(NodeKind.WIND, LIC, True)
    assert market.operator.required_qualifications(NodeKind.WIND) == [LIC]
    node = market.admit(1, WIND)
    reg = node.registry
    with reverts("QualificationMissing", node=node.address, licenceType=LIC):
        reg.check_can_trade(node.address)
    now = market.now()
    with reverts("InvalidExpiry", expiresAt=now - 1, nowS=ANY):
        node.qualify("GEN_LICENCE", "1234-5678", now - 1)
    expires = now + 30 * 86_400
    receipt = node.qualify("GEN_LICENCE", "1234-5678", expires)
    (ev,) = reg.events(receipt, "QualificationSubmitted")
    number_hash = bytes(Web3.keccak(text="1234-5678"))
    assert dict(ev["args"]) == {
        "node": node.address,
        "licenceType": LIC,
        "numberHash": number_hash,
        "expiresAt": expires,
    }
    (pending,) = market.verifier.pending_qualifications()
    assert (pending.node, pending.licence, pending.pending_expires_at) == (
        node.address,
        "GEN_LICENCE",
        expires,
    )
    with reverts("QualificationMissing", node=node.address, licenceType=LIC):
        reg.check_can_trade(node.address)
    receipt = market.verifier.approve_qualification(node.address, LIC)
    (ev,) = reg.events(receipt, "QualificationApproved")
    assert ev["args"]["expiresAt"] == expires
    assert reg.can_trade(node.address)
    assert market.verifier.pending_qualification_count() == 0
    with reverts("QualificationNotPending", node=node.address, licenceType=LIC):
        market.verifier.approve_qualification(node.address, LIC)

    # reminders: a paging scan of certificates expiring before a time
    items, next_offset = reg.qualifications_expiring_before(expires + 1, 0, 10)
    assert [(q.node, q.licence, q.expires_at) for q in items] == [
        (node.address, "GEN_LICENCE", expires)
    ]
    assert next_offset == 1
    assert reg.qualifications_expiring_before(expires, 0, 10) == ([], 1)
    assert reg.qualifications_expiring_before(expires + 1, 1, 10) == ([], 1)

    market.warp(31 * 86_400)
    with reverts("QualificationExpired", node=node.address, licenceType=LIC, expiredAt=expires):
        reg.check_can_trade(node.address)
    renewed = market.now() + 365 * 86_400
    node.qualify("GEN_LICENCE", "1234-9999", renewed)
    with reverts("QualificationExpired", node=node.address, licenceType=LIC, expiredAt=expires):
        reg.check_can_trade(node.address)
    market.verifier.approve_qualification(node.address, LIC)
    assert reg.can_trade(node.address)
    q = reg.qualification_of(node.address, LIC)
    assert (q.expires_at, q.valid, q.pending) == (renewed, True, False)
    assert q.number_hash == bytes(Web3.keccak(text="1234-9999"))

    # a rejected renewal leaves the current certificate alone
    node.qualify("GEN_LICENCE", "bad", renewed + 10)
    receipt = market.verifier.reject_qualification(node.address, LIC, code("FORGED"))
    (ev,) = reg.events(receipt, "QualificationRejected")
    assert ev["args"]["reasonCode"] == code("FORGED")
    assert reg.qualification_of(node.address, LIC).expires_at == renewed
    assert [q.licence for q in reg.qualifications_of(node.address)] == ["GEN_LICENCE"]

    # dropping the requirement
    market.operator.set_required_qualification(NodeKind.WIND, LIC, False)
    assert market.operator.required_qualifications(NodeKind.WIND) == []


def test_required_qualifications_are_capped(market: Market) -> None:
    for i in range(8):
        market.operator.set_required_qualification(NodeKind.COAL, code(f"L{i}"), True)
    with reverts("TooManyRequiredQualifications", kind=NodeKind.COAL, max=8):
        market.operator.set_required_qualification(NodeKind.COAL, code("L8"), True)


def test_reapplication_invalidates_old_qualifications(market: Market) -> None:
    market.operator.set_required_qualification(NodeKind.WIND, LIC, True)
    node = market.admit(1, WIND)
    node.qualify("GEN_LICENCE", "N1", market.now() + 86_400 * 100)
    market.verifier.approve_qualification(node.address, LIC)
    assert node.registry.can_trade(node.address)
    node.exit()
    market.admit(1, WIND)
    with reverts("QualificationMissing", node=node.address, licenceType=LIC):
        node.registry.check_can_trade(node.address)


def test_change_request_reviewed_and_recorded(market: Market) -> None:
    node = market.admit(1, COAL)
    reg = node.registry
    new_bundle = demo_bundle(1, name="Renamed Power Co.")
    receipt = node.request_change(capacity_kw=650_000, bundle=new_bundle)
    (ev,) = reg.events(receipt, "ChangeRequested")
    assert dict(ev["args"]) == {
        "node": node.address,
        "changeId": 1,
        "region": 1,
        "capacityKw": 650_000,
        "carbonIntensityGPerKwh": 820,
        "identityHash": new_bundle.bundle_hash,
    }
    with reverts("ChangePending", node=node.address, changeId=1):
        node.request_change(region=2)
    assert market.verifier.pending_changes() == [node.address]
    receipt = market.verifier.approve_change(node.address)
    (ev,) = reg.events(receipt, "ChangeApproved")
    assert ev["args"]["changeId"] == 1
    info = reg.node_info(node.address)
    assert (info.capacity_kw, info.identity_hash) == (650_000, new_bundle.bundle_hash)
    with reverts("NoPendingChange", node=node.address):
        market.verifier.approve_change(node.address)
    node.request_change(region=40 - 38)
    receipt = market.verifier.reject_change(node.address, code("NO_GRID_PERMIT"))
    (ev,) = reg.events(receipt, "ChangeRejected")
    assert (ev["args"]["changeId"], ev["args"]["reasonCode"]) == (2, code("NO_GRID_PERMIT"))
    assert reg.node_info(node.address).region == 1
    with reverts("InvalidRegion", region=99):
        node.request_change(region=99)
    with reverts("NodeNotActive", node=market.node(5).address):
        market.node(5).request_change(region=1)


def test_exit_needs_no_open_obligations_and_returns_the_bond(market: Market) -> None:
    node = market.admit(1, WIND)
    reg = node.registry
    market.market.add_obligation(node.address)
    with reverts("OpenObligations", node=node.address, obligations=1):
        node.exit()
    market.market.remove_obligation(node.address)
    market.market.reserve_bond(node.address, 10)
    with reverts("ReservedBondOutstanding", node=node.address, reservedFen=10):
        node.exit()
    market.market.release_bond(node.address, 10)
    receipt = node.exit()
    (ev,) = reg.events(receipt, "NodeExited")
    assert dict(ev["args"]) == {"node": node.address, "bondReturnedFen": C_LEVEL_BOND}
    assert market.bank.balance_of(node.address) == C_LEVEL_BOND
    assert reg.bond_of(node.address) == 0
    assert reg.status_of(node.address) == NodeStatus.EXITED
    assert not reg.is_active(node.address)
    with reverts("NodeNotEnrolled", node=node.address):
        node.exit()
    # re-entry is a new application, reviewed again
    node.apply(WIND, demo_bundle(1))
    assert reg.status_of(node.address) == NodeStatus.PENDING
    assert market.verifier.pending_applications() == [node.address]


def test_pending_application_can_be_withdrawn(market: Market) -> None:
    node = market.apply(1, CONSUMER)
    market.mint(node.address, 700)
    node.deposit_bond(700)
    node.exit()
    assert market.verifier.pending_applications() == []
    assert market.bank.balance_of(node.address) == 700


def test_operator_reclaims_inactive_nodes(market: Market) -> None:
    node = market.admit(1, WIND)
    reg = market.operator
    period = reg.inactivity_period()
    assert period == 180 * 86_400
    last = reg.node_info(node.address).last_active_at
    with reverts(
        "NodeStillActive", node=node.address, lastActiveAt=last, reclaimableAt=last + period
    ):
        reg.reclaim(node.address)
    reg.set_inactivity_period(3_600)
    with reverts("InvalidInactivityPeriod"):
        reg.set_inactivity_period(0)
    market.warp(3_601)
    receipt = reg.reclaim(node.address)
    (ev,) = reg.events(receipt, "NodeReclaimed")
    assert dict(ev["args"]) == {
        "node": node.address,
        "lastActiveAt": last,
        "bondReturnedFen": C_LEVEL_BOND,
        "operator": reg.sender.address,
    }
    assert reg.status_of(node.address) == NodeStatus.EXITED
    assert market.bank.balance_of(node.address) == C_LEVEL_BOND


def test_regulator_removes_keeps_bond_slashes_and_returns_it(market: Market) -> None:
    node = market.admit(1, WIND)
    reg = market.regulator
    receipt = reg.remove_node(node.address, code("LICENCE_REVOKED"))
    (ev,) = reg.events(receipt, "NodeRemoved")
    assert dict(ev["args"]) == {
        "node": node.address,
        "entityHash": demo_bundle(1).entity_hash,
        "reasonCode": code("LICENCE_REVOKED"),
        "bondHeldFen": C_LEVEL_BOND,
        "regulator": reg.sender.address,
    }
    assert reg.bond_of(node.address) == C_LEVEL_BOND
    with reverts("BondHeld", node=node.address, bondFen=C_LEVEL_BOND):
        node.withdraw_bond(1)
    with reverts("BondHeld", node=node.address, bondFen=C_LEVEL_BOND):
        node.apply(WIND, demo_bundle(1))
    fund = market.node(50).address
    receipt = reg.slash(node.address, 1_000, fund, code("PENALTY"))
    (ev,) = reg.events(receipt, "BondSlashed")
    assert dict(ev["args"]) == {
        "node": node.address,
        "to": fund,
        "requestedFen": 1_000,
        "slashedFen": 1_000,
        "reason": code("PENALTY"),
        "by": reg.sender.address,
    }
    assert market.bank.balance_of(fund) == 1_000
    receipt = reg.return_held_bond(node.address)
    (ev,) = reg.events(receipt, "HeldBondReturned")
    assert ev["args"]["amountFen"] == C_LEVEL_BOND - 1_000
    assert market.bank.balance_of(node.address) == C_LEVEL_BOND - 1_000
    with reverts("ZeroAmount"):
        reg.return_held_bond(node.address)
    with reverts("NodeNotRemoved", node=market.node(50).address):
        reg.return_held_bond(market.node(50).address)
    # not banned: the entity may apply again (reviewed again)
    node.apply(WIND, demo_bundle(1))
    assert reg.status_of(node.address) == NodeStatus.PENDING


def test_banned_entity_cannot_return_under_any_address(market: Market) -> None:
    node = market.admit(1, WIND)
    bundle = demo_bundle(1)
    reg = market.regulator
    receipt = reg.ban_entity(node.address, code("FRAUD"))
    (removed,) = reg.events(receipt, "NodeRemoved")
    (banned,) = reg.events(receipt, "EntityBanned")
    assert removed["args"]["node"] == node.address
    assert dict(banned["args"]) == {
        "entityHash": bundle.entity_hash,
        "node": node.address,
        "reasonCode": code("FRAUD"),
        "regulator": reg.sender.address,
    }
    assert reg.is_banned(bundle.entity_hash)
    with reverts("BannedEntity", entityHash=bundle.entity_hash):
        reg.ban_entity(node.address, code("FRAUD"))
    newcomer = market.node(2)
    with reverts("BannedEntity", entityHash=bundle.entity_hash):
        newcomer.apply(WIND, bundle)
    # the banned entity's old address cannot come back as "another" entity either
    reg.return_held_bond(node.address)
    with reverts("BannedEntity", entityHash=bundle.entity_hash):
        node.apply(WIND, demo_bundle(3))


def test_market_contract_functions(market: Market, stranger: LocalAccount) -> None:
    node = market.admit(1, WIND, bond_fen=C_LEVEL_BOND)
    m = market.market
    receipt = m.reserve_bond(node.address, 60_000_000)
    (ev,) = m.events(receipt, "BondReserved")
    assert dict(ev["args"]) == {
        "node": node.address,
        "amountFen": 60_000_000,
        "reservedFen": 60_000_000,
        "by": m.sender.address,
    }
    assert m.available_bond_of(node.address) == 40_000_000
    with reverts(
        "InsufficientBond", node=node.address, availableFen=40_000_000, neededFen=40_000_001
    ):
        m.reserve_bond(node.address, 40_000_001)
    with reverts(
        "ReleaseExceedsReserved", node=node.address, reservedFen=60_000_000, amountFen=60_000_001
    ):
        m.release_bond(node.address, 60_000_001)
    # slashing takes at most the bond; reserved exposure stays, available saturates at 0
    to = addr(stranger)
    receipt = m.slash(node.address, 150_000_000, to, code("DEFAULT"))
    (ev,) = m.events(receipt, "BondSlashed")
    assert (ev["args"]["requestedFen"], ev["args"]["slashedFen"]) == (150_000_000, C_LEVEL_BOND)
    assert market.bank.balance_of(to) == C_LEVEL_BOND
    assert m.bond_of(node.address) == 0
    assert m.available_bond_of(node.address) == 0
    m.release_bond(node.address, 60_000_000)
    # blocking
    m.block_trading(node.address, code("DEBT"))
    m.block_trading(node.address, code("BOND_DEADLINE"))
    with reverts("AlreadyBlocked", node=node.address, reason=code("DEBT")):
        m.block_trading(node.address, code("DEBT"))
    with reverts("TradingBlocked", node=node.address, reason=code("DEBT")):
        m.check_can_trade(node.address)
    receipt = m.unblock_trading(node.address, code("DEBT"))
    (ev,) = m.events(receipt, "NodeUnblocked")
    assert ev["args"]["reason"] == code("DEBT")
    with reverts("TradingBlocked", node=node.address, reason=code("BOND_DEADLINE")):
        m.check_can_trade(node.address)
    assert m.block_reasons_of(node.address) == [code("BOND_DEADLINE")]
    m.unblock_trading(node.address, code("BOND_DEADLINE"))
    with reverts("NotBlocked", node=node.address, reason=code("DEBT")):
        m.unblock_trading(node.address, code("DEBT"))
    with reverts("BondBelowRequirement", node=node.address, bondFen=0, requiredFen=C_LEVEL_BOND):
        m.check_can_trade(node.address)
    # obligations
    receipt = m.add_obligation(node.address)
    (ev,) = m.events(receipt, "ObligationAdded")
    assert ev["args"]["obligations"] == 1
    assert m.obligations_of(node.address) == 1
    m.remove_obligation(node.address)
    with reverts("NoOpenObligations", node=node.address):
        m.remove_obligation(node.address)
    # an obligation (a debt) binds a node in every registered state, not only Active
    pending = market.apply(2, CONSUMER)
    m.add_obligation(pending.address)
    assert m.obligations_of(pending.address) == 1
    stranger_node = market.node(3).address
    with reverts("NodeNotFound", node=stranger_node):
        m.add_obligation(stranger_node)


def test_paging_views(market: Market) -> None:
    nodes = [market.apply(n, CONSUMER if n % 2 else WIND) for n in range(1, 6)]
    reg = market.verifier
    assert reg.node_count() == 5
    assert reg.nodes_page(0, 2) == [nodes[0].address, nodes[1].address]
    assert reg.nodes_page(4, 10) == [nodes[4].address]
    assert reg.nodes_page(5, 10) == []
    assert reg.nodes_page(99, 10) == []
    assert reg.pending_application_count() == 5
    reg.approve_node(nodes[1].address)
    remaining = reg.pending_applications(0, 100)
    assert sorted(remaining) == sorted(n.address for i, n in enumerate(nodes) if i != 1)
    assert reg.pending_applications(1, 2) == remaining[1:3]


def test_gas_of_apply_approve_deposit(market: Market) -> None:
    node = market.node(1)
    applied = node.apply(COAL, demo_bundle(1))
    approve = market.verifier.approve_node(node.address)
    market.mint(node.address, C_LEVEL_BOND)
    node.token.approve(node.registry.address, C_LEVEL_BOND)
    deposit = node.registry.deposit_bond(C_LEVEL_BOND)
    gas = {"apply": applied.gas_used, "approve": approve["gasUsed"], "deposit": deposit["gasUsed"]}
    print(f"\ngas: {gas}")
    assert gas["apply"] < 270_000
    assert gas["approve"] < 80_000
    assert gas["deposit"] < 110_000


def test_licence_requirement_bit_follows_the_required_list(market: Market) -> None:
    """The kinds needing licences are kept beside the bond table (one slot read per check):
    set and cleared with the first and last required licence, kept when a level's bond
    changes, never visible in `bondTable`."""
    node = market.admit(1, WIND)
    reg = node.registry
    table = market.operator.bond_table()
    two = code("GRID_CODE")
    market.operator.set_required_qualification(NodeKind.WIND, LIC, True)
    market.operator.set_required_qualification(NodeKind.WIND, two, True)
    with reverts("QualificationMissing", node=node.address, licenceType=LIC):
        reg.check_can_trade(node.address)
    market.operator.set_bond_requirement(8, table[8])  # rewrites the unrated level's entry
    assert market.operator.bond_table() == table
    market.operator.set_required_qualification(NodeKind.WIND, LIC, False)
    with reverts("QualificationMissing", node=node.address, licenceType=two):
        reg.check_can_trade(node.address)
    market.operator.set_required_qualification(NodeKind.WIND, two, False)
    assert reg.can_trade(node.address)
    market.operator.set_required_qualification(NodeKind.COAL, LIC, True)  # another kind
    assert reg.can_trade(node.address)
    assert market.operator.bond_table() == table


def test_trading_market_fast_path_is_named_by_the_admin(market: Market) -> None:
    """The deploy names the TradingMarket; the ADMIN may name another MARKET_CONTRACT
    holder or clear it, and obligation calls pass or fail exactly as through the role."""
    admin = market.role("ADMIN")
    assert admin.trading_market() == market.ctx.manifest.address("TradingMarket")
    stranger = demo_account(1234).address
    with reverts(
        "AccessControlUnauthorizedAccount",
        account=stranger,
        neededRole=bytes(Web3.keccak(text="MARKET_CONTRACT")),
    ):
        admin.set_trading_market(stranger)
    node = market.admit(1, WIND)
    holder = market.market  # an account holding MARKET_CONTRACT
    for named in (holder.sender.address, ZERO):
        receipt = admin.set_trading_market(named)
        (ev,) = admin.events(receipt, "TradingMarketSet")
        assert dict(ev["args"]) == {"market": named, "admin": admin.sender.address}
        assert admin.trading_market() == named
        holder.add_obligation(node.address)
        assert holder.obligations_of(node.address) == 1
        holder.remove_obligation(node.address)
        with reverts("NoOpenObligations", node=node.address):
            holder.remove_obligation(node.address)
        with reverts(
            "AccessControlUnauthorizedAccount",
            account=node.address,
            neededRole=bytes(Web3.keccak(text="MARKET_CONTRACT")),
        ):
            node.registry.add_obligation(node.address)
