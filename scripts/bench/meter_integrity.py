"""Bench section ``meter_integrity``: tampered meters found by feeder energy balance, own
history and peers (:mod:`oracle.tamper`) on scenarios with feeders (:mod:`ledger.feeders`).

Scenarios: ``jibei-mini`` and ``surveil-medium`` seeds, 14 simulated days, 0.5 % of the
customer meters under-reading at 20 % from a random day; detection runs after every day.
Recall counts a tampered meter flagged within 7 days of the start of its tampering; the
false-positive rate is honest meters flagged on any day over honest meters.
"""

from __future__ import annotations

from ledger.feeders import generate_feeders
from node.surveillance.simulate import make_scenario
from oracle.tamper import run_days
from scripts.bench.report import Section

DAYS, SHARE, FACTOR, HORIZON = 14, 0.005, 0.8, 7


def run(section: Section, quick: bool) -> None:
    seeds = range(1, 4) if quick else range(1, 11)
    tampered = honest = 0
    delays: list[int] = []
    false: list[str] = []
    per: list[dict[str, object]] = []
    for preset in ("jibei-mini", "surveil-medium"):
        for seed in seeds:
            net = generate_feeders(make_scenario(preset, seed), DAYS, SHARE, FACTOR)
            result = run_days(net, HORIZON)
            tampered += result.tampered
            honest += result.honest
            delays += list(result.detected.values())
            false += [f"{preset}/{seed}/{m}" for m in result.false_positives]
            per.append(
                {
                    "scenario": f"{preset}/{seed}",
                    "meters": len(net.meters),
                    "feeders": len(net.feeders),
                    "tampered": result.tampered,
                    "detected": result.detected,
                    "false_positives": result.false_positives,
                }
            )
    recall = len(delays) / tampered if tampered else 0.0
    fpr = len(false) / honest if honest else 0.0
    section.add(
        "recall",
        "tampered meters found within 7 days",
        round(recall, 4),
        target=">= 0.9",
        ok=recall >= 0.9,
    )
    section.add(
        "false_positive_rate",
        "honest meters flagged",
        round(fpr, 5),
        target="<= 0.01",
        ok=fpr <= 0.01,
    )
    section.add(
        "days_to_detect",
        "mean days from tampering to first flag",
        round(sum(delays) / len(delays), 2) if delays else None,
        "days",
    )
    section.details.update(
        {"tampered": tampered, "honest": honest, "false_positives": false, "scenarios": per}
    )
