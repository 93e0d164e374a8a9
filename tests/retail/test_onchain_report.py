"""The retailer report from the chain: a posted trade the retailer bought, its bound
customer, the anchored bills of the month (revenue, margin, deviation)."""

from __future__ import annotations

from eth_hash.auto import keccak

from ledger.clients.trading import ListingSide
from ledger.retail.leaves import BillRef, bills_tree
from ledger.retail.months import local_datetime
from ledger.retail.readings import from_rows
from node.retail.intervals import intervals_csv
from node.retail.report import report_csv, retailer_report
from tests.retail.onchain_fixtures import Retail, market, retail
from tests.retail.test_report_intervals import consumer_account

__all__ = ["market", "retail"]

PRICE = 350_000
ENERGY_WH = 2_000_000


def test_report_sets_purchases_against_customers_and_bills(retail: Retail) -> None:
    m = retail.market
    seller, buyer = m.seller, m.buyer2  # buyer2 is the retailer (node-4)
    assert buyer.address == retail.retailer.address
    period = m.period
    lid = seller.market.posted_listing_id(
        seller.market.post(ListingSide.SELL, period.id, 0, 95, ENERGY_WH, PRICE)
    )
    quote = buyer.market.quote(lid, buyer.region, ENERGY_WH)
    m.open_taking()
    buyer.allow(quote.escrow_fen)
    buyer.market.take(lid, ENERGY_WH, PRICE)
    # the consumer bound to the retailer over the delivery day
    package_id = retail.publish(retail.retailer)
    retail.bind(package_id, retail.agency, days=30)
    local = local_datetime(period.delivery_start)
    month = local.year * 100 + local.month
    ref = BillRef(retail.consumer.address, buyer.address, month, keccak(b"bill"), 1_234_567)
    tree = bills_tree([ref])
    retail.retailer.bills.anchor_bills(
        month, "0x" + tree.root.hex(), 1, ref.total_fen, retail.now() + 86_400
    )

    report = retailer_report(retail.ctx, retail.consumer.account, buyer.address, month)
    (position,) = [p for p in report.periods if p.period_id == period.id]
    assert position.bought_wh == {"posted": ENERGY_WH, "auction": 0, "bilateral": 0}
    assert position.wholesale_cost_fen == quote.escrow_fen  # energy value + transmission fee
    assert position.customers == 1
    assert position.consumption_wh == 0  # no meter total posted for the period
    assert position.deviation_wh == -ENERGY_WH
    assert (report.bills, report.revenue_fen, report.paid_fen) == (1, 1_234_567, 0)
    assert report.margin_fen == 1_234_567 - report.wholesale_cost_fen
    lines = report_csv(report).splitlines()
    assert lines[0].startswith("period_id,delivery_start,posted_wh,auction_wh,bilateral_wh")
    assert lines[-1].split(",")[-2:] == ["1234567", str(report.margin_fen)]

    # per interval: the 2 MWh over 96 intervals is 20_833 Wh each and the 32 Wh remainder
    # 1 Wh each on the first 32; the customer's readings 20_000 + k Wh in interval k
    account = consumer_account(retail.consumer.address, [{"meter_id": "meter-1", "valid_from": 0}])
    start = period.delivery_start
    readings = from_rows([("meter-1", start + k * 900, 20_000 + k, 0, 0) for k in range(96)])
    detailed = retailer_report(
        retail.ctx, retail.consumer.account, buyer.address, month, [account], [readings]
    )
    rows = [r for r in detailed.intervals if r.period_id == period.id]
    assert [r.purchased_wh for r in rows] == [20_834] * 32 + [20_833] * 64
    assert [r.consumed_wh for r in rows] == [20_000 + k for k in range(96)]
    assert rows[0].imbalance_wh == 20_000 - 20_834
    assert sum(r.purchased_wh for r in rows) == ENERGY_WH
    total = intervals_csv(detailed.intervals, detailed.wholesale_cost_fen, detailed.revenue_fen)
    last = total.splitlines()[-1].split(",")
    assert last[-3:] == [str(report.wholesale_cost_fen), "1234567", str(report.margin_fen)]
