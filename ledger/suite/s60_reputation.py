"""Reputation and credit (mechanism 5): ``ReputationLedger``.

It holds CREDIT_AGENCY (to set a node's effective credit level, the agency's level plus the
high-reputation reward, in the registry), MARKET_CONTRACT (to block and unblock trading
after a missed bond top-up deadline) and REGULATOR (to remove a node whose reputation fell
below the removal threshold). See docs/reputation.md.
"""

from ledger.suite.spec import ContractSpec

DAY_S = 86_400
#: Ratings close this long after the delivery end of the trade's period (30 days).
DEFAULT_RATING_WINDOW_S = 30 * DAY_S
#: A node whose credit level dropped has this long to top up its bond (7 days).
DEFAULT_TOPUP_GRACE_S = 7 * DAY_S
#: Reputation thresholds (0..1000): public warning below 300, removal below 100, reward
#: (one credit notch better) from 800.
DEFAULT_WARNING_THRESHOLD = 300
DEFAULT_REMOVAL_THRESHOLD = 100
DEFAULT_REWARD_THRESHOLD = 800

SPECS = [
    ContractSpec(
        "ReputationLedger",
        lambda env: [
            env.addresses["MarketAccess"],
            env.addresses["NodeRegistry"],
            env.addresses["TradingMarket"],
            DEFAULT_RATING_WINDOW_S,
            DEFAULT_TOPUP_GRACE_S,
            DEFAULT_WARNING_THRESHOLD,
            DEFAULT_REMOVAL_THRESHOLD,
            DEFAULT_REWARD_THRESHOLD,
        ],
        roles=("MARKET_CONTRACT", "CREDIT_AGENCY", "REGULATOR"),
    ),
]
