"""Market participants: the settlement token (CNY, 2 decimals) and the node registry."""

from ledger.suite.spec import ContractSpec

#: Bond required per credit level at deploy, AAA first, in fen (the OPERATOR changes it
#: with ``setBondRequirement``): 20k, 30k, 50k, 80k, 120k, 200k, 300k, 500k, 1M CNY.
DEFAULT_BOND_TABLE_FEN = [
    2_000_000,
    3_000_000,
    5_000_000,
    8_000_000,
    12_000_000,
    20_000_000,
    30_000_000,
    50_000_000,
    100_000_000,
]
#: Credit level assumed until the credit agency rates a node: 8 (C), the largest bond.
DEFAULT_CREDIT_LEVEL = 8
#: A node inactive this long may be reclaimed by the OPERATOR (180 days).
DEFAULT_INACTIVITY_PERIOD_S = 180 * 24 * 3600

SPECS = [
    ContractSpec("SettlementToken", lambda env: [env.addresses["MarketAccess"]]),
    ContractSpec(
        "NodeRegistry",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["SettlementToken"],
            DEFAULT_BOND_TABLE_FEN,
            DEFAULT_CREDIT_LEVEL,
            DEFAULT_INACTIVITY_PERIOD_S,
        ],
    ),
]
