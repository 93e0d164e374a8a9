"""Delivery-period calendars: which delivery period a meter interval belongs to.

Settlement reads ``MeterOracle.meteredEnergyOf(node, period)`` and dispatch results with
``period`` = the TRADING period id (``TradingMarket`` ids 1, 2, ...; each one ``intervals``
intervals of ``intervalS`` seconds from ``deliveryStart``), so the oracle must total its
readings per trading period. :class:`TradingPeriodCalendar` reads those periods from the
chain; :class:`FixedPeriodCalendar` (period = interval start // period length) serves a
chain without a trading market and the oracle's own tests.

A reading belongs to the period whose ``[start, end)`` holds its interval start; when
periods overlap (nothing on chain forbids it) the lowest id wins, which never changes once
a reading is assigned because new periods get higher ids.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Protocol

from eth_account.signers.local import LocalAccount

from ledger.clients.trading import Period, TradingMarketClient
from ledger.context import LedgerContext
from oracle.errors import OracleError

#: Largest trading period id (``uint32``).
MAX_TRADING_PERIOD = 2**32 - 1


class PeriodCalendar(Protocol):
    """Maps times to delivery period ids and back."""

    def period_of(self, ts: int) -> int | None:
        """The delivery period holding unix time ``ts``, or None when none does."""
        ...

    def bounds(self, period: int) -> tuple[int, int]:
        """``[start, end)`` of ``period`` in unix seconds (OracleError 404 when unknown)."""
        ...


class FixedPeriodCalendar:
    """Back-to-back periods of ``period_s`` seconds: id = ts // period_s."""

    def __init__(self, period_s: int) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be positive")
        self.period_s = period_s

    def period_of(self, ts: int) -> int | None:
        return ts // self.period_s if ts >= 0 else None

    def bounds(self, period: int) -> tuple[int, int]:
        return period * self.period_s, (period + 1) * self.period_s

    def describe(self) -> str:
        return f"fixed periods of {self.period_s} s (id = interval start // {self.period_s})"


class TradingPeriodCalendar:
    """The delivery periods ``TradingMarket`` opened, cached.

    Periods never change once opened, so each is read once. A time no cached period covers
    triggers a refresh (``periodCount`` and the new periods only), at most once per
    ``min_refresh_s`` so a batch of readings outside every period costs one call.
    """

    def __init__(
        self,
        client: TradingMarketClient,
        *,
        min_refresh_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.min_refresh_s = min_refresh_s
        self._monotonic = monotonic
        self._periods: dict[int, Period] = {}
        self._by_start: list[tuple[int, int, int]] = []  # (start, end, id) sorted
        self._max_len = 0
        self._last_refresh: float | None = None
        self._lock = threading.Lock()

    def refresh(self, *, force: bool = False) -> bool:
        """Read periods opened since the last refresh; True when any was new."""
        with self._lock:
            now = self._monotonic()
            if (
                not force
                and self._last_refresh is not None
                and now - self._last_refresh < self.min_refresh_s
            ):
                return False
            self._last_refresh = now
            count = self.client.period_count()
            new = False
            for period_id in range(len(self._periods) + 1, count + 1):
                p = self.client.period(period_id)
                self._periods[p.id] = p
                bisect.insort(self._by_start, (p.delivery_start, p.delivery_end, p.id))
                self._max_len = max(self._max_len, p.delivery_end - p.delivery_start)
                new = True
            return new

    def _lookup(self, ts: int) -> int | None:
        found: int | None = None
        i = bisect.bisect_right(self._by_start, (ts, 2**256, 2**256))
        while i > 0:
            i -= 1
            start, end, period_id = self._by_start[i]
            if start <= ts - self._max_len:
                break
            if start <= ts < end and (found is None or period_id < found):
                found = period_id
        return found

    def period_of(self, ts: int) -> int | None:
        found = self._lookup(ts)
        if found is None and self.refresh():
            found = self._lookup(ts)
        return found

    def period(self, period: int) -> Period:
        """The trading period ``period`` (refreshed when not cached yet)."""
        cached = self._periods.get(period)
        if cached is None and 0 < period <= MAX_TRADING_PERIOD:
            self.refresh(force=True)
            cached = self._periods.get(period)
        if cached is None:
            raise OracleError(
                404, "unknown_period", f"the trading market has no delivery period {period}"
            )
        return cached

    def bounds(self, period: int) -> tuple[int, int]:
        p = self.period(period)
        return p.delivery_start, p.delivery_end

    def describe(self) -> str:
        return f"TradingMarket {self.client.address} periods"


def make_calendar(ctx: LedgerContext, account: LocalAccount) -> PeriodCalendar:
    """The trading market's periods when deployed (and not ``oracle_period_source=fixed``),
    else fixed periods of ``oracle_period_s``."""
    settings = ctx.settings
    if settings.oracle_period_source == "trading" and "TradingMarket" in ctx.manifest.contracts:
        return TradingPeriodCalendar(ctx.client(TradingMarketClient, account))
    return FixedPeriodCalendar(settings.oracle_period_s)
