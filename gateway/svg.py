"""Server-side SVG charts (no JavaScript, no CDN): bars, lines, horizontal bars, a histogram.

Every chart has real axes: a value axis with "nice" ticks (1, 2 or 5 x 10^k) labelled in
plain digits with thousands separators and titled with its unit, and a category axis whose
labels are thinned (and slanted when long) so they never overlap. Line charts zoom onto
the data's range (prices near 400 CNY/MWh are not drawn as dots on a 0-based axis).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from ledger.analytics.charts import nice_ticks

W, H, PAD_L, PAD_R, PAD_B, PAD_T = 640, 260, 72, 16, 56, 24
COLORS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096")
FONT = 'font-family="system-ui,sans-serif" font-size="11"'
Series = dict[str, Sequence[tuple[str, float]]]


def tick_label(value: float, step: float) -> str:
    """A tick value in plain digits, as many decimals as the step needs."""
    decimals = max(0, -math.floor(math.log10(step))) if step and step < 1 else 0
    return f"{value:,.{decimals}f}"


def _frame(title: str, body: str, ticks: list[float], unit: str, x_title: str) -> Markup:
    lo, hi = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = []
    for value in ticks:
        y = _y(value, lo, hi)
        parts.append(
            f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{tick_label(value, step)}</text>"
        )
    parts.append(
        f'<line x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{H - PAD_B}" stroke="#4a5568"/>'
        f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{H - PAD_B}" y2="{H - PAD_B}" stroke="#4a5568"/>'
        f'<text transform="translate(14,{(PAD_T + H - PAD_B) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle" {FONT} font-weight="600">{escape(unit)}</text>'
    )
    if x_title:
        parts.append(
            f'<text x="{(PAD_L + W - PAD_R) / 2:.0f}" y="{H - 4}" text-anchor="middle" '
            f'{FONT} font-weight="600">{escape(x_title)}</text>'
        )
    return _svg(title, "".join(parts) + body, H)


def _svg(title: str, body: str, height: int) -> Markup:
    return Markup(  # noqa: S704 - only numbers and escaped text are interpolated
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
        + body
        + "</svg>"
    )


def _y(value: float, lo: float, hi: float) -> float:
    return H - PAD_B - (H - PAD_B - PAD_T) * (value - lo) / ((hi - lo) or 1)


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> str:
    """Category labels under the axis: at most ~10, slanted when long."""
    step = max(1, math.ceil(len(labels) / 10))
    slant = max((len(label) for label in labels), default=0) > 8
    parts = []
    for label, x in list(zip(labels, xs, strict=True))[::step]:
        y = H - PAD_B + 17
        transform = f' transform="rotate(-25 {x:.1f} {y})"' if slant else ""
        anchor = "end" if slant else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}"{transform} {FONT}>'
            f"{escape(label[:16])}</text>"
        )
    return "".join(parts)


def _labels(series: Series, ordered: bool) -> list[str]:
    if ordered:
        return list(dict.fromkeys(label for points in series.values() for label, _ in points))
    return sorted({label for points in series.values() for label, _ in points})


def bar_chart(
    series: Series, title: str, unit: str = "", x_title: str = "", *, ordered: bool = False
) -> Markup:
    """Grouped bars from 0: one colour per series, one group per label (sorted, or in the
    given order when ``ordered``)."""
    labels = _labels(series, ordered)
    if not labels:
        return Markup("")
    ticks = nice_ticks(0, max((v for points in series.values() for _, v in points), default=0))
    lo, hi = ticks[0], ticks[-1]
    group_w = (W - PAD_L - PAD_R) / len(labels)
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = []
    for si, (name, points) in enumerate(sorted(series.items())):
        values = dict(points)
        for li, label in enumerate(labels):
            if label not in values:
                continue
            y = _y(values[label], lo, hi)
            x = PAD_L + li * group_w + group_w * 0.1 + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{H - PAD_B - y:.1f}" fill="{COLORS[si % len(COLORS)]}">'
                f"<title>{escape(name)} {escape(label)}: {values[label]:,.6g}</title></rect>"
            )
    xs = [PAD_L + (i + 0.5) * group_w for i in range(len(labels))]
    parts.append(_x_labels(labels, xs))
    parts.append(_legend(sorted(series)))
    return _frame(title, "".join(parts), ticks, unit, x_title)


def line_chart(series: Series, title: str, unit: str = "", x_title: str = "") -> Markup:
    """One polyline per series over the union of labels (sorted), on an axis zoomed onto
    the values' range."""
    labels = _labels(series, False)
    if not labels:
        return Markup("")
    values = [v for points in series.values() for _, v in points]
    spread = max(max(values) - min(values), abs(max(values)) * 0.1, 1e-9)
    ticks = nice_ticks(min(values) - spread * 0.1, max(values) + spread * 0.1)
    lo, hi = ticks[0], ticks[-1]
    inner = W - PAD_L - PAD_R - 20
    step_x = inner / max(1, len(labels) - 1)
    index = {label: i for i, label in enumerate(labels)}
    xs = [PAD_L + 10 + (i * step_x if len(labels) > 1 else inner / 2) for i in range(len(labels))]
    parts = []
    for si, (name, points) in enumerate(sorted(series.items())):
        coords = [
            (xs[index[label]], _y(v, lo, hi), label, v)
            for label, v in sorted(points, key=lambda p: index[p[0]])
        ]
        color = COLORS[si % len(COLORS)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.extend(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(name)} '
            f"{escape(label)}: {v:,.2f} {escape(unit)}</title></circle>"
            for x, y, label, v in coords
        )
    parts.append(_x_labels(labels, xs))
    parts.append(_legend(sorted(series)))
    return _frame(title, "".join(parts), ticks, unit, x_title)


def hbar_chart(points: Sequence[tuple[str, float]], title: str, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value), labels on the left: for long names."""
    if not points:
        return Markup("")
    row_h, left = 20, 250
    height = PAD_T + row_h * len(points) + 30
    ticks = nice_ticks(0, max(v for _, v in points))
    hi = ticks[-1] or 1
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    width = W - left - PAD_R
    parts = []
    for value in ticks:
        x = left + width * value / hi
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T - 4}" y2="{height - 26}" '
            f'stroke="#e2e8f0"/><text x="{x:.1f}" y="{height - 12}" text-anchor="middle" '
            f"{FONT}>{tick_label(value, step)}</text>"
        )
    for i, (label, value) in enumerate(points):
        y = PAD_T + i * row_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" {FONT}>{escape(label[:40])}'
            f'</text><rect x="{left}" y="{y + 3}" width="{width * value / hi:.1f}" '
            f'height="{row_h - 6}" fill="{COLORS[0]}"><title>{escape(unit)} {escape(label)}: '
            f"{value:,.6g}</title></rect>"
        )
    parts.append(
        f'<text x="{W - PAD_R}" y="12" text-anchor="end" {FONT} '
        f'font-weight="600">{escape(unit)}</text>'
    )
    return _svg(title, "".join(parts), height)


def histogram(values: Sequence[int], title: str, bins: int = 10, x_title: str = "") -> Markup:
    """Counts of ``values`` in ``bins`` equal-width bins, in bin order."""
    if not values:
        return Markup("")
    lo, hi = min(values), max(values)
    width = max(1, -(-(hi - lo + 1) // bins))
    counts: dict[str, float] = {}
    for b in range(bins):
        start = lo + b * width
        if start > hi:
            break
        counts[f"{start}–{start + width - 1}"] = 0
    for v in values:
        start = lo + (v - lo) // width * width
        counts[f"{start}–{start + width - 1}"] += 1
    return bar_chart({"nodes": list(counts.items())}, title, "nodes", x_title, ordered=True)


def _legend(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    return "".join(
        f'<rect x="{PAD_L + 10 + i * 100}" y="4" width="10" height="10" '
        f'fill="{COLORS[i % len(COLORS)]}"/><text x="{PAD_L + 24 + i * 100}" y="13" '
        f"{FONT}>{escape(name[:14])}</text>"
        for i, name in enumerate(names)
    )


def step_chart(
    demand: Sequence[tuple[float, float]],
    supply: Sequence[tuple[float, float]],
    point: tuple[float, float] | None,
    title: str,
    unit: str = "",
    x_title: str = "",
) -> Markup:
    """An auction's demand (blue) and supply (orange) step curves from (cumulative
    quantity at each step's end, price) pairs in priority order, and the clearing
    ``point`` (quantity, price) as a dot."""
    prices = [p for _, p in (*demand, *supply)] + ([point[1]] if point else [])
    if not prices:
        return Markup("")
    spread = max(max(prices) - min(prices), abs(max(prices)) * 0.1, 1e-9)
    ticks = nice_ticks(min(prices) - spread * 0.1, max(prices) + spread * 0.1)
    lo, hi = ticks[0], ticks[-1]
    x_max = max([q for q, _ in (*demand, *supply)] + [1e-9])
    inner = W - PAD_L - PAD_R - 20

    def x(q: float) -> float:
        return PAD_L + 10 + inner * q / x_max

    parts = []
    for si, curve in enumerate((demand, supply)):
        coords, start = [], 0.0
        for end, price in curve:
            coords += [(x(start), _y(price, lo, hi)), (x(end), _y(price, lo, hi))]
            start = end
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        parts.append(
            f'<polyline fill="none" stroke="{COLORS[si]}" stroke-width="2" points="{path}"/>'
        )
    if point is not None:
        parts.append(
            f'<circle cx="{x(point[0]):.1f}" cy="{_y(point[1], lo, hi):.1f}" r="5" '
            f'fill="{COLORS[2]}"><title>clearing: {point[0]:,.3f} {escape(x_title)} at '
            f"{point[1]:,.2f} {escape(unit)}</title></circle>"
        )
    ticks_x = nice_ticks(0, x_max)
    parts.append(
        _x_labels(
            [tick_label(t, ticks_x[1] - ticks_x[0]) for t in ticks_x if t <= x_max],
            [x(t) for t in ticks_x if t <= x_max],
        )
    )
    parts.append(_legend(["demand (bids)", "supply (offers)"]))
    return _frame(title, "".join(parts), ticks, unit, x_title)
