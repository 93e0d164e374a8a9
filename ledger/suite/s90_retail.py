"""Retail: ``RetailPackages`` (packages, consumer bindings through the retail agency
contracts of ``BilateralContracts``) and ``RetailBills`` (monthly bills anchored by Merkle
root, paid in the settlement token to the retailer). docs/retail.md.

Neither holds a role: they read the registry and the bilateral contracts, and a payment
moves tokens from the payer's allowance straight to the retailer.
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec(
        "RetailPackages",
        lambda env: [env.addresses["NodeRegistry"], env.addresses["BilateralContracts"]],
    ),
    ContractSpec(
        "RetailBills",
        lambda env: [env.addresses["NodeRegistry"], env.addresses["SettlementToken"]],
    ),
]
