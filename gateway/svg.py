"""Server-side SVG charts (no JavaScript, no CDN): bars, lines and a histogram."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

W, H, PAD_L, PAD_B, PAD_T = 640, 240, 60, 40, 20
COLORS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096")


def _frame(title: str, body: str, y_max: float, unit: str) -> Markup:
    ticks = []
    for i in range(5):
        value = y_max * i / 4
        y = H - PAD_B - (H - PAD_B - PAD_T) * i / 4
        ticks.append(
            f'<line x1="{PAD_L}" x2="{W - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
            f"{value:,.4g}</text>"
        )
    return Markup(  # noqa: S704 - only numbers and escaped text are interpolated
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
        + "".join(ticks)
        + f'<text x="4" y="12" font-size="10">{escape(unit)}</text>'
        + body
        + "</svg>"
    )


def bar_chart(series: dict[str, Sequence[tuple[str, float]]], title: str, unit: str = "") -> Markup:
    """Grouped bars: one colour per series, one group per label."""
    labels = sorted({label for points in series.values() for label, _ in points})
    if not labels:
        return Markup("")
    y_max = max((v for points in series.values() for _, v in points), default=0) or 1
    group_w = (W - PAD_L - 10) / len(labels)
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = []
    for si, (name, points) in enumerate(sorted(series.items())):
        values = dict(points)
        for li, label in enumerate(labels):
            if label not in values:
                continue
            h = (H - PAD_B - PAD_T) * values[label] / y_max
            x = PAD_L + li * group_w + group_w * 0.1 + si * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{H - PAD_B - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[si % len(COLORS)]}">'
                f"<title>{escape(name)} {escape(label)}: {values[label]:,.6g}</title></rect>"
            )
    step = max(1, len(labels) // 12)
    for li, label in enumerate(labels[::step]):
        x = PAD_L + li * step * group_w + group_w / 2
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" font-size="10">'
            f"{escape(label[:14])}</text>"
        )
    parts.append(_legend(list(sorted(series))))
    return _frame(title, "".join(parts), y_max, unit)


def line_chart(
    series: dict[str, Sequence[tuple[str, float]]], title: str, unit: str = ""
) -> Markup:
    """One polyline per series over the union of labels (in sorted order)."""
    labels = sorted({label for points in series.values() for label, _ in points})
    if not labels:
        return Markup("")
    y_max = max((v for points in series.values() for _, v in points), default=0) or 1
    step_x = (W - PAD_L - 20) / max(1, len(labels) - 1)
    index = {label: i for i, label in enumerate(labels)}
    parts = []
    for si, (_name, points) in enumerate(sorted(series.items())):
        coords = [
            (PAD_L + index[label] * step_x, H - PAD_B - (H - PAD_B - PAD_T) * v / y_max)
            for label, v in sorted(points, key=lambda p: index[p[0]])
        ]
        color = COLORS[si % len(COLORS)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in coords)
    step = max(1, len(labels) // 12)
    for label in labels[::step]:
        x = PAD_L + index[label] * step_x
        parts.append(
            f'<text x="{x:.1f}" y="{H - PAD_B + 14}" text-anchor="middle" font-size="10">'
            f"{escape(label[:14])}</text>"
        )
    parts.append(_legend(list(sorted(series))))
    return _frame(title, "".join(parts), y_max, unit)


def histogram(values: Sequence[int], title: str, bins: int = 10) -> Markup:
    """Counts of ``values`` in ``bins`` equal-width bins."""
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
        b = (v - lo) // width
        start = lo + b * width
        counts[f"{start}–{start + width - 1}"] += 1
    ordered = list(counts.items())
    # keep bin order: labels sort lexically in bar_chart, so zero-pad the start
    padded = [(f"{i:02d}: {label}", n) for i, (label, n) in enumerate(ordered)]
    return bar_chart({"nodes": padded}, title, "nodes")


def _legend(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    return "".join(
        f'<rect x="{PAD_L + 10 + i * 90}" y="{H - 14}" width="10" height="10" '
        f'fill="{COLORS[i % len(COLORS)]}"/><text x="{PAD_L + 24 + i * 90}" y="{H - 5}" '
        f'font-size="10">{escape(name[:12])}</text>'
        for i, name in enumerate(names)
    )
