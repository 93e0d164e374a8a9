"""One registry obligation per (node, period) (issue 19's escape, issue 18's lever): added
with a node's first trade of a period, held after its trades settle and released when its
deviation of the period settles, so a node cannot exit between the two."""

from __future__ import annotations

import pytest

from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from tests.conftest import role_account
from tests.settlement.conftest import Flow

E = 10_000_000
PRICE = 350_000


def test_a_node_cannot_exit_before_its_deviation_of_the_period_settles(flow: Flow) -> None:
    seller, buyer = flow.party("seller"), flow.party("buyer")
    flow.open_taking()
    trades = [flow.trade("seller", "buyer", E, PRICE) for _ in range(2)]
    # one obligation per (node, period), whatever the number of trades (the listings filled)
    assert flow.registry.obligations_of(seller.address) == 1
    assert flow.registry.obligations_of(buyer.address) == 1
    for trade_id in trades:
        flow.dispatch(trade_id, E)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, 60_000)
    flow.meter({"seller": (0, 2 * E), "buyer": (2 * E, 0)})
    flow.open_settlement()
    flow.engine.settle_batch(trades)
    # the trades settled: the exposure is released, the period's obligation is held
    assert flow.registry.node_info(seller.address).reserved_fen == 0
    assert flow.registry.obligations_of(seller.address) == 1
    with pytest.raises(ContractRevertError) as err:
        seller.actor.registry.exit()
    assert (err.value.name, err.value.arguments) == (
        "OpenObligations",
        {"node": seller.address, "obligations": 1},
    )

    receipt = flow.engine.settle_deviation(seller.address, flow.period)
    (removed,) = flow.registry.events(receipt, "ObligationRemoved")
    assert dict(removed["args"]) == {
        "node": seller.address,
        "obligations": 0,
        "by": flow.engine.address,
    }
    assert flow.registry.obligations_of(seller.address) == 0
    (exited,) = flow.registry.events(seller.actor.registry.exit(), "NodeExited")
    assert exited["args"]["node"] == seller.address
    # the buyer's obligation waits for its own deviation
    assert flow.registry.obligations_of(buyer.address) == 1
    flow.engine.settle_deviation(buyer.address, flow.period)
    assert flow.registry.obligations_of(buyer.address) == 0


def test_a_trade_settled_from_formed_reads_its_energies_from_dispatch_results(
    flow: Flow,
) -> None:
    """settleTrade writes nothing but the status of a Formed trade: ``trade`` answers the
    executed and curtailed energy from DispatchResults (named once by the ADMIN) and the
    whole escrow as paid out, as when they were stored."""
    market = flow.market.settler
    results = flow.dispatch_results.address
    assert market.dispatch_results() == results
    admin = flow.ctx.client(type(market), role_account("ADMIN"))
    with pytest.raises(ContractRevertError) as err:
        admin.set_dispatch_results(flow.party("seller").address)
    assert (err.value.name, err.value.arguments) == (
        "DispatchResultsAlreadySet",
        {"dispatchResults": results},
    )
    with pytest.raises(ContractRevertError) as err:
        flow.ctx.client(type(market), role_account("OPERATOR")).set_dispatch_results(results)
    assert err.value.name == "AccessControlUnauthorizedAccount"

    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, 6 * E // 10, E // 10, 1)
    flow.meter({"seller": (0, 6 * E // 10), "buyer": (6 * E // 10, 0)})
    flow.open_settlement()
    before = market.trade(tid)
    assert (before.executed_wh, before.curtailed_wh, before.paid_out_fen) == (0, 0, 0)
    flow.engine.settle(tid)
    t = market.trade(tid)
    assert t.status == TradeStatus.SETTLED
    assert (t.executed_wh, t.curtailed_wh) == (6 * E // 10, E // 10)
    assert t.paid_out_fen == t.escrow_fen == before.escrow_fen
    assert market.escrow_of(tid) == 0
    assert [x.executed_wh for x in market.trades_by_ids([tid])] == [6 * E // 10]


def test_node_period_totals_are_the_markets_words_plus_the_engines_own(flow: Flow) -> None:
    """The trades settled and their energies are kept in the market's per-(node, period)
    word (``periodTotalsOf``); a substitute's export stays in the engine; ``nodePeriod``
    and the deviation see the sum."""
    storage, seller = flow.party("storage"), flow.party("seller")
    storage.engine.declare_spare_capacity(flow.period, 5_000_000, 300_000)
    flow.open_taking()
    own = flow.trade("storage", "buyer2", 2_000_000, PRICE)
    curtailed = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(own, 2_000_000)
    flow.dispatch(curtailed, 6_000_000, 4_000_000, 1)
    flow.dispatcher.nominate_substitute(curtailed, storage.address)
    flow.meter(
        {
            "seller": (0, 6_000_000),
            "buyer": (E, 0),
            "storage": (0, 6_000_000),
            "buyer2": (2_000_000, 0),
        }
    )
    flow.open_settlement()
    totals = flow.market.settler.contract.functions.periodTotalsOf
    assert totals(storage.address, flow.period).call() == [1, 0, 0, 0]
    flow.engine.settle_batch([own, curtailed])
    # (trades, settled, importWh, exportWh) as settleTrade added them
    assert totals(storage.address, flow.period).call() == [1, 1, 0, 2_000_000]
    assert totals(seller.address, flow.period).call() == [1, 1, 0, 6_000_000]
    assert totals(flow.party("buyer").address, flow.period).call() == [1, 1, E, 0]
    assert flow.market.settler.trade_count_in(storage.address, flow.period) == 1
    np = flow.engine.node_period(storage.address, flow.period)
    assert (np.import_wh, np.export_wh, np.trades, np.settled) == (0, 6_000_000, 1, 1)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, 60_000)
    (dev,) = flow.engine.events(
        flow.engine.settle_deviation(storage.address, flow.period), "DeviationSettled"
    )
    assert (dev["args"]["contractedNetWh"], dev["args"]["deviationWh"]) == (-6_000_000, 0)
