"""Bench section ``retail``: a month of retail bills for the Jibei population.

2,749 consumers with 11,903 metering units, 96 readings a day for June 2026 (30 days:
34,280,640 readings; QUICK: 100 consumers). Each consumer's month is generated with numpy
(a daily load shape, noise, reactive energy at a per-consumer power factor), priced with
:func:`ledger.retail.bill.compute_bill` under one of the sample packages of its class,
rendered to HTML and PDF, hashed, and its anchoring leaf collected; the month's Merkle root is
built at the end. One consumer's month is in memory at a time (streamed), never the month.

The readings' signatures are verified once, at the oracle's intake (section 4 measures that
rate); a bill reads counted readings and does not re-verify them. The work runs in a spawned
child process so ``peak_rss_mb`` is the billing's own peak (``getrusage`` of the child), not
the bench process's after earlier sections.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from ledger.retail.bill import compute_bill
from ledger.retail.leaves import BillRef, bills_tree
from ledger.retail.months import INTERVAL_S, days_in, month_bounds
from ledger.retail.packages import ConsumerClass, RetailPackage
from ledger.retail.readings import Readings, from_arrays
from ledger.retail.render import to_html, to_pdf
from ledger.retail.samples import sample_account, sample_packages, sample_rates
from scripts.bench.report import Section
from scripts.bench.retail_anchor import anchor_month

CONSUMERS, METERS, MONTH = 2_749, 11_903, 202_606
QUICK_CONSUMERS = 100
WALL_TARGET_S, RSS_TARGET_MB = 600, 2_048
RETAILER = "0x" + "e2" * 20
#: Class of consumer ``i`` cycles through this mix (1 in 10 large industry, 4 industry, ...).
MIX = (
    [ConsumerClass.large_industry]
    + [ConsumerClass.industrial] * 4
    + [ConsumerClass.commercial] * 4
    + [ConsumerClass.residential]
)


def meters_of(i: int, consumers: int, meters: int) -> int:
    """Meters of consumer ``i``: the population's meters spread as evenly as possible."""
    base, extra = divmod(meters, consumers)
    return base + (1 if i < extra else 0)


def month_readings(i: int, meter_count: int, month: int) -> Readings:
    """Consumer ``i``'s month: ``meter_count`` meters x 96 intervals a day, seeded by ``i``."""
    rng = np.random.default_rng(i)
    start, _ = month_bounds(month)
    n = days_in(month) * 96
    slot = np.arange(n) % 96
    shape = 0.6 + 0.4 * np.sin((slot - 30) / 96 * 2 * np.pi).clip(0) + 0.3 * (slot >= 32)
    scale = int(rng.integers(500, 40_000))
    pf = rng.uniform(0.78, 0.97)
    tan_phi = np.sqrt(1 - pf * pf) / pf
    rows = meter_count * n
    load = np.tile(shape, meter_count) * scale * rng.uniform(0.7, 1.3, rows)
    imp = load.astype(np.int64)
    return from_arrays(
        [f"0x{i:032x}{m:032x}" for m in range(meter_count)],
        np.repeat(np.arange(meter_count, dtype=np.int64), n),
        np.tile(start + np.arange(n, dtype=np.int64) * INTERVAL_S, meter_count),
        imp,
        np.zeros(rows, dtype=np.int64),
        (imp * tan_phi).astype(np.int64),
    )


def bill_month(consumers: int, meters: int, month: int) -> dict[str, Any]:
    """Price, render and hash every consumer's month; the Merkle root; timings (in a child)."""
    t0 = time.perf_counter()
    rates = sample_rates()
    offered: dict[ConsumerClass, list[RetailPackage]] = {}
    for pkg in sample_packages(RETAILER):
        offered.setdefault(pkg.consumer_class, []).append(pkg)
    refs: list[BillRef] = []
    readings = html_bytes = pdf_bytes = 0
    spent = {"generate": 0.0, "compute": 0.0, "html": 0.0, "pdf": 0.0}
    for i in range(consumers):
        t = time.perf_counter()
        count = meters_of(i, consumers, meters)
        rows = month_readings(i, count, month)
        cls = MIX[i % len(MIX)]
        account = sample_account(
            "0x" + f"{i + 1:040x}", cls, list(rows.meter_ids), capacity_kva=100 * count + 200
        )
        package = offered[cls][i % len(offered[cls])]
        spent["generate"] += time.perf_counter() - t
        t = time.perf_counter()
        bill = compute_bill(account, rows, package, rates, month)
        refs.append(BillRef(bill.consumer, bill.retailer, month, bill.hash, bill.total_fen))
        spent["compute"] += time.perf_counter() - t
        t = time.perf_counter()
        html_bytes += len(to_html(bill).encode())
        spent["html"] += time.perf_counter() - t
        t = time.perf_counter()
        pdf_bytes += len(to_pdf(bill))
        spent["pdf"] += time.perf_counter() - t
        readings += len(rows)
    t = time.perf_counter()
    root = bills_tree(refs).root
    spent["merkle"] = time.perf_counter() - t
    return {
        "bills": len(refs),
        "readings": readings,
        "wall_s": time.perf_counter() - t0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "root": "0x" + root.hex(),
        "refs": refs,
        "total_fen": sum(r.total_fen for r in refs),
        "html_bytes": html_bytes,
        "pdf_bytes": pdf_bytes,
        "phase_s": {k: round(v, 2) for k, v in spent.items()},
    }


def run(section: Section, quick: bool) -> None:
    consumers = QUICK_CONSUMERS if quick else CONSUMERS
    meters = round(METERS * consumers / CONSUMERS)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        out = pool.submit(bill_month, consumers, meters, MONTH).result()
    section.add("bills", "bills computed, rendered (HTML + PDF) and hashed", out["bills"])
    section.add("readings", "15-minute readings billed", out["readings"])
    wall, rss = out["wall_s"], out["peak_rss_mb"]
    section.add(
        "wall_s",
        "wall time: generate, compute, render, hash, Merkle root",
        round(wall, 1),
        "s",
        target=f"< {WALL_TARGET_S}",
        ok=wall < WALL_TARGET_S,
    )
    section.add(
        "peak_rss_mb",
        "peak RSS of the billing process",
        round(rss, 1),
        "MB",
        target=f"< {RSS_TARGET_MB}",
        ok=rss < RSS_TARGET_MB,
    )
    section.add("ms_per_bill", "wall time per bill", round(1000 * wall / out["bills"], 2), "ms")
    anchored = anchor_month(out["refs"], MONTH)
    section.add(
        "anchor_gas",
        "gas of anchoring the month (RetailBills.anchorBills)",
        anchored["anchor_gas"],
        "gas",
    )
    section.add(
        "pay_gas",
        "gas of paying one bill with its proof (RetailBills.pay)",
        anchored["pay_gas"],
        "gas",
    )
    section.details.update(
        {
            "month": MONTH,
            "consumers": consumers,
            "meters": meters,
            "merkle_root": out["root"],
            "total_fen": out["total_fen"],
            "html_bytes": out["html_bytes"],
            "pdf_bytes": out["pdf_bytes"],
            "phase_s": out["phase_s"],
            "signatures": "verified once at the oracle's intake, not per bill",
            "anchoring": anchored,
        }
    )
