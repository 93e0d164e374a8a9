"""Section 1: trading throughput as a ratio to plain token transfers, same harness, same
node, same run.

Takes (``TradingMarket.take``: quote the route, escrow the prepayment, reserve the seller's
exposure, open obligations) and plain ``SettlementToken.transfer`` calls are pre-signed by
the same buyers and pushed through the same :class:`~scripts.bench.common.Blaster`
(threads x JSON-RPC batches) against the same anvil. Rounds alternate transfers and takes
so a noisy neighbour hits both; the figure is the median of the rounds, and the ratio is
median takes/s over median transfers/s.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from scripts.bench.common import Blaster, bench_chain
from scripts.bench.lifecycle import LifecycleUnavailable, lifecycle_rate
from scripts.bench.market import traders
from scripts.bench.report import Section


@dataclass(frozen=True)
class Shape:
    sellers: int
    buyers: int
    per_round: int
    rounds: int
    threads: int
    batch: int


FULL = Shape(sellers=8, buyers=64, per_round=1_000, rounds=3, threads=8, batch=25)
QUICK = Shape(sellers=2, buyers=16, per_round=300, rounds=2, threads=4, batch=20)


def run(section: Section, quick: bool) -> None:
    shape = QUICK if quick else FULL
    with bench_chain() as chain:
        blaster = Blaster(chain, threads=shape.threads, batch=shape.batch)
        t = traders(chain, sellers=shape.sellers, buyers=shape.buyers, blaster=blaster)
        # warm-up: first writes of each buyer's balances, trade lists and obligations
        blaster.run(t.transfer_calls(len(t.buyers)))
        blaster.run(t.take_calls(len(t.buyers)))
        transfers: list[float] = []
        takes: list[float] = []
        signing: list[float] = []
        offset = len(t.buyers)
        for _ in range(shape.rounds):
            tr = blaster.run(t.transfer_calls(shape.per_round, offset))
            tk = blaster.run(t.take_calls(shape.per_round, offset))
            offset += shape.per_round
            transfers.append(tr.tx_per_s)
            takes.append(tk.tx_per_s)
            signing += [tr.sign_per_s, tk.sign_per_s]
        trades = t.market.trade_count()
        expected = len(t.buyers) + shape.rounds * shape.per_round
        if trades != expected:
            raise RuntimeError(f"{trades} trades formed, {expected} takes sent")
        transfer_rate = statistics.median(transfers)
        take_rate = statistics.median(takes)
        ratio = take_rate / transfer_rate
        section.add("transfers_per_s", "token transfers/s", transfer_rate, "tx/s")
        section.add("takes_per_s", "takes/s (signed, sent, receipted)", take_rate, "tx/s")
        section.add(
            "take_transfer_ratio",
            "takes/s ÷ transfers/s",
            ratio,
            "x",
            target=">= 0.5",
            ok=ratio >= 0.5,
        )
        section.add(
            "signing_per_s",
            "signing rate (outside the timed window)",
            statistics.median(signing),
            "tx/s",
        )
        try:
            life = lifecycle_rate(chain, t, quick=quick)
        except LifecycleUnavailable as exc:
            section.na(
                "lifecycle_per_s",
                "full lifecycles/s (post, take, dispatch, meter, settle)",
                str(exc),
                "lifecycle/s",
            )
            section.na(
                "lifecycle_transfer_ratio", "lifecycles/s ÷ transfers/s", str(exc), "x", ">= 0.3"
            )
        else:
            lratio = life.per_s / transfer_rate
            section.add(
                "lifecycle_per_s",
                "full lifecycles/s (post, take, dispatch, meter, settle)",
                life.per_s,
                "lifecycle/s",
            )
            section.add(
                "lifecycle_transfer_ratio",
                "lifecycles/s ÷ transfers/s",
                lratio,
                "x",
                target=">= 0.3",
                ok=lratio >= 0.3,
            )
            section.details["lifecycle"] = life.details
        section.details.update(
            {
                "shape": shape.__dict__,
                "transfer_rounds_per_s": transfers,
                "take_rounds_per_s": takes,
                "onboarding_s": t.onboarding,
                "note": "each round: per_round pre-signed txs over threads x batch in flight; "
                "median of rounds",
            }
        )
