"""Signed-receipt order intake of the central auction: ``OrderIntake`` (docs/auction.md,
"Order intake").

It holds ORDER_INTAKE so it may place the orders it anchors into ``CentralAuction`` for
their signers. The OPERATOR sets the intake key after deployment (``setIntake``), the
REGULATOR the omission penalty (``setOmissionPenalty``).
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "OrderIntake",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["CentralAuction"],
            env.addresses["SettlementToken"],
        ],
        roles=("ORDER_INTAKE",),
    ),
]
