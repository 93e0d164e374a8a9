"""Thresholds: the public warning (issued and lifted), removal through the registry (by
penalty and by ratings), penalties' access rules and configuration."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger.clients.access import role_id
from ledger.clients.registry import NodeStatus
from ledger.clients.reputation import LOW_REPUTATION, ReputationLedgerClient
from ledger.errors import ContractRevertError
from tests.reputation.conftest import Rep

RULING = Web3.keccak(text="ruling-7")


def revert(call: object) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as err:
        call()  # type: ignore[operator]
    return err.value


def test_bad_ratings_issue_and_good_ones_lift_a_public_warning(rep: Rep) -> None:
    m = rep.market
    seller = m.seller.address
    trades = [rep.trade(m.seller, m.buyer) for _ in range(3)]
    buyer = rep.of(m.buyer)
    first = buyer.rate(trades[0], 1)
    assert buyer.events(first, "PublicWarningIssued") == []  # 303: still above 300
    second = buyer.rate(trades[1], 1)
    (warned,) = buyer.events(second, "PublicWarningIssued")
    assert dict(warned["args"]) == {"node": seller, "reputation": 267, "threshold": 300}
    assert rep.reader.reputation_info(seller).warned
    third = buyer.rate(trades[2], 5)
    (lifted,) = buyer.events(third, "PublicWarningLifted")
    assert dict(lifted["args"]) == {"node": seller, "reputation": 336, "threshold": 300}
    assert not rep.reader.reputation_info(seller).warned
    assert rep.market.registry.status_of(seller) == NodeStatus.ACTIVE


def test_a_penalty_below_the_removal_threshold_removes_the_node(rep: Rep) -> None:
    node = rep.market.seller.address
    bond = rep.market.registry.bond_of(node)
    receipt = rep.regulator.penalize(node, 260, RULING)
    (pen,) = rep.reader.events(receipt, "ReputationPenalized")
    assert dict(pen["args"]) == {
        "node": node,
        "points": 260,
        "reasonHash": RULING,
        "by": rep.regulator.sender.address,
    }
    (warned,) = rep.reader.events(receipt, "PublicWarningIssued")
    assert dict(warned["args"]) == {"node": node, "reputation": 90, "threshold": 300}
    (removal,) = rep.reader.events(receipt, "LowReputationRemoval")
    assert dict(removal["args"]) == {"node": node, "reputation": 90, "threshold": 100}
    (removed,) = rep.market.registry.events(receipt, "NodeRemoved")
    assert dict(removed["args"]) == {
        "node": node,
        "entityHash": rep.market.registry.node_info(node).entity_hash,
        "reasonCode": LOW_REPUTATION,
        "bondHeldFen": bond,
        "regulator": rep.reader.address,
    }
    assert rep.market.registry.status_of(node) == NodeStatus.REMOVED
    # a removed node is not removed twice
    receipt = rep.regulator.penalize(node, 10, RULING)
    assert rep.reader.events(receipt, "LowReputationRemoval") == []


def test_ratings_below_the_removal_threshold_remove_the_node(rep: Rep) -> None:
    m = rep.market
    seller = m.seller.address
    receipt = rep.regulator.set_thresholds(600, 250, 900)
    (ev,) = rep.reader.events(receipt, "ThresholdsSet")
    assert dict(ev["args"]) == {
        "warning": 600,
        "removal": 250,
        "reward": 900,
        "regulator": rep.regulator.sender.address,
    }
    trades = [rep.trade(m.seller, m.buyer) for _ in range(3)]
    buyer = rep.of(m.buyer)
    buyer.rate(trades[0], 1)
    buyer.rate(trades[1], 1)  # 267
    assert rep.market.registry.status_of(seller) == NodeStatus.ACTIVE
    receipt = buyer.rate(trades[2], 1)  # 240 < 250
    (removal,) = buyer.events(receipt, "LowReputationRemoval")
    assert dict(removal["args"]) == {"node": seller, "reputation": 240, "threshold": 250}
    assert rep.market.registry.status_of(seller) == NodeStatus.REMOVED


def test_penalty_rules(rep: Rep) -> None:
    node = rep.market.seller.address
    err = revert(lambda: rep.stranger.penalize(node, 10, RULING))
    assert (err.name, err.arguments) == (
        "UnauthorizedPenalizer",
        {"account": rep.stranger.sender.address},
    )
    for points in (0, 1001):
        err = revert(lambda p=points: rep.regulator.penalize(node, p, RULING))
        assert (err.name, err.arguments) == ("InvalidPoints", {"points": points})
    # a MARKET_CONTRACT (surveillance, settlement) may penalize too
    market_contract = rep.ctx.client(
        ReputationLedgerClient, rep.ctx.account("node-90")
    )  # the settler key
    market_contract.penalize(node, 10, RULING)
    assert rep.reader.reputation_of(node) == 340
    assert rep.reader.reputation_info(node).penalty_wad == 10 * 10**18


def test_configuration_rules(rep: Rep) -> None:
    assert rep.reader.thresholds().model_dump() == {"warning": 300, "removal": 100, "reward": 800}
    assert rep.reader.rating_window() == 30 * 86_400
    assert rep.reader.top_up_grace() == 7 * 86_400
    err = revert(lambda: rep.operator.set_thresholds(300, 100, 800))
    assert (err.name, err.arguments) == (
        "AccessControlUnauthorizedAccount",
        {"account": rep.operator.sender.address, "neededRole": role_id("REGULATOR")},
    )
    for bad in ((300, 300, 800), (300, 100, 300), (300, 100, 1001)):
        err = revert(lambda b=bad: rep.regulator.set_thresholds(*b))
        assert (err.name, err.arguments) == (
            "InvalidThresholds",
            {"warning": bad[0], "removal": bad[1], "reward": bad[2]},
        )
    err = revert(lambda: rep.regulator.set_rating_window(86_400))
    assert err.arguments["neededRole"] == role_id("OPERATOR")
    receipt = rep.operator.set_rating_window(86_400)
    (ev,) = rep.reader.events(receipt, "RatingWindowSet")
    assert dict(ev["args"]) == {"windowS": 86_400, "operator": rep.operator.sender.address}
    err = revert(lambda: rep.operator.set_top_up_grace(0))
    assert (err.name, err.arguments) == ("InvalidDuration", {"durationS": 0})
    rep.operator.set_top_up_grace(3_600)
    assert rep.reader.top_up_grace() == 3_600
