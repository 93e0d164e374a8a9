"""Inline SVG charts of the analytics (no JavaScript, no external assets): a day's price
forecast with its p10-p90 band, and daily load profiles. Shared by the explorer (gateway)
and the portal; every value drawn is a number or escaped text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # the forecast module imports scikit-learn; a chart needs only its data
    from ledger.analytics.forecast import DayForecast

W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 280, 70, 16, 28, 44
FONT = 'font-family="system-ui,sans-serif" font-size="11"'
COLORS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi] (the explorer's charts use it too)."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


class _Frame:
    """Axes of a 96-interval day: x is the interval (hours labelled), y zoomed on values."""

    def __init__(self, values: Sequence[float], unit: str, decimals: int) -> None:
        spread = max(max(values) - min(values), abs(max(values)) * 0.05, 1e-9)
        self.ticks = nice_ticks(min(values) - spread * 0.05, max(values) + spread * 0.05)
        self.lo, self.hi = self.ticks[0], self.ticks[-1]
        self.unit, self.decimals = unit, decimals

    def x(self, interval: float) -> float:
        return LEFT + (W - LEFT - RIGHT) * interval / 95

    def y(self, value: float) -> float:
        return H - BOTTOM - (H - BOTTOM - TOP) * (value - self.lo) / ((self.hi - self.lo) or 1)

    def axes(self) -> str:
        parts = []
        for t in self.ticks:
            y = self.y(t)
            parts.append(
                f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                f"{t:,.{self.decimals}f}</text>"
            )
        for hour in range(0, 25, 3):
            x = self.x(min(hour * 4, 95))
            parts.append(
                f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" {FONT}>'
                f"{hour:02d}:00</text>"
            )
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#4a5568"/>'
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" '
            f'stroke="#4a5568"/><text transform="translate(14,{(TOP + H - BOTTOM) / 2:.0f}) '
            f'rotate(-90)" text-anchor="middle" {FONT} font-weight="600">'
            f"{escape(self.unit)}</text>"
            f'<text x="{(LEFT + W - RIGHT) / 2:.0f}" y="{H - 6}" text-anchor="middle" {FONT} '
            f'font-weight="600">local time (UTC+8), 15-minute intervals</text>'
        )
        return "".join(parts)

    def path(self, values: Sequence[float]) -> str:
        return " ".join(f"{self.x(i):.1f},{self.y(v):.1f}" for i, v in enumerate(values))


def _svg(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>{body}</svg>'
    )


def _legend(names: Sequence[str], colors: Sequence[str]) -> str:
    return "".join(
        f'<rect x="{LEFT + 10 + i * 150}" y="6" width="10" height="10" fill="{c}"/>'
        f'<text x="{LEFT + 24 + i * 150}" y="15" {FONT}>{escape(n[:24])}</text>'
        for i, (n, c) in enumerate(zip(names, colors, strict=True))
    )


def band_chart(
    p10: Sequence[float],
    p50: Sequence[float],
    p90: Sequence[float],
    title: str,
    unit: str = "CNY/MWh",
    actual: Sequence[float] | None = None,
) -> str:
    """A day's forecast (line) inside its p10-p90 band (shaded), and the actual prices
    (dashed) when known."""
    frame = _Frame([*p10, *p90, *(actual or [])], unit, 0)
    upper = [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in enumerate(p90)]
    lower = [f"{frame.x(i):.1f},{frame.y(v):.1f}" for i, v in reversed(list(enumerate(p10)))]
    body = [
        frame.axes(),
        f'<polygon points="{" ".join(upper + lower)}" fill="#bee3f8" stroke="none">'
        "<title>p10-p90 band</title></polygon>",
        f'<polyline fill="none" stroke="{COLORS[0]}" stroke-width="2" '
        f'points="{frame.path(p50)}"><title>forecast (p50)</title></polyline>',
    ]
    names, colors = ["forecast (p50)", "p10-p90 band"], [COLORS[0], "#bee3f8"]
    if actual is not None:
        body.append(
            f'<polyline fill="none" stroke="{COLORS[1]}" stroke-width="1.5" '
            f'stroke-dasharray="4 3" points="{frame.path(actual)}"><title>actual</title>'
            "</polyline>"
        )
        names.append("actual")
        colors.append(COLORS[1])
    body.append(_legend(names, colors))
    return _svg(title, "".join(body))


def profiles_chart(profiles: Sequence[Sequence[float]], names: Sequence[str], title: str) -> str:
    """Daily load profiles (normalised: 1.0 is the day's mean), one line each."""
    frame = _Frame([v for p in profiles for v in p], "load / daily mean", 1)
    colors = [COLORS[i % len(COLORS)] for i in range(len(profiles))]
    body = [frame.axes()]
    body.extend(
        f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{frame.path(p)}">'
        f"<title>{escape(n)}</title></polyline>"
        for p, n, c in zip(profiles, names, colors, strict=True)
    )
    body.append(_legend([f"cluster {i}" for i in range(len(profiles))], colors))
    return _svg(title, "".join(body))


def _cny_per_mwh(fen_per_mwh: npt.NDArray[np.int64]) -> list[float]:
    return [v / 100 for v in fen_per_mwh.tolist()]


def forecast_chart(
    forecast: DayForecast,
    region: int,
    title: str,
    actual_fen_per_mwh: npt.NDArray[np.int64] | None = None,
) -> str:
    """:func:`band_chart` of one region of a day's forecast, in CNY/MWh."""
    return band_chart(
        _cny_per_mwh(forecast.p10_fen_per_mwh[region]),
        _cny_per_mwh(forecast.p50_fen_per_mwh[region]),
        _cny_per_mwh(forecast.p90_fen_per_mwh[region]),
        title,
        actual=None if actual_fen_per_mwh is None else _cny_per_mwh(actual_fen_per_mwh),
    )
