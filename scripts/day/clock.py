"""How chain time moves through the market day, and how long the day is.

A :class:`ChainClock` moves the day along. On a development chain (anvil, Hardhat) the
delivery day is compressed by moving the chain's clock forward with
``evm_setNextBlockTimestamp``; on any other chain (a proof-of-authority consortium) time
cannot be moved, so the clock waits until the chain's latest block reaches the moment, and
a :class:`DaySchedule` shrinks the day to a few short intervals that still stand for the
whole day (each interval aggregates its quarter-hours; meter capacities and corridor limits
are scaled by the same factor).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator
from web3 import Web3

from ledger.errors import GridLedgerError
from ledger.scenario import INTERVAL_S, INTERVALS_PER_DAY

#: Seconds a real-time wait may overrun its target before the chain counts as stalled.
STALL_TIMEOUT_S = 120.0


class ChainClock:
    """The chain's clock, as the market day moves it.

    ``warps`` (a development chain: anvil, Hardhat): :meth:`advance_to` moves the chain's
    clock with ``evm_setNextBlockTimestamp`` and mines a block, at once. Otherwise (a
    proof-of-authority consortium, any real chain): it waits until the latest block's
    timestamp reaches the target. ``warps=None`` detects it from ``web3_clientVersion``.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        warps: bool | None = None,
        poll_s: float = 0.2,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.w3 = w3
        self.warps = self.detect(w3) if warps is None else warps
        self.poll_s = poll_s
        self.stall_timeout_s = stall_timeout_s
        self._sleep = sleep

    @staticmethod
    def client_version(w3: Web3) -> str:
        """The node's ``web3_clientVersion`` ('' when it does not answer it)."""
        try:
            answer = w3.provider.make_request("web3_clientVersion", [])  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any failure: unknown client
            return ""
        result = answer.get("result") if isinstance(answer, dict) else None
        return str(result) if isinstance(result, str) else ""

    @classmethod
    def detect(cls, w3: Web3) -> bool:
        """True on a chain whose clock can be moved (anvil, Hardhat's node)."""
        version = cls.client_version(w3).lower()
        return version.startswith(("anvil", "hardhatnetwork"))

    def now(self) -> int:
        """The latest block's timestamp."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_period_s(self) -> int:
        """Seconds between the latest two blocks (at least 1): a transaction sent now is
        mined about one to two of these later on a sealing chain."""
        latest = self.w3.eth.get_block("latest")
        parent = self.w3.eth.get_block(max(0, int(latest["number"]) - 1))
        return max(1, int(latest["timestamp"]) - int(parent["timestamp"]))

    def advance_to(self, ts: int) -> None:
        """Warp: move the clock to ``ts`` (never backwards) and mine a block. Real time:
        wait until the latest block's timestamp is at least ``ts``."""
        if self.warps:
            now = self.now()
            if ts > now:
                self.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            return
        now = self.now()
        deadline = time.monotonic() + max(0, ts - now) + self.stall_timeout_s
        while now < ts:
            if time.monotonic() > deadline:
                raise GridLedgerError(
                    f"the chain's clock stands at {now}, short of {ts}: no block for "
                    f"{self.stall_timeout_s:.0f} s past the wait (is the chain sealing?)"
                )
            self._sleep(min(self.poll_s, max(0.05, ts - now - 0.5)))
            now = self.now()


class DaySchedule(BaseModel):
    """How long the delivery day is and how its windows sit (seconds of chain time).

    The default is the day-ahead market as the time-lapse runs it on anvil: 96 intervals of
    900 s, delivery from the second full hour, taking closed a quarter-hour before delivery.
    :meth:`compact` is a day that runs in minutes of real time on a chain whose clock cannot
    be moved.
    """

    model_config = ConfigDict(frozen=True)

    interval_s: int = Field(default=INTERVAL_S, ge=1)
    intervals: int = Field(default=INTERVALS_PER_DAY, ge=1, le=INTERVALS_PER_DAY)
    blocks: int = Field(default=4, ge=1, description="Delivery blocks sellers list.")
    trading_s: int | None = Field(
        default=None,
        ge=2,
        description="Posting and taking window from the period's opening; None: taking "
        "closes gate_s before a delivery that starts at the second full hour.",
    )
    gate_s: int = Field(default=900, ge=0, description="Taking closes this long before delivery.")
    reading_delay_s: int = Field(
        default=30, ge=0, description="Readings are sent this long after their interval ends."
    )
    oracle_max_age_s: int | None = Field(
        default=None, ge=1, description="The oracle's late-reading window; None: the settings'."
    )
    close_margin_s: int = Field(
        default=60, ge=0, description="Wait past the late-reading window before closing."
    )
    settlement_delay_s: int = Field(
        default=5, ge=2, description="Settlement opens this long after it is scheduled."
    )
    quota_close_s: int = Field(
        default=15,
        ge=2,
        description="On a chain whose clock cannot move, the renewable quota's deadline is "
        "brought forward to this long after the day's last quota action.",
    )

    @model_validator(mode="after")
    def _check(self) -> DaySchedule:
        if INTERVALS_PER_DAY % self.intervals:
            raise ValueError(f"intervals must divide {INTERVALS_PER_DAY}")
        if self.blocks > self.intervals:
            raise ValueError("blocks must not exceed intervals")
        return self

    @classmethod
    def compact(
        cls,
        *,
        interval_s: int = 15,
        intervals: int = 8,
        blocks: int = 4,
        trading_s: int = 60,
        oracle_max_age_s: int | None = None,
    ) -> DaySchedule:
        """A day of ``intervals`` real-time intervals of ``interval_s`` seconds (each one
        standing for ``96 / intervals`` quarter-hours): windows and waits of seconds.
        Readings go out a second after their interval; the oracle takes them up to
        ``oracle_max_age_s`` (default the longer of 10 s and an interval) late."""
        return cls(
            interval_s=interval_s,
            intervals=intervals,
            blocks=min(blocks, intervals),
            trading_s=trading_s,
            gate_s=0,
            reading_delay_s=1,
            oracle_max_age_s=oracle_max_age_s or max(10, interval_s),
            close_margin_s=1,
            settlement_delay_s=4,
        )

    @property
    def quarter_hours_per_interval(self) -> int:
        return INTERVALS_PER_DAY // self.intervals

    @property
    def represented_s(self) -> int:
        """Seconds of the scenario's day one interval stands for."""
        return self.quarter_hours_per_interval * INTERVAL_S

    def scaled(self, value: int) -> int:
        """``value`` (a power: W, MW) scaled by represented / real interval length."""
        return value * self.represented_s // self.interval_s

    def block_ranges(self) -> list[tuple[int, int]]:
        """``blocks`` delivery windows (first, last interval) covering the period."""
        n, b = self.intervals, self.blocks
        return [(i * n // b, (i + 1) * n // b - 1) for i in range(b)]

    def profile(self, profile_wh: list[int]) -> list[int]:
        """A scenario profile (96 quarter-hours) summed into this schedule's intervals."""
        q = self.quarter_hours_per_interval
        if q == 1:
            return list(profile_wh)
        return [sum(profile_wh[k * q : (k + 1) * q]) for k in range(self.intervals)]

    def period_times(self, now: int) -> tuple[int, int]:
        """(delivery start, taking close) of a period opened at chain time ``now``: with no
        trading window, delivery from the second full hour and taking closed ``gate_s``
        before; else taking closes ``trading_s`` after ``now`` and delivery starts on the
        next interval boundary ``gate_s`` after."""
        if self.trading_s is None:
            delivery = (now // 3600 + 2) * 3600
            return delivery, delivery - self.gate_s
        closes = now + self.trading_s
        step = self.interval_s
        return -(-(closes + self.gate_s) // step) * step, closes
