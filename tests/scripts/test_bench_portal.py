"""Benchmark section 13 (the portal's pages for a busy participant): the QUICK size
(``jibei-mini``'s market day) end to end on a real anvil; the full size is ``make bench``."""

from __future__ import annotations

import pytest

from scripts.bench import portal_bench
from scripts.bench.report import Section


@pytest.mark.slow
def test_quick_portal_bench_times_every_page_of_a_busy_participant() -> None:
    section = Section(name="portal", title="13 participant portal pages")
    portal_bench.run(section, quick=True)  # also checks the index against the full scans
    pages = section.details["pages"]
    assert set(pages) >= {"status", "offers", "trades", "statements", "statement html", "ratings"}
    for name, page in pages.items():
        assert page["requests"] >= 2 * 5, name
        assert 0 < page["p50_ms"] <= page["p99_ms"], name
        assert page["bytes"] > 500, name
    who = section.details["participant"]
    assert who["trades"] >= 10
    assert section.details["chain_trades"] > who["trades"]
    worst = section.figures["worst_p99_ms"]
    assert worst.value == max(max(p["p99_ms"], p["new_block_p99_ms"]) for p in pages.values())
    assert worst.target == "<= 200"
    assert section.figures["p99_trades_new_block"].unit == "ms"
