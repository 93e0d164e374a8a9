"""The service desk's tamper evidence: ``DeskAnchor`` (Merkle roots of the desk's state
changes and open/overdue complaint counts per category, anchored by the OPERATOR).
docs/desk.md.

It holds no role: it asks ``MarketAccess`` who the OPERATOR is.
"""

from ledger.suite.spec import ContractSpec

SPECS = [
    ContractSpec("DeskAnchor", lambda env: [env.addresses["MarketAccess"]]),
]
