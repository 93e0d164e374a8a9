"""The bench section ``retail`` at QUICK size: every figure measured and within target."""

from __future__ import annotations

from scripts.bench.report import Section
from scripts.bench.retail_bench import CONSUMERS, METERS, meters_of, run


def test_meters_spread_over_the_population() -> None:
    assert sum(meters_of(i, CONSUMERS, METERS) for i in range(CONSUMERS)) == METERS


def test_quick_retail_section() -> None:
    section = Section(name="retail", title="retail")
    run(section, quick=True)
    figures = section.figures
    assert figures["bills"].value == 100
    assert figures["readings"].value == 433 * 96 * 30
    assert figures["wall_s"].ok
    assert figures["peak_rss_mb"].ok
    assert section.details["merkle_root"].startswith("0x")
