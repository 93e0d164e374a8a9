"""The centralised auction (集中竞价): ``CentralAuction`` (docs/auction.md).

It holds VENUE so it may form trades in the trading market (paying their escrow out of
the bids' escrow it holds), and MARKET_CONTRACT so it may reserve offer exposure on seller
bonds and count open orders as registry obligations. Its price floor and cap are set by
the REGULATOR after deployment (``setPriceLimits``).
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "CentralAuction",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["TradingMarket"],
            env.addresses["SettlementToken"],
        ],
        roles=("MARKET_CONTRACT", "VENUE"),
    ),
]
