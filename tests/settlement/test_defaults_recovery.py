"""Recovery of allocated losses and contribution refunds of the default fund (issue 19).

The waterfall of ``test_defaults_waterfall`` (same members, numbers and default): 63,800,000
fen of the buyer's 89,000,000 fen debt is allocated over a base of 20,200,000 fen. When the
buyer repays its debt, the fund first returns the allocated 63,800,000 to the members:
recovery index step floor(63,800,000 x 1e18 / 20,200,000) = 3,158,415,841,584,158,415; each
member's share is floor(base x step / 1e18): 31,584,158 (seller, buyer2) and 631,683
(seller2), 63,799,999 in all (1 fen of rounding stays reserved). The other 25,200,000 fen
(what the fund paid, rule FUND) stays in the fund, after the creditor's shortfall.
"""

from __future__ import annotations

from typer.testing import CliRunner

from ledger.clients.defaults import (
    DefaultFundClient,
    recovery_share_fen,
    recovery_step,
    refund_fen,
)
from ledger.clients.registry import NodeRegistryClient, NodeStatus, code
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.errors import ContractRevertError
from ledger.settings import Settings
from node.cli import app as node_app
from node.registry.participant import Bank
from tests.conftest import role_account
from tests.settlement.conftest import Flow
from tests.settlement.test_defaults_waterfall import (
    ALLOCATED,
    BASE,
    BOND,
    DEBT,
    FUND,
    OWED,
    WALLET,
    _default,
    _fund,
    _members_and_replenish,
    _newcomer_of,
    _revert,
    _trade_settled,
)

TOTAL_BASE = sum(BASE.values())  # 20,200,000
RSTEP = 3_158_415_841_584_158_415
SHARE = {"seller": 31_584_158, "seller2": 631_683, "buyer2": 31_584_158}


def _pay_assessment(flow: Flow, name: str) -> object:
    member = _fund(flow, name)
    flow.party(name).actor.token.approve(member.address, OWED[name])
    return member.pay_assessment(flow.party(name).address)


def _repay(flow: Flow) -> object:
    payer = flow.balancing
    flow.ctx.client(SettlementTokenClient, payer).approve(flow.engine.address, DEBT)
    return flow.ctx.client(SettlementEngineClient, payer).repay_debt(
        flow.party("buyer").address, DEBT
    )


def _cli(args: list[str], settings: Settings) -> object:
    env = {
        "GRIDLEDGER_DATA_DIR": str(settings.data_dir),
        "GRIDLEDGER_RPC_URL": settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    return CliRunner().invoke(node_app, args, env=env)


def test_repayment_returns_allocated_losses_to_members_who_paid(
    flow: Flow, session_settings: Settings
) -> None:
    fund = _members_and_replenish(flow)
    _default(flow)
    buyer = flow.party("buyer").address
    assert fund.allocated_of(buyer) == ALLOCATED
    for name in ("seller", "seller2"):
        _pay_assessment(flow, name)
    unfunded = ALLOCATED - OWED["seller"] - OWED["seller2"]  # 31,584,157: buyer2 owes
    assert (fund.unfunded_fen(), fund.fund_fen()) == (unfunded, 0)
    # the buyer's debt is repaid: the allocated part is reserved for the members, the
    # fund's part (25,200,000) pays the creditor's shortfall first
    receipt = _repay(flow)
    assert recovery_step(ALLOCATED, TOTAL_BASE) == RSTEP
    (rec,) = fund.events(receipt, "Recovered")
    assert dict(rec["args"]) == {
        "node": buyer,
        "amountFen": DEBT,
        "toMembersFen": ALLOCATED,
        "totalBaseFen": TOTAL_BASE,
        "recoveryIndex": RSTEP,
    }
    (paid,) = fund.events(receipt, "CreditorPaid")
    unfunded -= FUND
    assert dict(paid["args"]) == {
        "creditor": flow.balancing.address,
        "amountFen": FUND,
        "unfundedFen": unfunded,
    }
    assert (fund.allocated_of(buyer), fund.recovery_reserve_fen()) == (0, ALLOCATED)
    assert fund.fund_fen() == ALLOCATED
    for name, share in SHARE.items():
        assert recovery_share_fen(BASE[name], RSTEP) == share
    assert fund.recovery_of(flow.party("seller").address) == SHARE["seller"]
    assert fund.recovery_of(flow.party("buyer2").address) == 0  # paid nothing yet
    anyone = flow.ctx.client(DefaultFundClient, flow.ctx.account("node-93"))
    buyer2 = flow.party("buyer2").address
    assert _revert(lambda: anyone.claim_recovery(buyer2)) == (
        "AssessmentOutstanding",
        {"member": buyer2, "owedFen": OWED["buyer2"]},
    )
    # the seller leaves the market; its refund waits for the creditor's shortfall
    seller = flow.party("seller")
    assert _revert(lambda: anyone.refund_contribution(seller.address)) == (
        "StillEnrolled",
        {"node": seller.address, "status": NodeStatus.ACTIVE},
    )
    flow.engine.settle_deviation(seller.address, flow.period)
    seller.actor.registry.exit()
    assert _revert(lambda: anyone.refund_contribution(seller.address)) == (
        "CreditorUnpaid",
        {"unfundedFen": unfunded},
    )
    receipt = _pay_assessment(flow, "buyer2")
    (paid,) = fund.events(receipt, "CreditorPaid")
    assert (paid["args"]["amountFen"], paid["args"]["unfundedFen"]) == (unfunded, 0)
    free = OWED["buyer2"] - unfunded  # 25,200,002
    assert fund.fund_fen() == ALLOCATED + free
    # each member claims its share (anyone calls; paid to the member)
    for name, share in SHARE.items():
        address = flow.party(name).address
        before = flow.token.balance_of(address)
        (ev,) = anyone.events(anyone.claim_recovery(address), "RecoveryClaimed")
        assert dict(ev["args"]) == {"member": address, "amountFen": share, "forfeitedFen": 0}
        assert flow.token.balance_of(address) == before + share
        assert fund.member_of(address).unrecovered_fen == OWED[name] - share
    assert _revert(lambda: anyone.claim_recovery(buyer2)) == (
        "NothingToClaim",
        {"member": buyer2},
    )
    dust = ALLOCATED - sum(SHARE.values())
    assert (dust, fund.recovery_reserve_fen()) == (1, 1)
    assert fund.fund_fen() == free + dust
    # the seller left clean: its contribution back, exactly (free holdings >= total base)
    assert refund_fen(BASE["seller"], free, TOTAL_BASE) == BASE["seller"]
    before = flow.token.balance_of(seller.address)
    out = _cli(["fund-refund", seller.address, "-w", "node-93"], session_settings)
    assert out.exit_code == 0, (out.output, out.exception)
    assert " ".join(out.output.split()).startswith(
        f"{seller.address} refunded 100000.00 CNY of its 100000.00 CNY contribution"
    )
    assert flow.token.balance_of(seller.address) == before + BASE["seller"]
    assert fund.total_base_fen() == TOTAL_BASE - BASE["seller"]
    assert fund.member_of(seller.address).base_fen == 0
    assert fund.fund_fen() == free + dust - BASE["seller"]
    refused = _cli(["fund-refund", seller.address, "-w", "node-93"], session_settings)
    assert isinstance(refused.exception, ContractRevertError)
    assert (refused.exception.name, refused.exception.arguments) == (
        "NotMember",
        {"node": seller.address},
    )
    supply, held = flow.conservation()
    assert supply == held


def test_a_member_that_joined_after_the_loss_forfeits_its_share(
    flow: Flow, session_settings: Settings
) -> None:
    fund = _members_and_replenish(flow)
    _default(flow)
    for name in OWED:
        _pay_assessment(flow, name)
    # storage joins after the loss: not assessed for it, so nothing of it is returned to it
    storage = flow.party("storage")
    late_base = fund.contribution_fen_of(storage.address)
    assert late_base == 10_000_000
    storage.actor.token.approve(fund.address, late_base)
    _fund(flow, "storage").contribute(storage.address)
    assert fund.assessment_of(storage.address) == 0
    receipt = _repay(flow)
    base = TOTAL_BASE + late_base
    step = ALLOCATED * 10**18 // base  # floor
    assert step == 2_112_582_781_456_953_642
    (rec,) = fund.events(receipt, "Recovered")
    assert (rec["args"]["totalBaseFen"], rec["args"]["recoveryIndex"]) == (base, step)
    share = recovery_share_fen(late_base, step)
    assert share == 21_125_827
    assert fund.recovery_of(storage.address) == 0
    out = _cli(["fund-claim-recovery", storage.address, "-w", "node-93"], session_settings)
    assert out.exit_code == 0, (out.output, out.exception)
    assert f"{storage.address} recovered 0.00 CNY" in " ".join(out.output.split())
    (ev,) = fund.events(fund.claim_recovery(flow.party("seller").address), "RecoveryClaimed")
    assert dict(ev["args"]) == {
        "member": flow.party("seller").address,
        "amountFen": recovery_share_fen(BASE["seller"], step),
        "forfeitedFen": 0,
    }
    assert recovery_share_fen(BASE["seller"], step) == 21_125_827
    # storage's forfeited share returned to the fund's free holdings
    assert fund.recovery_reserve_fen() == ALLOCATED - share - 21_125_827
    supply, held = flow.conservation()
    assert supply == held


def test_a_debt_of_a_removed_node_still_binds_its_entity(flow: Flow) -> None:
    """The regulator removes the buyer before its deviation settles: the period's obligation
    and then the debt are still obligations, so the removal does not free its entity and its
    held bond stays held."""
    buyer = flow.party("buyer")
    entity = flow.registry.node_info(buyer.address).entity_hash
    regulator = flow.ctx.client(NodeRegistryClient, role_account("REGULATOR"))
    _trade_settled(flow)
    regulator.remove_node(buyer.address, code("LICENCE_REVOKED"))
    # the period's obligation (until its deviation settles) keeps the entity held
    assert flow.registry.obligations_of(buyer.address) == 1
    assert flow.registry.node_of_entity(entity) == buyer.address
    buyer.actor.token.approve(flow.engine.address, WALLET)
    receipt = flow.engine.settle_deviation(buyer.address, flow.period)
    (col,) = flow.engine.events(receipt, "DeviationCollected")
    assert (col["args"]["fromBondFen"], col["args"]["debtFen"]) == (BOND, DEBT)
    (ob,) = flow.registry.events(receipt, "ObligationAdded")
    assert (ob["args"]["node"], ob["args"]["obligations"]) == (buyer.address, 1)
    assert flow.registry.status_of(buyer.address) == NodeStatus.REMOVED
    assert flow.registry.node_of_entity(entity) == buyer.address
    register = _newcomer_of(flow, entity)
    assert _revert(register) == (
        "EntityAlreadyRegistered",
        {"entityHash": entity, "node": buyer.address},
    )
    _repay(flow)
    assert flow.registry.obligations_of(buyer.address) == 0
    register()
    assert flow.registry.node_of_entity(entity) == flow.ctx.account("node-94").address
    supply, held = flow.conservation()
    assert supply == held


def test_refund_waits_for_obligations_and_is_pro_rata_after_losses(flow: Flow) -> None:
    """seller2 leaves before any loss: refused while a late debt is open, then refunded its
    base exactly. After the default used the fund, the seller's refund is its pro rata share
    of the free holdings: floor(10,000,000 x 5,050,002 / 20,000,000) = 2,525,001."""
    fund = _members_and_replenish(flow)
    anyone = flow.ctx.client(DefaultFundClient, flow.ctx.account("node-93"))
    debt_holder = flow.ctx.client(NodeRegistryClient, flow.ctx.account("node-90"))
    seller2 = flow.party("seller2")
    seller2.actor.registry.exit()
    debt_holder.add_obligation(seller2.address)  # a late debt, recorded after the exit
    assert _revert(lambda: anyone.refund_contribution(seller2.address)) == (
        "OpenObligations",
        {"node": seller2.address, "obligations": 1},
    )
    debt_holder.remove_obligation(seller2.address)
    (ev,) = fund.events(anyone.refund_contribution(seller2.address), "ContributionRefunded")
    assert dict(ev["args"]) == {
        "node": seller2.address,
        "baseFen": BASE["seller2"],
        "refundFen": BASE["seller2"],
    }
    assert fund.total_base_fen() == TOTAL_BASE - BASE["seller2"]
    base = TOTAL_BASE - BASE["seller2"]  # 20,000,000
    # the default: the fund pays 25,000,000, the rest is allocated over 20,000,000
    _default(flow)
    for name in ("seller", "buyer2"):
        owed = fund.assessment_of(flow.party(name).address)
        member = _fund(flow, name)
        flow.party(name).actor.token.approve(member.address, owed)
        member.pay_assessment(flow.party(name).address)
    assert fund.unfunded_fen() == 0
    # 64,000,000 over 20,000,000: index step 3.2e18 exactly, no rounding left in the fund
    assert fund.fund_fen() == 0
    replenish = 5_050_002
    operator = flow.ctx.client(DefaultFundClient, role_account("OPERATOR"))
    Bank(flow.ctx, role_account("CLEARING_BANK")).mint(
        operator.sender.address, replenish, "FUND-TOPUP-2"
    )
    flow.ctx.client(SettlementTokenClient, operator.sender).approve(fund.address, replenish)
    operator.replenish(replenish)
    free = replenish
    seller = flow.party("seller")
    flow.engine.settle_deviation(seller.address, flow.period)
    seller.actor.registry.exit()
    expected = refund_fen(BASE["seller"], free, base)
    assert expected == 2_525_001
    (ev,) = fund.events(anyone.refund_contribution(seller.address), "ContributionRefunded")
    assert dict(ev["args"]) == {
        "node": seller.address,
        "baseFen": BASE["seller"],
        "refundFen": expected,
    }
    assert fund.fund_fen() == free - expected
    supply, held = flow.conservation()
    assert supply == held
