"""The peak's auction orders: every participant places one bid in one centralised auction
(``CentralAuction.placeOrder``), all at once. Orders go on chain, so an order's binding
acknowledgement is its receipt and it is on chain from the same moment: ``order_ack`` and
``order_onchain`` are measured on the same burst (targets 3 s and 10 s).

Before the clock: the REGULATOR's price limits, the OPERATOR's auction (order window open
now, gate in an hour, the period of the takes), and every participant's token allowance to
the auction (its bid escrows quantity x limit price plus the fee cap), timed as part of
onboarding (``auction_allowance``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.types import TxParams

from ledger.clients.token import SettlementTokenClient
from scripts.bench.common import BenchChain, Blaster, Call, role

if TYPE_CHECKING:
    from scripts.bench.peak import Market

#: Auction rules of the burst (fen/MWh, Wh): limits around the listings' price, a fee cap
#: above every cheapest route of the bench's tariff ring (9,000 + 3,000 + 2,000).
FLOOR = 100_000
CAP = 600_000
FEE_CAP = 15_000
MIN_LOT_WH = 10_000
BID_WH = 10_000
BID_PRICE = 350_000
GATE_IN_S = 3_600


class AuctionUnavailable(RuntimeError):  # noqa: N818 - a reason for n/a
    """The auction contract is not in this tree or not deployed."""


def order_calls(chain: BenchChain, m: Market, blaster: Blaster) -> list[Call]:
    """Open the auction, give every participant's allowance; one bid per participant."""
    try:
        from ledger.clients.auction import (  # type: ignore[import-not-found,unused-ignore]
            CentralAuctionClient,
            ClearingRule,
            OrderSide,
        )
    except ImportError as exc:
        raise AuctionUnavailable("the centralised auction is not in this tree yet") from exc
    if "CentralAuction" not in chain.ctx.manifest.contracts:
        raise AuctionUnavailable("CentralAuction is not deployed")
    regulator = chain.client(CentralAuctionClient, role("REGULATOR"))
    regulator.set_price_limits(FLOOR, CAP)
    operator = chain.client(CentralAuctionClient, role("OPERATOR"))
    now = chain.block_time()
    receipt = operator.open_auction(
        m.period_id, 0, 95, now, now + GATE_IN_S, MIN_LOT_WH, ClearingRule.UNIFORM, FEE_CAP
    )
    auction_id = operator.opened_auction_id(receipt)
    token = chain.client(SettlementTokenClient, role("CLEARING_BANK"))
    began = time.perf_counter()
    blaster.run(
        [
            Call(p.account, token.address, token.encode("approve", operator.address, 2**255))
            for p in m.participants
        ]
    )
    m.onboarding["auction_allowance"] = time.perf_counter() - began
    data = operator.encode("placeOrder", auction_id, int(OrderSide.BID), BID_WH, BID_PRICE)
    first = m.participants[0].account.address
    params: TxParams = {"from": first, "to": to_checksum_address(operator.address)}
    params["data"] = HexBytes(data)
    estimate = chain.w3.eth.estimate_gas(params)
    gas = estimate * (100 + chain.settings.gas_margin_percent) // 100
    return [Call(p.account, operator.address, data, gas=int(gas)) for p in m.participants]
