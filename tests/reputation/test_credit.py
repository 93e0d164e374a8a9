"""External credit levels: posting with an effective time, the bond requirement following
the registry's table, top-up deadlines, the trading block after them, and the
high-reputation reward (one credit notch)."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger.clients.access import role_id
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.reputation import BOND_TOPUP
from ledger.errors import ContractRevertError
from tests.conftest import role_account
from tests.reputation.conftest import DAY_S, Rep, advance_time, block_time
from tests.trading.conftest import Actor

AAA, AA, A, BBB, C = 0, 1, 2, 3, 8
TABLE = {AAA: 2_000_000, AA: 3_000_000, A: 5_000_000, BBB: 8_000_000, C: 100_000_000}
GRACE_S = 7 * DAY_S


def revert(call: object) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as err:
        call()  # type: ignore[operator]
    return err.value


def level_of(rep: Rep, node: str) -> int:
    return rep.market.registry.node_info(node).credit_level


def set_bond(rep: Rep, actor: Actor, target_fen: int) -> None:
    """Withdraw (or deposit) to make ``actor``'s bond exactly ``target_fen``."""
    bond = actor.registry.bond_of(actor.address)
    if bond > target_fen:
        actor.registry.withdraw_bond(bond - target_fen)
    elif bond < target_fen:
        actor.token.approve(actor.registry.address, target_fen - bond)
        actor.registry.deposit_bond(target_fen - bond)
    assert actor.registry.bond_of(actor.address) == target_fen


def test_posted_level_applies_at_its_effective_time(rep: Rep) -> None:
    node = rep.market.seller.address
    assert level_of(rep, node) == C  # unrated: the default level
    effective = block_time(rep.ctx) + DAY_S
    receipt = rep.agency.post_credit_level(node, AAA, effective)
    (ev,) = rep.agency.events(receipt, "CreditLevelPosted")
    assert dict(ev["args"]) == {
        "node": node,
        "level": AAA,
        "effectiveAt": effective,
        "agency": rep.agency.sender.address,
    }
    info = rep.reader.credit_info(node)
    assert (info.has_pending, info.pending_level, info.pending_effective_at) == (
        True,
        AAA,
        effective,
    )
    err = revert(lambda: rep.stranger.apply_credit_level(node))
    assert err.name == "LevelNotYetEffective"
    assert err.arguments["node"] == node
    assert err.arguments["effectiveAt"] == effective
    assert level_of(rep, node) == C

    advance_time(rep.ctx, DAY_S)
    receipt = rep.stranger.apply_credit_level(node)
    (applied,) = rep.reader.events(receipt, "CreditLevelApplied")
    assert dict(applied["args"]) == {
        "node": node,
        "agencyLevel": AAA,
        "effectiveLevel": AAA,
        "rewarded": False,
        "requiredBondFen": TABLE[AAA],
    }
    registry = rep.ctx.client(NodeRegistryClient, rep.ctx.account("node-91"))
    (set_ev,) = registry.events(receipt, "CreditLevelSet")
    assert dict(set_ev["args"]) == {"node": node, "level": AAA, "agency": rep.reader.address}
    assert level_of(rep, node) == AAA
    assert rep.market.registry.required_bond_of(node) == TABLE[AAA]
    err = revert(lambda: rep.stranger.apply_credit_level(node))
    assert (err.name, err.arguments) == ("NoPendingLevel", {"node": node})


def test_posting_rules(rep: Rep) -> None:
    node = rep.market.seller.address
    err = revert(lambda: rep.stranger.post_credit_level(node, AAA, 0))
    assert (err.name, err.arguments) == (
        "AccessControlUnauthorizedAccount",
        {"account": rep.stranger.sender.address, "neededRole": role_id("CREDIT_AGENCY")},
    )
    err = revert(lambda: rep.agency.post_credit_level(node, 9, 0))
    assert (err.name, err.arguments) == ("InvalidCreditLevel", {"level": 9})
    stranger = rep.stranger.sender.address
    err = revert(lambda: rep.agency.post_credit_level(stranger, AAA, 0))
    assert (err.name, err.arguments) == ("NodeNotRegistered", {"node": stranger})


def test_level_drop_gives_a_deadline_then_blocks_until_topped_up(rep: Rep) -> None:
    seller = rep.market.seller
    node = seller.address
    rep.agency.post_credit_level(node, AAA, 0)  # effective at once
    set_bond(rep, seller, 5_000_000)

    receipt = rep.agency.post_credit_level(node, BBB, 0)
    deadline = block_time(rep.ctx) + GRACE_S
    (ev,) = rep.reader.events(receipt, "TopUpRequired")
    assert dict(ev["args"]) == {
        "node": node,
        "level": BBB,
        "requiredBondFen": TABLE[BBB],
        "bondFen": 5_000_000,
        "deadline": deadline,
    }
    # the requirement is raised, but the registry keeps the old level until the deadline
    info = rep.reader.credit_info(node)
    assert (info.agency_level, info.effective_level, info.registry_level) == (BBB, BBB, AAA)
    assert (info.required_bond_fen, info.top_up_deadline, info.blocked) == (
        TABLE[BBB],
        deadline,
        False,
    )
    assert rep.market.registry.can_trade(node)

    err = revert(lambda: rep.stranger.enforce_top_up(node))
    assert err.name == "TopUpDeadlineNotReached"
    assert err.arguments["deadline"] == deadline
    err = revert(lambda: rep.stranger.clear_top_up(node))
    assert (err.name, err.arguments) == (
        "BondStillShort",
        {"node": node, "bondFen": 5_000_000, "requiredFen": TABLE[BBB]},
    )

    advance_time(rep.ctx, GRACE_S)
    receipt = rep.stranger.enforce_top_up(node)
    (enf,) = rep.reader.events(receipt, "TopUpEnforced")
    assert dict(enf["args"]) == {
        "node": node,
        "level": BBB,
        "requiredBondFen": TABLE[BBB],
        "bondFen": 5_000_000,
        "blocked": True,
    }
    (blocked,) = rep.market.registry.events(receipt, "NodeBlocked")
    assert dict(blocked["args"]) == {"node": node, "reason": BOND_TOPUP, "by": rep.reader.address}
    assert level_of(rep, node) == BBB
    assert rep.market.registry.required_bond_of(node) == TABLE[BBB]
    err = revert(lambda: rep.market.registry.check_can_trade(node))
    assert (err.name, err.arguments) == ("TradingBlocked", {"node": node, "reason": BOND_TOPUP})
    assert rep.reader.credit_info(node).blocked
    err = revert(lambda: rep.stranger.enforce_top_up(node))
    assert (err.name, err.arguments) == ("NoTopUpDue", {"node": node})
    err = revert(lambda: rep.stranger.clear_top_up(node))
    assert err.name == "BondStillShort"

    set_bond(rep, seller, TABLE[BBB])
    receipt = rep.stranger.clear_top_up(node)
    (cleared,) = rep.reader.events(receipt, "TopUpCleared")
    assert dict(cleared["args"]) == {
        "node": node,
        "level": BBB,
        "requiredBondFen": TABLE[BBB],
        "bondFen": TABLE[BBB],
    }
    (unblocked,) = rep.market.registry.events(receipt, "NodeUnblocked")
    assert unblocked["args"]["reason"] == BOND_TOPUP
    assert rep.market.registry.can_trade(node)
    assert not rep.reader.credit_info(node).blocked
    err = revert(lambda: rep.stranger.clear_top_up(node))
    assert err.name == "NoTopUpDue"


def test_top_up_before_the_deadline_applies_the_level(rep: Rep) -> None:
    seller = rep.market.seller
    node = seller.address
    rep.agency.post_credit_level(node, AAA, 0)
    set_bond(rep, seller, 5_000_000)
    rep.agency.post_credit_level(node, BBB, 0)
    set_bond(rep, seller, TABLE[BBB])
    receipt = rep.stranger.clear_top_up(node)
    (cleared,) = rep.reader.events(receipt, "TopUpCleared")
    assert cleared["args"]["level"] == BBB
    assert level_of(rep, node) == BBB
    assert rep.reader.credit_info(node).top_up_deadline == 0
    advance_time(rep.ctx, GRACE_S)
    err = revert(lambda: rep.stranger.enforce_top_up(node))
    assert err.name == "NoTopUpDue"
    assert rep.market.registry.can_trade(node)


def test_upgrade_during_the_grace_period_cancels_the_deadline(rep: Rep) -> None:
    seller = rep.market.seller
    node = seller.address
    rep.agency.post_credit_level(node, AAA, 0)
    set_bond(rep, seller, 4_000_000)
    rep.agency.post_credit_level(node, BBB, 0)
    assert rep.reader.credit_info(node).top_up_deadline != 0
    receipt = rep.agency.post_credit_level(node, AA, 0)
    (cleared,) = rep.reader.events(receipt, "TopUpCleared")
    assert (cleared["args"]["level"], cleared["args"]["bondFen"]) == (AA, 4_000_000)
    info = rep.reader.credit_info(node)
    assert (info.top_up_deadline, info.registry_level, info.required_bond_fen) == (
        0,
        AA,
        TABLE[AA],
    )


def test_high_reputation_earns_one_credit_notch(rep: Rep) -> None:
    m = rep.market
    seller = m.seller
    node = seller.address
    rep.regulator.set_thresholds(300, 100, 400)  # reward from 400 for a short test
    tid = rep.trade(seller, m.buyer)
    # not agency-rated yet: a good rating earns no level reward
    rep.of(m.buyer).rate(tid, 5)
    assert rep.reader.reputation_of(node) == 424
    assert not rep.reader.is_rewarded(node)
    assert level_of(rep, node) == C

    receipt = rep.agency.post_credit_level(node, A, 0)
    (changed,) = rep.reader.events(receipt, "ReputationRewardChanged")
    assert dict(changed["args"]) == {"node": node, "rewarded": True, "reputation": 424}
    (applied,) = rep.reader.events(receipt, "CreditLevelApplied")
    assert dict(applied["args"]) == {
        "node": node,
        "agencyLevel": A,
        "effectiveLevel": AA,
        "rewarded": True,
        "requiredBondFen": TABLE[AA],
    }
    assert level_of(rep, node) == AA
    assert rep.market.registry.required_bond_of(node) == TABLE[AA]

    # a penalty takes the reputation below the reward: back to the agency's level
    regulator = rep.ctx.client(type(rep.regulator), role_account("REGULATOR"))
    receipt = regulator.penalize(node, 100, Web3.keccak(text="ruling-1"))
    (lost,) = rep.reader.events(receipt, "ReputationRewardChanged")
    assert dict(lost["args"]) == {"node": node, "rewarded": False, "reputation": 324}
    assert level_of(rep, node) == A
    assert rep.market.registry.required_bond_of(node) == TABLE[A]


def test_losing_the_reward_with_a_short_bond_opens_a_deadline(rep: Rep) -> None:
    m = rep.market
    seller = m.seller
    node = seller.address
    rep.regulator.set_thresholds(300, 100, 400)
    rep.of(m.buyer).rate(rep.trade(seller, m.buyer), 5)
    rep.agency.post_credit_level(node, AA, 0)
    assert level_of(rep, node) == AAA  # AA, one notch better
    # the seller's obligation of the period is held until its deviation settles; the
    # market's stand-in settler (MARKET_CONTRACT) releases it as the engine would
    rep.ctx.client(NodeRegistryClient, rep.ctx.account("node-90")).remove_obligation(node)
    set_bond(rep, seller, TABLE[AAA])
    receipt = rep.regulator.penalize(node, 50, Web3.keccak(text="ruling-2"))
    (ev,) = rep.reader.events(receipt, "TopUpRequired")
    assert (ev["args"]["level"], ev["args"]["requiredBondFen"]) == (AA, TABLE[AA])
    assert level_of(rep, node) == AAA
    assert rep.market.registry.can_trade(node)


def test_a_new_drop_while_blocked_is_cleared_with_one_top_up(rep: Rep) -> None:
    seller = rep.market.seller
    node = seller.address
    rep.agency.post_credit_level(node, AAA, 0)
    set_bond(rep, seller, 2_500_000)
    rep.agency.post_credit_level(node, AA, 0)
    advance_time(rep.ctx, GRACE_S)
    rep.stranger.enforce_top_up(node)
    assert rep.reader.credit_info(node).blocked
    rep.agency.post_credit_level(node, A, 0)  # a further drop: a new deadline, still blocked
    info = rep.reader.credit_info(node)
    assert (info.blocked, info.top_up_level, info.registry_level) == (True, A, AA)
    set_bond(rep, seller, TABLE[A])
    receipt = rep.stranger.clear_top_up(node)
    (unblocked,) = rep.market.registry.events(receipt, "NodeUnblocked")
    assert unblocked["args"]["reason"] == BOND_TOPUP
    info = rep.reader.credit_info(node)
    assert (info.blocked, info.top_up_deadline, info.registry_level) == (False, 0, A)
    assert rep.market.registry.can_trade(node)
