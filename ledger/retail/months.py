"""Billing months (``YYYYMM`` integers) and local time (UTC+8, China Standard Time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from ledger.errors import ValidationError

#: Local time of every bill: UTC+8 (no daylight saving).
LOCAL_TZ = timezone(timedelta(hours=8), "UTC+8")
#: Seconds in one metering interval (15 minutes).
INTERVAL_S = 900
#: Metering intervals per day.
INTERVALS_PER_DAY = 96


def check_month(month: int) -> int:
    """``month`` if it is a valid ``YYYYMM``; a :class:`ValidationError` otherwise."""
    if not (190001 <= month <= 999912 and 1 <= month % 100 <= 12):
        raise ValidationError(f"month must be YYYYMM (e.g. 202607), got {month}")
    return month


def first_day(month: int) -> date:
    """The month's first local date."""
    check_month(month)
    return date(month // 100, month % 100, 1)


def next_month(month: int) -> int:
    """The ``YYYYMM`` after ``month``."""
    year, mon = divmod(check_month(month), 100)
    return (year + 1) * 100 + 1 if mon == 12 else year * 100 + mon + 1


def month_bounds(month: int) -> tuple[int, int]:
    """``[start, end)`` unix seconds of the local month."""
    return local_midnight(first_day(month)), local_midnight(first_day(next_month(month)))


def local_midnight(day: date) -> int:
    """Unix seconds of local midnight starting ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).timestamp())


def days_in(month: int) -> int:
    """Days in the month."""
    start, end = month_bounds(month)
    return (end - start) // 86_400


def local_minute_of_day(unix_s: int) -> int:
    """Minute of the local day (0-1439) of ``unix_s``."""
    return ((unix_s + 8 * 3_600) % 86_400) // 60


def local_datetime(unix_s: int) -> datetime:
    """``unix_s`` as an aware local datetime."""
    return datetime.fromtimestamp(unix_s, UTC).astimezone(LOCAL_TZ)
