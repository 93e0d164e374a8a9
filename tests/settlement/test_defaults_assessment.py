"""An unpaid assessment binds like a debt (issue 19, docs/defaults.md section 3).

The waterfall of ``test_defaults_waterfall``: after the buyer's default, seller2 (base
200,000 fen) owes an assessment of ceil(200,000 x 3,158,415,841,584,158,416 / 1e18) =
631,684 fen. ``enforceAssessment`` (anyone) makes it one registry obligation and a trading
block (reason ``FUND_ASSESSMENT``): seller2 cannot exit; paying the assessment releases both.
"""

from __future__ import annotations

from ledger.clients.defaults import DefaultFundClient
from ledger.clients.registry import NodeRegistryClient, NodeStatus, code
from ledger.errors import ContractRevertError
from ledger.settings import Settings
from tests.settlement.conftest import Flow
from tests.settlement.test_defaults_recovery import _cli, _pay_assessment
from tests.settlement.test_defaults_waterfall import (
    OWED,
    _default,
    _members_and_replenish,
    _revert,
)

REASON = code("FUND_ASSESSMENT")


def test_unpaid_assessment_blocks_exit_and_trading_until_paid(flow: Flow) -> None:
    fund = _members_and_replenish(flow)
    keeper = flow.ctx.client(DefaultFundClient, flow.ctx.account("node-93"))
    seller2 = flow.party("seller2")
    member = seller2.address
    assert _revert(lambda: keeper.enforce_assessment(member)) == (
        "NoAssessment",
        {"member": member},
    )
    _default(flow)
    owed = OWED["seller2"]
    assert fund.assessment_of(member) == owed == 631_684
    assert flow.registry.can_trade(member)
    receipt = keeper.enforce_assessment(member)
    (ev,) = fund.events(receipt, "AssessmentEnforced")
    assert dict(ev["args"]) == {"member": member, "owedFen": owed, "by": keeper.sender.address}
    (ob,) = flow.registry.events(receipt, "ObligationAdded")
    assert (ob["args"]["node"], ob["args"]["obligations"]) == (member, 1)
    (blk,) = flow.registry.events(receipt, "NodeBlocked")
    assert dict(blk["args"]) == {"node": member, "reason": REASON, "by": fund.address}
    assert fund.assessment_enforced(member)
    assert flow.registry.block_reasons_of(member) == [REASON]
    assert not flow.registry.can_trade(member)
    assert _revert(lambda: keeper.enforce_assessment(member)) == (
        "AssessmentAlreadyEnforced",
        {"member": member, "owedFen": owed},
    )
    # the member cannot walk away from it
    registry = seller2.actor.registry
    assert _revert(registry.exit) == ("OpenObligations", {"node": member, "obligations": 1})
    # paying releases the obligation and the block
    paid = _pay_assessment(flow, "seller2")
    (pay,) = fund.events(paid, "AssessmentPaid")
    assert (pay["args"]["member"], pay["args"]["amountFen"]) == (member, owed)
    (rm,) = flow.registry.events(paid, "ObligationRemoved")
    assert (rm["args"]["node"], rm["args"]["obligations"]) == (member, 0)
    (unb,) = flow.registry.events(paid, "NodeUnblocked")
    assert dict(unb["args"]) == {"node": member, "reason": REASON, "by": fund.address}
    assert not fund.assessment_enforced(member)
    assert fund.assessment_of(member) == 0
    assert flow.registry.block_reasons_of(member) == []
    assert flow.registry.can_trade(member)
    registry.exit()
    assert flow.registry.status_of(member) == NodeStatus.EXITED
    supply, held = flow.conservation()
    assert supply == held


def test_enforce_on_the_command_line(flow: Flow, session_settings: Settings) -> None:
    _members_and_replenish(flow)
    _default(flow)
    member = flow.party("buyer2").address
    result = _cli(["fund-enforce", member, "-w", "node-93"], session_settings)
    assert result.exit_code == 0, result.output
    assert f"{member} owes 315841.59 CNY of assessments" in result.output
    result = _cli(["fund-enforce", member, "-w", "node-93"], session_settings)
    assert isinstance(result.exception, ContractRevertError)
    assert (result.exception.name, result.exception.arguments) == (
        "AssessmentAlreadyEnforced",
        {"member": member, "owedFen": OWED["buyer2"]},
    )
    result = _cli(["fund", member], session_settings)
    assert "(enforced: exit refused, trading blocked)" in " ".join(result.output.split())
    regulator = flow.ctx.client(NodeRegistryClient, flow.ctx.account("node-93"))
    assert regulator.obligations_of(member) == 1
