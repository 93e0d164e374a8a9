"""Gate on slither's JSON output against the reviewed triage in docs/security.md.

Every High and Medium finding is keyed ``detector`` + ``where`` (``Contract.function``,
``Contract.stateVariable`` or ``Contract.function.localVariable``: no line numbers, so the
key survives edits elsewhere in a file). The triage table of docs/security.md (between the
``slither-triage`` markers) gives each key a one-line reason. Exit status 1 when a High
finding has no triage row (or any untriaged Medium with ``--strict-medium``); untriaged
Mediums and stale rows are printed as warnings.

Usage: python -m scripts.security.slither_gate build/slither.json [docs/security.md]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

GATED = ("High", "Medium")
_START = "<!-- slither-triage:start -->"
_END = "<!-- slither-triage:end -->"
_ROW = re.compile(
    r"^\|\s*(High|Medium)\s*\|\s*`?([\w-]+)`?\s*\|\s*`?([\w.]+)`?\s*\|[^|]*\|(.*)\|\s*$"
)


def finding_key(result: dict[str, Any]) -> tuple[str, str]:
    """(detector, where) of one slither detector result."""
    element = result["elements"][0]
    parent = element.get("type_specific_fields", {}).get("parent", {})
    names = [element["name"]]
    while parent:
        names.append(parent["name"])
        if parent.get("type") == "contract":
            break
        parent = parent.get("type_specific_fields", {}).get("parent", {})
    return result["check"], ".".join(reversed(names))


def load_triage(doc: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """{(detector, where): (impact, reason)} from the doc's triage table."""
    text = doc.read_text(encoding="utf-8")
    if _START not in text or _END not in text:
        raise SystemExit(f"{doc}: no triage table between {_START} and {_END}")
    table = text.split(_START, 1)[1].split(_END, 1)[0]
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            impact, detector, where, reason = (g.strip() for g in match.groups())
            if not reason:
                raise SystemExit(f"{doc}: triage row {detector} {where} has no reason")
            rows[(detector, where)] = (impact, reason)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("doc", type=Path, nargs="?", default=Path("docs/security.md"))
    parser.add_argument("--strict-medium", action="store_true")
    args = parser.parse_args(argv)
    data = json.loads(args.report.read_text(encoding="utf-8"))
    if not data.get("success"):
        print(f"slither failed: {data.get('error')}", file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = data.get("results", {}).get("detectors", [])
    counts = Counter(r["impact"] for r in results)
    print(
        "slither findings by impact: "
        + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("High", "Medium", "Low", "Informational"))
    )
    triage = load_triage(args.doc)
    seen: Counter[tuple[str, str]] = Counter()
    untriaged: dict[str, list[str]] = {impact: [] for impact in GATED}
    for result in results:
        if result["impact"] not in GATED:
            continue
        key = finding_key(result)
        seen[key] += 1
        if key not in triage:
            first = result["description"].strip().splitlines()[0]
            untriaged[result["impact"]].append(f"{key[0]} {key[1]}: {first}")
    for key in sorted(set(triage) - set(seen)):
        print(f"warning: triage row matches no finding (stale?): {key[0]} {key[1]}")
    for line in untriaged["Medium"]:
        print(f"warning: untriaged Medium: {line}")
    for line in untriaged["High"]:
        print(f"error: untriaged High: {line}")
    triaged = sum(n for key, n in seen.items() if key in triage)
    print(f"gated findings triaged in {args.doc}: {triaged} of {sum(seen.values())}")
    if untriaged["High"] or (args.strict_medium and untriaged["Medium"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
