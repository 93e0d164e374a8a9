"""A trade settled by the real SettlementEngine (dispatch results, meters) is rated."""

from __future__ import annotations

from ledger.clients.reputation import ReputationLedgerClient
from tests.settlement.conftest import Flow, flow  # noqa: F401  (fixture)

E = 1_000_000
PRICE = 350_000


def test_a_settled_trade_from_the_real_flow_can_be_rated(flow: Flow) -> None:  # noqa: F811
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.meter({"seller": (0, E), "buyer": (E, 0)})
    flow.open_settlement()
    flow.engine.settle(tid)
    buyer = flow.ctx.client(ReputationLedgerClient, flow.party("buyer").actor.account)
    buyer.rate(tid, 5)
    seller = flow.party("seller").address
    assert buyer.reputation_of(seller) == 424
    assert buyer.trade_ratings(tid).buyer_score == 5
