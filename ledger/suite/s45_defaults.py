"""Defaults: ``DefaultFund`` (the default fund and loss allocation behind formula-3
charges a node cannot pay; docs/defaults.md).

It is deployed before the settlement engine, which takes its address, and holds
MARKET_CONTRACT only to block (and unblock) in the registry an admitted node that has not
contributed (``requireContribution``). Its ``cover`` and ``recover`` (a debt repayment)
are called by the engine (MARKET_CONTRACT), its ``replenish`` by the OPERATOR;
contributions, assessments, ``payCreditor``, ``claimRecovery`` and ``refundContribution``
are open to anyone.
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "DefaultFund",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["SettlementToken"],
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
