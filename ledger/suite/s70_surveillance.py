"""Market surveillance (mechanism 6, on-chain half): ``SurveillanceDesk``.

It holds MARKET_CONTRACT so a confirmed ruling can slash the accused's bond in the
registry (and hold an obligation on the node while the unserved rest of a penalty is
unpaid) and deduct reputation in the ReputationLedger (whose ``penalize`` accepts
REGULATOR or MARKET_CONTRACT). Slashed bonds go to the penalty account, the deploying
admin until the REGULATOR sets another (``setPenaltyAccount``). See docs/surveillance.md.
"""

from ledger.suite.spec import ContractSpec

DAY_S = 86_400
#: The REGULATOR rules a report within 14 days of its filing.
DEFAULT_RULING_PERIOD_S = 14 * DAY_S
#: Every third dismissed report costs its reporter reputation ...
DEFAULT_DISMISSAL_LIMIT = 3
#: ... this many points.
DEFAULT_REPORTER_PENALTY_POINTS = 50

SPECS = [
    ContractSpec(
        "SurveillanceDesk",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["ReputationLedger"],
            env.admin,
            DEFAULT_RULING_PERIOD_S,
            DEFAULT_DISMISSAL_LIMIT,
            DEFAULT_REPORTER_PENALTY_POINTS,
        ],
        roles=("MARKET_CONTRACT",),
    ),
]
