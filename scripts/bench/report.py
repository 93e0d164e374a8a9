"""The results model (``bench/results.json``), machine facts, and the printed table.

Every figure has a value or ``null`` with a reason (``n/a: ...``): a figure is never
invented. Targets are the issue's (#12); ``ok`` says whether the figure meets its target.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from ledger.compiler import SOLC_VERSION
from ledger.deploy import git_commit
from ledger.settings import Settings

SCHEMA: Literal["gridledger.bench/1"] = "gridledger.bench/1"


class Figure(BaseModel):
    """One measured figure."""

    label: str
    value: float | None = Field(description="None when not measured; `note` says why.")
    unit: str = ""
    target: str | None = None
    ok: bool | None = None
    note: str | None = None


class Section(BaseModel):
    """One benchmark section: its figures, how long it took, what went wrong."""

    name: str
    title: str
    seconds: float = 0.0
    error: str | None = None
    figures: dict[str, Figure] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)

    def add(
        self,
        key: str,
        label: str,
        value: float | None,
        unit: str = "",
        *,
        target: str | None = None,
        ok: bool | None = None,
        note: str | None = None,
    ) -> Figure:
        fig = Figure(label=label, value=value, unit=unit, target=target, ok=ok, note=note)
        self.figures[key] = fig
        return fig

    def na(self, key: str, label: str, why: str, unit: str = "", target: str | None = None) -> None:
        self.add(key, label, None, unit, target=target, note=f"n/a: {why}")


class Machine(BaseModel):
    cpu_count: int
    cpu_model: str | None
    platform: str
    python: str
    web3: str | None
    eth_account: str | None
    solc: str
    anvil: str | None
    git_commit: str | None
    git_dirty: bool | None
    load_average: list[float] | None


class Results(BaseModel):
    schema_: Literal["gridledger.bench/1"] = Field(SCHEMA, alias="schema")
    quick: bool
    started_at: str
    duration_s: float
    machine: Machine
    sections: dict[str, Section]

    model_config = {"populate_by_name": True}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _anvil_version() -> str | None:
    from ledger.engines.local import anvil_binary

    try:
        out = subprocess.run(
            [str(anvil_binary(Settings())), "--version"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError, Exception):  # noqa: BLE001 - facts only
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


def _dirty() -> bool | None:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain"],  # noqa: S607 - git from PATH is intended
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip())


def machine() -> Machine:
    return Machine(
        cpu_count=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        platform=platform.platform(),
        python=sys.version.split()[0],
        web3=_version("web3"),
        eth_account=_version("eth-account"),
        solc=SOLC_VERSION,
        anvil=_anvil_version(),
        git_commit=git_commit(),
        git_dirty=_dirty(),
        load_average=list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fmt(value: float, unit: str) -> str:
    if unit in ("x", "ratio"):
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: Results) -> Table:
    t = Table(
        title=f"GridLedger benchmarks ({'QUICK' if results.quick else 'full'}) "
        f"{results.started_at}, {results.machine.cpu_count} CPUs, "
        f"{results.duration_s:.0f} s",
        show_lines=False,
    )
    t.add_column("section")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_column("target")
    t.add_column("ok")
    for section in results.sections.values():
        first = True
        if section.error:
            t.add_row(section.title, "[red]error[/red]", section.error[:120], "", "", "")
            first = False
        for fig in section.figures.values():
            value = _fmt(fig.value, fig.unit) if fig.value is not None else (fig.note or "n/a")
            ok = "" if fig.ok is None else ("[green]yes[/green]" if fig.ok else "[red]no[/red]")
            t.add_row(
                section.title if first else "",
                fig.label,
                value,
                fig.unit,
                fig.target or "",
                ok,
            )
            first = False
        t.add_section()
    return t


def print_table(results: Results, console: Console | None = None) -> None:
    (console or Console(width=160)).print(table(results))


def write(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(results.model_dump_json(indent=2, by_alias=True) + "\n")


def load(path: Path) -> Results:
    return Results.model_validate_json(path.read_text())
