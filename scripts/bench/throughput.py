"""Section 1: trading throughput as a ratio to plain token transfers, same harness, same
node, same run, same chain state.

Takes (``TradingMarket.take``: quote the route, escrow the prepayment, reserve the seller's
exposure, open obligations) and plain ``SettlementToken.transfer`` calls are pre-signed by
the same buyers and pushed through the same :class:`~scripts.bench.common.Blaster`
(threads x JSON-RPC batches) against the same anvil. Every round starts from one snapshot
of the chain (``evm_snapshot`` after onboarding and a warm-up; ``evm_revert`` before each
round): anvil 1.7.1 rebuilds its whole state trie for every block, so a block costs more
the more state the chain holds (an empty block costs 1 ms on a fresh chain and 20 to 90 ms
after a few thousand trades; fixed upstream in foundry-rs/foundry#15715, after this
build), and rounds run one after another on a growing chain measured the chain's growth,
not the operation: the last full run's transfer rounds went 1,175, 190, 56 tx/s. Rounds
alternate transfers and takes so a noisy neighbour hits both; the figure is the median of
the rounds, and the ratio is median takes/s over median transfers/s. The full lifecycle
(:mod:`scripts.bench.lifecycle`) runs last, from the same snapshot, and is compared with
the same median transfers/s.
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


FULL = Shape(sellers=8, buyers=64, per_round=1_000, rounds=5, threads=8, batch=25)
QUICK = Shape(sellers=2, buyers=16, per_round=300, rounds=3, threads=4, batch=20)


def run(section: Section, quick: bool) -> None:
    shape = QUICK if quick else FULL
    with bench_chain() as chain:
        blaster = Blaster(chain, threads=shape.threads, batch=shape.batch)
        t = traders(chain, sellers=shape.sellers, buyers=shape.buyers, blaster=blaster)
        # warm-up: first writes of each buyer's balances, trade lists and obligations
        blaster.run(t.transfer_calls(len(t.buyers)))
        blaster.run(t.take_calls(len(t.buyers)))
        offset = len(t.buyers)
        state = {
            "trades": t.market.trade_count(),
            "listings": t.market.listing_count(),
            "nodes": len(t.sellers) + len(t.buyers),
            "block": chain.w3.eth.block_number,
        }
        snap = chain.snapshot()
        transfers: list[float] = []
        takes: list[float] = []
        signing: list[float] = []
        for _ in range(shape.rounds):
            snap = chain.revert(snap, blaster)
            tr = blaster.run(t.transfer_calls(shape.per_round, offset))
            snap = chain.revert(snap, blaster)
            tk = blaster.run(t.take_calls(shape.per_round, offset))
            transfers.append(tr.tx_per_s)
            takes.append(tk.tx_per_s)
            signing += [tr.sign_per_s, tk.sign_per_s]
        trades = t.market.trade_count()
        expected = len(t.buyers) + shape.per_round
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
            snap = chain.revert(snap, blaster)
            life = lifecycle_rate(chain, t, quick=quick, blaster=blaster)
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
                "stuck_kicks": blaster.kicks,
                "state_at_snapshot": state,
                "note": "each round: per_round pre-signed txs over threads x batch in flight, "
                "from the same evm_snapshot; median of rounds",
            }
        )
