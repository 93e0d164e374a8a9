"""Settlement: ``SettlementEngine`` (transmission fees, contract guarantees, deviations).

It holds MARKET_CONTRACT so it may mark trades dispatched, pay out and close escrows in
the trading market, and slash bonds, block indebted nodes and hold their debt obligation
in the registry; charges a node cannot pay go to the ``DefaultFund`` (s45). Its grid,
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
            env.addresses["DefaultFund"],
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
