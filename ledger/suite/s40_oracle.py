"""The meter oracle: meter registry + reading anchors, and dispatch results."""

from ledger.suite.spec import ContractSpec

#: No node registry yet: MeterOracle then skips the node check (OPERATOR can set it later).
_NO_REGISTRY = "0x0000000000000000000000000000000000000000"

SPECS = [
    ContractSpec(
        "MeterOracle",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses.get("NodeRegistry", _NO_REGISTRY),
        ],
    ),
    # checks each result against its trade in the market (status, period, energy)
    ContractSpec(
        "DispatchResults",
        lambda env: [env.addresses["MarketAccess"], env.addresses["TradingMarket"]],
    ),
]
