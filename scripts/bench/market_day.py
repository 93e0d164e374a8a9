"""Section 6: the full jibei preset market day, stage by stage: wall time and peak memory.

The day is the plan of the demo's market day (:mod:`scripts.day.plan`: its stages and every
rule of who posts, takes, meters, rates and buys what), on the full
``jibei`` preset (``generate("jibei", 1)``: 3,513 nodes, 12,903 meters); QUICK runs
``jibei-mini`` (60 nodes). Every stage runs on chain for real:

1. tariffs: 7 regions with their stamp rates and 10 corridors (REGULATOR);
2. onboarding of every node: registration; the bank mints the bond and the working funds
   (buyers: twice a day's energy; sellers: a tenth of a day's sales); the VERIFIER approves,
   the credit agency rates, licences (if the kind requires any) are submitted and approved;
   each node deposits its bond (sellers a fifth of a day's sales on top) and approves the
   market and the settlement engine;
3. meters: every metering point registered with its own key (OPERATOR);
4. the delivery period opened (taking closes 15 minutes before delivery);
5. posting: sellers post 90 % of each six-hour block (mode 1), retailers bid a third of
   their first block (mode 2);
6. taking: withholding violators cancel their listings; four sellers take retailers' bids
   for a quarter of their first block; every buyer covers 80 % of each block's demand. Each
   taker takes the open listings in the order of the recommendation optimiser's unit score
   (:func:`node.optimizer.unit_scores`: price plus the cheapest route's stamps, reputation,
   carbon), filling greedily within the minimum takes; this is the optimiser's MILP optimum
   whenever no minimum take binds. The MILP itself is not solved per taker (about 25 ms a
   plan, 13,000 plans: client CPU that the nodes spend in parallel in a real market);
7. dispatch: the period's trades read from chain as the oracle serves them
   (:class:`oracle.dispatch.ChainTradeSource`), security-checked against the corridor
   limits (:func:`scripts.dispatch_sim.security_check`), DISPATCH-signed once per batch
   (EIP-712 ``DispatchBatch``) and submitted in batches (``submitResultBatch``), as the
   oracle's relay does;
8. metering: every node's metered day (its executed contracted energy per quarter-hour with
   3 % noise, deviation abusers 25 % over, capped at meter capacity, as the demo's meters
   report) as one ``postPeriod`` Merkle root and one ``submitNodeTotal`` per node with its
   proof (METER_ORACLE, as the oracle's relay does);
9. settlement: every trade (``settleBatch``), every trading node's deviation (formulas 2
   and 3; trade lists counted page by page first where needed), every credit withdrawn;
10. ratings: both parties rate every settled trade;
11. surveillance: the shipped model scores every node on the day's chain history; a report
    is filed, answered and ruled only if the top score passes the registered threshold;
12. certificates: issued to the green generators on their metered output, clean trades
    covered, the rest posted on the one-way market, short buyers (violators excepted) buy
    and retire, every buyer assessed after the deadline;

then the settlement token is checked for conservation to the fen.

Not here: the individual signed meter readings (12,903 meters x 96 quarter-hours through
the oracle's API; section 4 measures that ingestion), and the gateway's index (section 5).

How it is sent (:class:`Waves`): each stage's transactions go out in *waves* of independent
transactions. Every node signs its own; role transactions (verifier, bank, operator, oracle,
settler) are pipelined with consecutive nonces; batch functions are used where the contracts
have them (``submitResultBatch``, ``settleBatch``, ``countTrades``). Signing is
:class:`~scripts.bench.common.Blaster`'s (one nonce sequence per key) in slices, while a
sender thread sends the previous slice in JSON-RPC batches and seals its block: anvil's
automine is off during a wave and ``evm_mine`` runs until the pool is empty. Nothing waits
for a receipt until the wave is out; then every transaction is checked (its block from the
block headers, its events from ``eth_getLogs``; see :meth:`Waves._receipts`).

Blocks: automine seals a block per transaction or so (about 120 tx/s here) and anvil keeps
a full copy of the state per block for its last 256 blocks (``--prune-history 256``), so for
the day the block gas limit is raised (:data:`DAY_BLOCK_GAS_LIMIT`) and a slice of a wave
is one block: about 40 blocks for the day's 112,000 transactions. A producer that fills its
blocks is what a consortium chain does. Calldata is encoded with ``eth_abi`` directly
(:class:`Abi`; web3's ``encode_abi`` costs about 5 ms a call) and the node keys are derived
from the mnemonic's seed computed once (:func:`demo_node`). Chain time follows the wall
clock and is moved forward between stages (``evm_setNextBlockTimestamp``), as the demo's
time-lapse does.

Peak memory is this process's max RSS and the anvil's ``VmHWM``. The day stops with n/a
(never an extrapolation) if it passes :data:`BUDGET_S`.
"""

from __future__ import annotations

import time

from ledger.scenario import Scenario, generate
from scripts.bench.common import BenchChain, DeadlineExceeded, bench_chain
from scripts.bench.day_after import AfterStages
from scripts.bench.day_base import (
    DayBase,
    DayFacts,
    Offer,
    OverBudget,
    TradeRecord,
    fill,
    peak_rss_mb,
    rank,
)
from scripts.bench.day_delivery import DeliveryStages
from scripts.bench.day_market import MarketStages
from scripts.bench.day_waves import Abi, Waves, demo_node, first_id, logs_of, read_many, word
from scripts.bench.report import Section
from scripts.day.plan import stages

#: Seconds the day may take; checked between slices, waves and phases (a stopped day reports
#: n/a, never an extrapolation). The full day takes about 4 minutes here (2 shared cores).
BUDGET_S = 600
#: Block gas limit during the day: a slice of a wave seals in one block. Anvil keeps a full
#: copy of the state per block for its last 256 blocks (``--prune-history 256``): at the
#: chain's 100M gas a block, the day's ~300 blocks took 12.5 GB of anvil memory.
DAY_BLOCK_GAS_LIMIT = 4_000_000_000


class Day(MarketStages, DeliveryStages, AfterStages):
    """One delivery day of ``scenario`` on ``chain`` (see the module docstring): the plan's
    stages (:data:`scripts.day.plan.STAGES`), then the conservation check, each a phase."""

    def __init__(
        self, chain: BenchChain, scenario: Scenario, began: float, facts: DayFacts
    ) -> None:
        super().__init__(chain, scenario, began, facts, BUDGET_S)

    def run(self) -> None:
        self.rpc.call("evm_setBlockGasLimit", [hex(DAY_BLOCK_GAS_LIMIT)])
        for name, step in stages(self):
            with self.phase(name):
                step()
        with self.phase("conservation"):
            self.conservation()


def run(section: Section, quick: bool) -> None:
    facts = DayFacts()
    try:
        _run(section, quick, facts)
    except (OverBudget, DeadlineExceeded) as exc:
        why = str(exc)
        if isinstance(exc, DeadlineExceeded):
            why = f"over the {BUDGET_S} s budget during phase {facts.running!r} ({exc})"
        section.na("wall_s", "market day wall time", why, "s")
        section.details["phases_s"] = facts.phases_s
        section.details["phase_transactions"] = facts.phase_transactions
        section.details["peak_rss_mb"] = peak_rss_mb()


def _run(section: Section, quick: bool, facts: DayFacts) -> None:
    preset = "jibei-mini" if quick else "jibei"
    began = time.perf_counter()
    scenario = generate(preset, 1)
    with bench_chain() as chain:
        facts.phases_s["generate+chain"] = time.perf_counter() - began
        day = Day(chain, scenario, began, facts)
        day.run()
        wall = time.perf_counter() - began
        anvil_mb = chain.anvil_peak_rss_mb()
        waves = day.waves
    py_mb = peak_rss_mb()
    transactions = sum(facts.phase_transactions.values())
    section.add("nodes", f"nodes ({preset})", float(facts.nodes), "nodes")
    section.add("meters", "metering points registered", float(facts.meters), "meters")
    section.add("wall_s", "market day wall time", wall, "s")
    section.add("transactions", "transactions in the day", float(transactions), "tx")
    section.add(
        "tx_per_s", "transactions per second (whole day, average)", transactions / wall, "tx/s"
    )
    section.add("trades", "trades formed", float(facts.trades), "trades")
    section.add("settlement_s", "settlement of the day", facts.phases_s["settlement"], "s")
    section.add("peak_rss_mb", "peak RSS, benchmark process", py_mb, "MB")
    if anvil_mb is None:
        section.na("anvil_peak_rss_mb", "peak RSS, anvil", "no /proc on this platform", "MB")
    else:
        section.add("anvil_peak_rss_mb", "peak RSS, anvil", anvil_mb, "MB")
    day_facts = facts.model_dump()
    phases = day_facts.pop("phases_s")
    per_phase = day_facts.pop("phase_transactions")
    split = day_facts.pop("phase_split_s")
    rss = day_facts.pop("phase_peak_rss_mb")
    day_facts.pop("running")
    section.details.update(
        {
            "preset": preset,
            "phases_s": {k: round(v, 2) for k, v in phases.items()},
            "phase_transactions": per_phase,
            "phase_split_s": split,
            "phase_peak_rss_mb": rss,
            "day": day_facts,
            "harness": {
                "sign_s": round(waves.sign_s, 2),
                "send_s": round(waves.send_s, 2),
                "seal_s": round(waves.seal_s, 2),
                "receipts_s": round(waves.receipt_s, 2),
                "blocks_sealed": waves.blocks,
                "gas_used": waves.gas_used,
                "receipts_read": waves.status_reads,
            },
            "covers": "every stage of scripts/market_day.py: tariffs, onboarding, meters, "
            "period, posting (both modes), taking (optimiser's ranking, greedy fill), dispatch "
            "(security check, signed results), metering (node totals with proofs), "
            "settlement (trades, deviations, withdrawals), ratings, surveillance, "
            "certificates; not the individual meter readings (section 4), not the gateway "
            "index (section 5)",
        }
    )


__all__ = [
    "Abi",
    "DayBase",
    "Offer",
    "OverBudget",
    "TradeRecord",
    "Waves",
    "demo_node",
    "fill",
    "first_id",
    "logs_of",
    "rank",
    "read_many",
    "word",
]
