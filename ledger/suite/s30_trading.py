"""Posted-offer trading (挂牌/摘牌) with prepaid escrow: ``TradingMarket``.

It holds MARKET_CONTRACT so it may reserve seller bonds and open/close obligations in the
registry.
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "TradingMarket",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["TransmissionTariff"],
            env.addresses["SettlementToken"],
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
