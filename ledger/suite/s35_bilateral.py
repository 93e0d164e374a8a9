"""Bilateral contracts (中长期双边合同): ``BilateralContracts``.

It forms each contract period's trade through ``TradingMarket.formVenueTrade`` (VENUE
role) and reads the registry for termination for cause.
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "BilateralContracts",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["TradingMarket"],
            env.addresses["NodeRegistry"],
        ],
        roles=("VENUE",),
    ),
]
