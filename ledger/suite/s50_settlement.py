"""Settlement: ``SettlementEngine`` (transmission fees, contract guarantees, deviations).

It holds MARKET_CONTRACT so it may mark trades dispatched, pay out and close escrows in
the trading market, and slash bonds and block indebted nodes in the registry. Its grid,
balancing and remainder accounts are configured by the OPERATOR after deployment
(``setGridAccount``, ``setBalancingAccount``, ``setRemainderAccount``; docs/settlement.md).
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "SettlementEngine",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["TradingMarket"],
            env.addresses["TransmissionTariff"],
            env.addresses["MeterOracle"],
            env.addresses["DispatchResults"],
            env.addresses["SettlementToken"],
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
