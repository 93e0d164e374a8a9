"""How the chain's states read, the same in the CLI, the API, the explorer and CSV.

Statuses are the contracts' enum names in lower case, judged at *chain* time (the latest
block's timestamp), never the local clock: an open listing past its expiry is ``expired``
although no transaction has marked it yet, and a period's phase follows block time. Credit
levels read ``AAA`` .. ``C``; hashes read as 0x hex.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.clients.registry import CREDIT_LEVELS
from ledger.clients.trading import Listing, ListingStatus, Period, TradeStatus

#: ``ITradingMarket.TradeStatus`` by name, indexed by the on-chain value.
TRADE_STATUS_NAMES = tuple(s.name.lower() for s in TradeStatus)
#: ``ITradingMarket.ListingStatus`` by name, indexed by the on-chain value.
LISTING_STATUS_NAMES = tuple(s.name.lower() for s in ListingStatus)


def trade_status_name(status: int) -> str:
    """A trade status by its contract name (``formed``, ``dispatched``, ``settled``...)."""
    return TRADE_STATUS_NAMES[status] if 0 <= status < len(TRADE_STATUS_NAMES) else "unknown"


def listing_is_expired(listing: Listing, chain_now: int) -> bool:
    """An open listing whose expiry has passed at chain time (it can no longer be taken)."""
    return listing.status == ListingStatus.OPEN and chain_now >= listing.expires_at


def listing_status_name(listing: Listing, chain_now: int) -> str:
    """``open``, ``filled``, ``cancelled`` or ``expired`` -- expired also when the chain has
    not yet marked a listing past its expiry."""
    if listing_is_expired(listing, chain_now):
        return "expired"
    return LISTING_STATUS_NAMES[listing.status]


def period_phase(period: Period, chain_now: int) -> str:
    """``not open``, ``posting``, ``taking`` or ``closed`` at chain time."""
    if chain_now >= period.taking_closes_at:
        return "closed"
    if chain_now >= period.taking_opens_at:
        return "taking"
    if chain_now >= period.posting_opens_at:
        return "posting"
    return "not open"


def credit_level_name(level: int | None) -> str | None:
    """An on-chain credit level (0 = AAA .. 8 = C) by name; ``None`` stays ``None``."""
    if level is None:
        return None
    return CREDIT_LEVELS[level] if 0 <= level < len(CREDIT_LEVELS) else str(level)


def hex0x(value: bytes) -> str:
    """Bytes (a hash, a bytes32) as ``0x`` hex."""
    return "0x" + bytes(value).hex()


def short_time(ts: int) -> str:
    """A unix time as ``YYYY-MM-DD HH:MM`` (UTC); ``-`` for 0."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"
