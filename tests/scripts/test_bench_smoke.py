"""`make bench QUICK=1` runs end to end and writes a valid results file.

Benchmarks themselves never run inside `make test`; this runs the QUICK sizes (about a
minute or two) of ``python -m scripts.bench.run`` into a temporary file and validates it
against the results model: every section present without error, every figure either a
number or ``null`` with an ``n/a: <why>`` note.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ledger.settings import PROJECT_ROOT
from scripts.bench.report import load
from scripts.bench.run import SECTIONS


@pytest.mark.slow
def test_quick_bench_writes_valid_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.bench.run", "--quick", "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.is_file(), proc.stderr[-2000:]
    results = load(out)
    errors = {n: s.error for n, s in results.sections.items() if s.error}
    assert proc.returncode == 0, (errors, proc.stderr[-2000:])
    assert results.quick
    assert set(results.sections) == set(SECTIONS)
    assert results.machine.cpu_count >= 1
    for section in results.sections.values():
        assert section.figures, section.name
        for key, fig in section.figures.items():
            if fig.value is None:
                assert fig.note is not None, (section.name, key)
                assert fig.note.startswith("n/a: "), (section.name, key)
    throughput = results.sections["throughput"].figures
    assert throughput["take_transfer_ratio"].value
    assert throughput["lifecycle_per_s"].value
    assert throughput["lifecycle_transfer_ratio"].value
    gas = results.sections["gas"].figures
    assert gas["gas_transfer"].value
    for op in ("settle", "rate", "report", "issue_certificate", "retire"):
        assert gas[f"gas_{op}_10"].value, op
        assert gas[f"gas_{op}_1000"].value, op
    assert gas["ops_growing"].value == 0
    latency = results.sections["latency"].figures
    assert latency["sustainable_takes_per_s"].value
    assert latency["p99_ms"].value
