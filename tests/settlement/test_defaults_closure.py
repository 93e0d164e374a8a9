"""Every trade reaches an end state (issue 19, part 1): a trade with no dispatch result is
closed by anyone once its closure deadline passes (TradeCloser), with the buyer's whole
escrow refunded and the seller's exposure released; the parties' deviations can then
settle (which releases their obligations of the period).

Trade: 10 MWh at 350,000 fen/MWh North -> City, route [0, 2, 3] (6,000 fen/MWh):
energy 3,500,000 + fee 60,000 = escrow 3,560,000 fen.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ledger.clients.defaults import TradeCloserClient
from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from ledger.settings import Settings
from node.cli import app as node_app
from tests.conftest import role_account
from tests.settlement.conftest import Flow, advance_time, block_time

E = 10_000_000
PRICE = 350_000
ESCROW = 3_560_000
DAY = 86_400


def _revert(call: object) -> tuple[str, dict[str, object]]:
    with pytest.raises(ContractRevertError) as err:
        call()  # type: ignore[operator]
    return err.value.name, dict(err.value.arguments)


def test_undispatched_trade_closes_after_the_grace_with_a_full_refund(flow: Flow) -> None:
    closer = flow.ctx.client(TradeCloserClient, flow.ctx.account("node-93"))
    assert closer.closure_grace_s() == DAY
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    buyer, seller = flow.party("buyer"), flow.party("seller")
    wallet_before = flow.token.balance_of(buyer.address)
    assert flow.market.settler.escrow_of(tid) == ESCROW
    assert flow.registry.obligations_of(buyer.address) == 1
    assert flow.registry.obligations_of(seller.address) == 1  # the trade (listing filled)
    flow.meter({"seller": (0, 0), "buyer": (0, 0)})
    flow.open_settlement()
    opens_at = flow.dispatch_operator.settlement_opens_at(flow.period)
    period = flow.market.settler.period(flow.period)
    due = max(opens_at, period.delivery_end) + DAY
    assert closer.closure_due_at(tid) == due
    # settlement is open but the result never came: settle refuses, closure is not due yet
    assert _revert(lambda: flow.engine.settle(tid)) == (
        "DispatchResultMissing",
        {"tradeId": tid},
    )
    now = block_time(flow.ctx)
    name, args = _revert(lambda: closer.close_undispatched(tid))
    assert (name, args["tradeId"], args["dueAt"]) == ("ClosureNotDue", tid, due)
    assert int(str(args["nowS"])) >= now
    advance_time(flow.ctx, due - block_time(flow.ctx))
    receipt = closer.close_undispatched(tid)
    (ev,) = closer.events(receipt, "TradeClosedUndispatched")
    assert dict(ev["args"]) == {
        "tradeId": tid,
        "period": flow.period,
        "buyer": buyer.address,
        "seller": seller.address,
        "refundFen": ESCROW,
        "dueAt": due,
        "closer": closer.sender.address,
    }
    assert flow.market.settler.trade(tid).status == TradeStatus.FAILED
    assert flow.market.settler.escrow_of(tid) == 0
    assert flow.token.balance_of(buyer.address) == wallet_before + ESCROW
    # each party's obligation of the period is held until its deviation settles (below)
    assert flow.registry.obligations_of(buyer.address) == 1
    assert flow.registry.obligations_of(seller.address) == 1
    assert flow.engine.node_period(buyer.address, flow.period).settled == 1
    # already closed; a second close and a settle are refused
    assert _revert(lambda: closer.close_undispatched(tid)) == (
        "TradeAlreadyClosed",
        {"tradeId": tid, "status": int(TradeStatus.FAILED)},
    )
    assert _revert(lambda: flow.engine.settle(tid))[0] == "TradeAlreadySettled"
    # both parties' deviations of the period now settle (nothing contracted, nothing metered)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, 60_000)
    for party in (buyer, seller):
        (dev,) = flow.engine.events(
            flow.engine.settle_deviation(party.address, flow.period), "DeviationSettled"
        )
        assert (dev["args"]["deviationWh"], dev["args"]["amountFen"]) == (0, 0)
        assert flow.registry.obligations_of(party.address) == 0
    supply, held = flow.conservation()
    assert supply == held


def test_a_trade_with_a_result_is_not_closed_and_the_grace_is_an_operator_setting(
    flow: Flow,
) -> None:
    closer = flow.ctx.client(TradeCloserClient, flow.ctx.account("node-93"))
    operator = flow.ctx.client(TradeCloserClient, role_account("OPERATOR"))
    assert _revert(lambda: closer.set_closure_grace(0))[0] == "AccessControlUnauthorizedAccount"
    (ev,) = operator.events(operator.set_closure_grace(3_600), "ClosureGraceSet")
    assert dict(ev["args"]) == {"graceS": 3_600, "operator": operator.sender.address}
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.open_settlement()
    advance_time(flow.ctx, closer.closure_due_at(tid) - block_time(flow.ctx))
    assert _revert(lambda: closer.close_undispatched(tid)) == (
        "DispatchResultPresent",
        {"tradeId": tid},
    )
    assert _revert(lambda: closer.close_undispatched(10**9)) == (
        "UnknownTrade",
        {"tradeId": 10**9},
    )


def test_cli_close_undispatched_and_fund(flow: Flow, session_settings: Settings) -> None:
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.open_settlement()
    early = runner.invoke(node_app, ["close-undispatched", str(tid), "-w", "node-93"], env=env)
    assert isinstance(early.exception, ContractRevertError)
    assert early.exception.name == "ClosureNotDue"
    bad = runner.invoke(node_app, ["close-undispatched", "0", "-w", "node-93"], env=env)
    assert bad.exit_code == 2
    closer = flow.ctx.client(TradeCloserClient, flow.ctx.account("node-93"))
    advance_time(flow.ctx, closer.closure_due_at(tid) - block_time(flow.ctx))
    out = runner.invoke(node_app, ["close-undispatched", str(tid), "-w", "node-93"], env=env)
    assert out.exit_code == 0, (out.output, out.exception)
    assert f"trade {tid} closed undispatched, buyer refunded 35600.00 CNY" in out.output
    # the fund: the seller contributes 10 % of its required bond (1,000,000 CNY)
    seller = flow.party("seller").address
    out = runner.invoke(node_app, ["fund-contribute", seller, "-w", "node-1"], env=env)
    assert out.exit_code == 0, (out.output, out.exception)
    assert f"{seller} contributed 100000.00 CNY" in out.output
    out = runner.invoke(node_app, ["fund", seller], env=env)
    text = " ".join(out.output.split())  # the console wraps at its width
    assert "default fund 100000.00 CNY, unfunded 0.00 CNY" in text
    assert f"{seller}: member, base 100000.00 CNY, assessment 0.00 CNY" in text


def test_a_period_whose_settlement_never_opens_still_closes(flow: Flow) -> None:
    """No settlementOpensAt: the deadline runs from the end of delivery."""
    closer = flow.ctx.client(TradeCloserClient, flow.ctx.account("node-93"))
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    due = flow.market.settler.period(flow.period).delivery_end + DAY
    assert closer.closure_due_at(tid) == due
    advance_time(flow.ctx, due - block_time(flow.ctx))
    (ev,) = closer.events(closer.close_undispatched(tid), "TradeClosedUndispatched")
    assert (ev["args"]["refundFen"], ev["args"]["dueAt"]) == (ESCROW, due)
    assert flow.market.settler.total_escrow_fen() == 0
