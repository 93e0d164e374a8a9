"""Postage-stamp transmission tariffs (mechanism 4, formula 1)."""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec("TransmissionTariff", lambda env: [env.addresses["MarketAccess"]]),
]
