"""The access-control root every other contract asks."""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec("MarketAccess", lambda env: [env.settings.admin_transfer_delay_s, env.admin]),
]
