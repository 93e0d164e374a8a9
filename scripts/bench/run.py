"""``python -m scripts.bench.run [--quick] [--out bench/results.json] [--only SECTION ...]``

Runs every section (each on its own fresh anvil), prints the table and writes the results
file even when a section fails (its error is recorded; the exit code is then 1).
"""

from __future__ import annotations

import importlib
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ledger.settings import PROJECT_ROOT
from scripts.bench.report import Results, Section, machine, now_iso, print_table, write

#: name -> (title, module). Modules are imported when their section runs, so an area
#: that does not import right now (being edited) fails only its own section.
SECTIONS: dict[str, tuple[str, str]] = {
    "throughput": ("1 trading throughput", "scripts.bench.throughput"),
    "latency": ("2 latency", "scripts.bench.latency"),
    "gas": ("3 gas per operation", "scripts.bench.gas"),
    "oracle": ("4 oracle ingestion", "scripts.bench.oracle_bench"),
    "gateway": ("5 gateway queries", "scripts.bench.gateway_bench"),
    "market_day": ("6 jibei market day", "scripts.bench.market_day"),
    "surveillance": ("7 market surveillance (held out)", "scripts.bench.surveillance_bench"),
    "meter_integrity": ("8 tampered meters", "scripts.bench.meter_integrity"),
    "stress": ("9 price shock and defaults", "scripts.bench.stress"),
    "peak": ("10 peak: thousands at once", "scripts.bench.peak"),
    "retail": ("11 retail bills for a month", "scripts.bench.retail_bench"),
    "forecast": ("12 day-ahead price forecast (back-test)", "scripts.bench.forecast_bench"),
    "portal": ("13 participant portal pages", "scripts.bench.portal_bench"),
}


def _runner(module: str) -> Callable[[Section, bool], None]:
    fn: Callable[[Section, bool], None] = importlib.import_module(module).run
    return fn


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes (about 2 minutes).")] = False,
    out: Annotated[Path, typer.Option(help="Results file.")] = PROJECT_ROOT
    / "bench"
    / "results.json",
    only: Annotated[
        list[str] | None, typer.Option(help=f"Run only these sections: {', '.join(SECTIONS)}.")
    ] = None,
) -> None:
    # SIGTERM unwinds like Ctrl-C, so every section's anvil is stopped by its context manager.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = only or list(SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise typer.BadParameter(f"unknown sections: {unknown}")
    started = now_iso()
    began = time.perf_counter()
    sections: dict[str, Section] = {}
    for name in chosen:
        title, module = SECTIONS[name]
        section = Section(name=name, title=title)
        t0 = time.perf_counter()
        typer.echo(f"[bench] {title} ...", err=True)
        interrupted = False
        try:
            _runner(module)(section, quick)
        except (KeyboardInterrupt, SystemExit) as exc:  # still write what was measured
            section.error = f"interrupted ({type(exc).__name__})"
            interrupted = True
        except Exception as exc:  # noqa: BLE001 - recorded in the results, exit code 1
            section.error = f"{type(exc).__name__}: {exc}"
            section.details["traceback"] = traceback.format_exc()
        section.seconds = time.perf_counter() - t0
        typer.echo(f"[bench] {title}: {section.seconds:.1f} s", err=True)
        sections[name] = section
        if interrupted:
            break
    results = Results(
        quick=quick,
        started_at=started,
        duration_s=time.perf_counter() - began,
        machine=machine(),
        sections=sections,
    )
    write(results, out)
    print_table(results)
    typer.echo(f"results: {out}")
    if any(s.error for s in sections.values()):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
