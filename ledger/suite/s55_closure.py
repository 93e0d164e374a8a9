"""Closure: ``TradeCloser`` (every trade reaches an end state; docs/defaults.md).

It holds MARKET_CONTRACT so it may close a trade with no dispatch result in the trading
market (full refund of the escrow, obligations released) and have the settlement engine
count it as settled for both parties. Its closure grace is an OPERATOR setting
(``setClosureGrace``, 1 day at deployment).
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "TradeCloser",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["TradingMarket"],
            env.addresses["DispatchResults"],
            env.addresses["SettlementEngine"],
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
