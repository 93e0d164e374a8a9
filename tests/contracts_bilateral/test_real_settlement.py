"""A contract trade settles through the real SettlementEngine exactly like a posted trade:
the same parties, energy, price, dispatch and metering give the same payouts, fees and
refund, and the token supply is conserved.

10 MWh at 340 CNY/MWh (the agreed price) from North (0) to City (3), route [0, 2, 3] at
6,000 fen/MWh: energy 3,400,000 fen, fee 60,000 fen, escrow 3,460,000 fen. Each trade
executes 9 MWh (1 MWh curtailed): seller 3,060,000 fen, fee 54,000 fen (27,000 + 9,000 +
18,000), refund 346,000 fen.
"""

from __future__ import annotations

from typing import Any

from ledger.clients.trading import TradeStatus
from tests.contracts_bilateral.conftest import Parties
from tests.contracts_bilateral.test_execution import AGREED
from tests.settlement.conftest import Flow, flow  # noqa: F401 - the fixture

E = 10_000_000
EXECUTED = 9_000_000
ESCROW = 3_460_000


def _settled(f: Flow, receipt: Any) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    (settled,) = f.engine.events(receipt, "TradeSettled")
    args = {k: v for k, v in dict(settled["args"]).items() if k != "tradeId"}
    fees = [
        (int(e["args"]["region"]), int(e["args"]["amountFen"]))
        for e in f.engine.events(receipt, "TransmissionFeePaid")
    ]
    return args, fees


def test_a_contract_trade_settles_like_a_posted_trade(
    flow: Flow,  # noqa: F811 - the imported fixture
    parties: Parties,
) -> None:
    nid = parties.negotiate(schedule_wh=[E])
    no = parties.seller.register(nid, *parties.cosign(nid))
    assert parties.buyer.period_escrow_fen(no, flow.period) == ESCROW
    contract_tid = parties.buyer.form_period(no, flow.period, approve=True)
    flow.open_taking()
    posted_tid = flow.trade("seller", "buyer", E, AGREED)
    for tid in (contract_tid, posted_tid):
        t = flow.market.settler.trade(tid)
        assert (t.energy_fen, t.fee_fen, t.escrow_fen) == (3_400_000, 60_000, ESCROW)
        flow.dispatch(tid, EXECUTED, E - EXECUTED)
    flow.meter({"seller": (0, 2 * EXECUTED), "buyer": (2 * EXECUTED, 0)})
    flow.open_settlement()
    supply_before, held_before = flow.conservation()
    seller, buyer = flow.party("seller").address, flow.party("buyer").address
    buyer_before = flow.token.balance_of(buyer)

    contract_args, contract_fees = _settled(flow, flow.engine.settle(contract_tid))
    posted_args, posted_fees = _settled(flow, flow.engine.settle(posted_tid))

    assert contract_args == posted_args
    assert contract_args | {"by": ""} == {
        "period": flow.period,
        "buyer": buyer,
        "seller": seller,
        "energyWh": E,
        "executedWh": EXECUTED,
        "curtailedWh": E - EXECUTED,
        "reasonCode": 0,
        "substitutedWh": 0,
        "failed": False,
        "by": "",
        "priceFenPerMwh": AGREED,
        "sellerFen": 3_060_000,
        "refundFen": 346_000,
    }
    assert contract_fees == posted_fees == [(0, 27_000), (2, 9_000), (3, 18_000)]
    assert flow.engine.claimable_of(seller) == 2 * 3_060_000
    assert flow.engine.claimable_of(flow.grid[0].address) == 2 * 27_000
    assert flow.token.balance_of(buyer) == buyer_before + 2 * 346_000
    for tid in (contract_tid, posted_tid):
        t = flow.market.settler.trade(tid)
        assert (t.status, t.paid_out_fen) == (TradeStatus.SETTLED, ESCROW)
    supply, held = flow.conservation()
    assert supply == held == supply_before == held_before

    # tracking reads the settled contract trade back
    row = parties.buyer.tracking(no).periods[0]
    assert (row.trade_status, row.executed_wh, row.settled_wh, row.settled_fen) == (
        "settled",
        EXECUTED,
        EXECUTED,
        3_060_000,
    )
