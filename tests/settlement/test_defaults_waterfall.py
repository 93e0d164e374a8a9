"""The default waterfall and liabilities that follow the entity (issue 19, parts 2 and 3).

Every node is rated C (required bond 100,000,000 fen) and holds 10,000,000 fen more, except
seller2, rated AAA by the credit agency here (required bond 2,000,000 fen). The default
fund takes 10 % of the required bond at admission: seller and buyer2 10,000,000 fen each,
seller2 200,000 fen; the total base is 20,200,000 fen. The OPERATOR adds 5,000,000 fen.

The buyer takes 10 MWh and meters 11 MWh; a' = 200,000,000 fen/MWh makes its formula-3
charge 1 MWh x 200,000,000 = 200,000,000 fen. It allows 1,000,000 fen from its wallet and
its bond is 110,000,000 fen, so 89,000,000 fen is its debt. The waterfall, to the fen:
  wallet 1,000,000 + bond 110,000,000 + fund 25,200,000 = 136,200,000 to the balancing
  account; 63,800,000 allocated over 20,200,000 of base: index step
  ceil(63,800,000 x 1e18 / 20,200,000) = 3,158,415,841,584,158,416;
  seller and buyer2 owe ceil(10,000,000 x step / 1e18) = 31,584,159 each, seller2
  ceil(200,000 x step / 1e18) = 631,684: 63,800,002 in all (2 fen rounding stay in the fund).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.clients.defaults import DefaultFundClient, allocation_fen, index_step
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side, code
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.errors import ContractRevertError
from node.registry.participant import Bank
from tests.conftest import role_account
from tests.settlement.conftest import Flow

E = 10_000_000
PRICE = 350_000
UP = 200_000_000
CHARGE = 200_000_000
WALLET = 1_000_000
BOND = 110_000_000
DEBT = CHARGE - WALLET - BOND  # 89,000,000
REPLENISH = 5_000_000
BASE = {"seller": 10_000_000, "seller2": 200_000, "buyer2": 10_000_000}
FUND = sum(BASE.values()) + REPLENISH  # 25,200,000
ALLOCATED = DEBT - FUND  # 63,800,000
STEP = 3_158_415_841_584_158_416
OWED = {"seller": 31_584_159, "seller2": 631_684, "buyer2": 31_584_159}


def _revert(call: Callable[[], object]) -> tuple[str, dict[str, object]]:
    with pytest.raises(ContractRevertError) as err:
        call()
    return err.value.name, dict(err.value.arguments)


def _fund(flow: Flow, name: str) -> DefaultFundClient:
    return flow.ctx.client(DefaultFundClient, flow.party(name).actor.account)


def _members_and_replenish(flow: Flow) -> DefaultFundClient:
    agency = flow.ctx.client(NodeRegistryClient, role_account("CREDIT_AGENCY"))
    agency.set_credit_level(flow.party("seller2").address, 0)
    for name, base in BASE.items():
        fund = _fund(flow, name)
        assert fund.contribution_fen_of(flow.party(name).address) == base
        flow.party(name).actor.token.approve(fund.address, base)
        (ev,) = fund.events(fund.contribute(flow.party(name).address), "Contributed")
        assert (ev["args"]["node"], ev["args"]["amountFen"]) == (flow.party(name).address, base)
    operator_account = role_account("OPERATOR")
    operator = flow.ctx.client(DefaultFundClient, operator_account)
    Bank(flow.ctx, role_account("CLEARING_BANK")).mint(
        operator_account.address, REPLENISH, "FUND-TOPUP"
    )
    flow.ctx.client(SettlementTokenClient, operator_account).approve(operator.address, REPLENISH)
    operator.replenish(REPLENISH)
    assert (operator.fund_fen(), operator.total_base_fen()) == (FUND, sum(BASE.values()))
    return operator


def _trade_settled(flow: Flow) -> None:
    """The buyer's 10 MWh trade settled; its 1 MWh deviation (a' = UP) not yet."""
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, UP)
    flow.meter({"seller": (0, E), "buyer": (11_000_000, 0)})
    flow.open_settlement()
    flow.engine.settle(tid)


def _newcomer_of(flow: Flow, entity: bytes) -> Callable[[], object]:
    """node-94 registering `entity` (a retailer in City)."""
    newcomer = flow.ctx.client(NodeRegistryClient, flow.ctx.account("node-94"))
    return lambda: newcomer.register(
        NodeKind.RETAILER, Side.BUYER, 3, 1_000, 0, entity, b"\x94" * 32
    )


def _default(flow: Flow) -> object:
    _trade_settled(flow)
    buyer = flow.party("buyer")
    buyer.actor.token.approve(flow.engine.address, WALLET)
    assert flow.registry.bond_of(buyer.address) == BOND
    return flow.engine.settle_deviation(buyer.address, flow.period)


def test_waterfall_order_and_amounts_to_the_fen(flow: Flow) -> None:
    fund = _members_and_replenish(flow)
    with pytest.raises(ContractRevertError) as err:
        _fund(flow, "seller").contribute(flow.party("seller").address)
    assert (err.value.name, err.value.arguments) == (
        "AlreadyContributed",
        {"node": flow.party("seller").address, "baseFen": BASE["seller"]},
    )
    buyer = flow.party("buyer")
    balancing_before = flow.token.balance_of(flow.balancing.address)
    receipt = _default(flow)
    (col,) = flow.engine.events(receipt, "DeviationCollected")
    assert dict(col["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "fromCreditFen": 0,
        "fromWalletFen": WALLET,
        "fromBondFen": BOND,
        "debtFen": DEBT,
    }
    (cov,) = fund.events(receipt, "DefaultCovered")
    assert dict(cov["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "creditor": flow.balancing.address,
        "lossFen": DEBT,
        "fromFundFen": FUND,
        "fundLeftFen": 0,
    }
    (alloc,) = fund.events(receipt, "LossAllocated")
    assert dict(alloc["args"]) == {
        "node": buyer.address,
        "period": flow.period,
        "amountFen": ALLOCATED,
        "totalBaseFen": sum(BASE.values()),
        "lossIndex": STEP,
    }
    assert index_step(ALLOCATED, sum(BASE.values())) == STEP
    assert flow.token.balance_of(flow.balancing.address) == balancing_before + WALLET + BOND + FUND
    assert fund.unfunded_fen() == ALLOCATED
    for name, owed in OWED.items():
        assert fund.assessment_of(flow.party(name).address) == owed
        assert allocation_fen(BASE[name], STEP) == owed
    assert fund.assessment_of(buyer.address) == 0
    assert sum(OWED.values()) == ALLOCATED + 2
    # each member pays its assessment; the fund forwards it to the balancing account
    unfunded = ALLOCATED
    for name, owed in OWED.items():
        member = _fund(flow, name)
        flow.party(name).actor.token.approve(member.address, owed)
        receipt = member.pay_assessment(flow.party(name).address)
        (paid,) = member.events(receipt, "CreditorPaid")
        forwarded = min(owed, unfunded)
        unfunded -= forwarded
        assert dict(paid["args"]) == {
            "creditor": flow.balancing.address,
            "amountFen": forwarded,
            "unfundedFen": unfunded,
        }
    assert _revert(lambda: _fund(flow, "seller").pay_assessment(flow.party("seller").address)) == (
        "NoAssessment",
        {"member": flow.party("seller").address},
    )
    assert (fund.unfunded_fen(), fund.fund_fen()) == (0, 2)
    assert flow.token.balance_of(flow.balancing.address) == balancing_before + CHARGE
    supply, held = flow.conservation()
    assert supply == held


def test_debt_escape_is_refused_until_the_debt_is_paid(flow: Flow) -> None:
    buyer = flow.party("buyer")
    _default(flow)  # no member, no fund: the whole debt stays unfunded
    fund = flow.ctx.client(DefaultFundClient, flow.balancing)
    assert (fund.fund_fen(), fund.unfunded_fen()) == (0, DEBT)
    assert flow.engine.debt_of(buyer.address) == DEBT
    # the debt is an obligation: exit and bond withdrawal are refused
    assert flow.registry.obligations_of(buyer.address) == 1
    assert _revert(lambda: buyer.actor.registry.exit()) == (
        "OpenObligations",
        {"node": buyer.address, "obligations": 1},
    )
    # so the entity stays registered to the owing address: a new address is refused
    entity = flow.registry.node_info(buyer.address).entity_hash
    register = _newcomer_of(flow, entity)
    assert _revert(register) == (
        "EntityAlreadyRegistered",
        {"entityHash": entity, "node": buyer.address},
    )
    # paying off clears it: the repayment goes to the fund, which pays the balancing account
    payer = flow.balancing
    balancing_before = flow.token.balance_of(payer.address)
    flow.ctx.client(SettlementTokenClient, payer).approve(flow.engine.address, DEBT)
    flow.ctx.client(SettlementEngineClient, payer).repay_debt(buyer.address, DEBT)
    assert flow.token.balance_of(payer.address) == balancing_before
    assert (fund.fund_fen(), fund.unfunded_fen()) == (0, 0)
    assert flow.registry.obligations_of(buyer.address) == 0
    assert code("SETTLEMENT_DEBT") not in flow.registry.block_reasons_of(buyer.address)
    (ex,) = flow.registry.events(buyer.actor.registry.exit(), "NodeExited")
    assert dict(ex["args"]) == {"node": buyer.address, "bondReturnedFen": 0}
    register()
    assert flow.registry.node_of_entity(entity) == flow.ctx.account("node-94").address
    supply, held = flow.conservation()
    assert supply == held


def test_an_admitted_node_that_has_not_contributed_can_be_blocked_until_it_does(
    flow: Flow,
) -> None:
    buyer2 = flow.party("buyer2")
    anyone = flow.ctx.client(DefaultFundClient, flow.ctx.account("node-93"))
    anyone.require_contribution(buyer2.address)
    assert code("FUND_CONTRIBUTION") in flow.registry.block_reasons_of(buyer2.address)
    assert not flow.registry.can_trade(buyer2.address)
    assert _revert(lambda: anyone.require_contribution(buyer2.address)) == (
        "ContributionAlreadyRequired",
        {"node": buyer2.address},
    )
    fund = _fund(flow, "buyer2")
    buyer2.actor.token.approve(fund.address, BASE["buyer2"])
    fund.contribute(buyer2.address)
    assert code("FUND_CONTRIBUTION") not in flow.registry.block_reasons_of(buyer2.address)
    assert flow.registry.can_trade(buyer2.address)
    assert _revert(lambda: anyone.require_contribution(buyer2.address)) == (
        "AlreadyContributed",
        {"node": buyer2.address, "baseFen": BASE["buyer2"]},
    )
    stranger = flow.ctx.account("node-94").address
    assert _revert(lambda: anyone.require_contribution(stranger)) == (
        "NotAdmitted",
        {"node": stranger},
    )
