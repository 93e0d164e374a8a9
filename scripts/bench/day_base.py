"""The benchmark engine's base: the local book (:class:`Offer`, :func:`fill`, :func:`rank`),
the day's figures (:class:`DayFacts`) and state, helpers and phases (:class:`DayBase`).
See :mod:`scripts.bench.market_day`.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from pydantic import Field

from ledger.clients.base import ContractClient
from ledger.clients.trading import ListingSide, Period
from ledger.keystore import DEMO_NODE_BASE
from ledger.scenario import Participant, Scenario
from node.trading.optimizer import Weights, unit_scores
from scripts.bench.common import BenchChain, BenchError, role
from scripts.bench.day_waves import Abi, C, Waves, demo_node
from scripts.day import plan
from scripts.day.figures import DayFigures

logger = logging.getLogger(__name__)


class OverBudget(Exception):  # noqa: N818 - a stop condition
    """The day did not finish within its budget (:data:`scripts.bench.market_day.BUDGET_S`)."""


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux: ru_maxrss in KiB), MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Offer:
    """A listing as the takers see it (kept up to date locally while planning)."""

    id: int
    maker: int
    side: ListingSide
    block: int
    region: int
    remaining_wh: int
    min_take_wh: int
    price_fen_per_mwh: int
    carbon_g_per_kwh: int


@dataclass
class TradeRecord:
    id: int
    listing: int
    buyer: int
    seller: int
    block: int
    energy_wh: int
    executed_wh: int = 0


def fill(ranked: Sequence[Offer], taker: int, target_wh: int) -> list[tuple[Offer, int]]:
    """Greedy fill of ``target_wh`` over ``ranked`` (best first), updating what remains.

    A take is never below its listing's minimum, not even as a listing's last piece (the
    contract allows that only when it empties the listing, which depends on the order the
    takes of a wave are mined in).
    """
    need = target_wh
    out: list[tuple[Offer, int]] = []
    for o in ranked:
        if need <= 0:
            break
        if o.remaining_wh == 0 or o.maker == taker:
            continue
        q = min(need, o.remaining_wh)
        if q < o.min_take_wh:
            continue
        o.remaining_wh -= q
        need -= q
        out.append((o, q))
    return out


def rank(
    offers: Sequence[Offer],
    mode: int,
    transmission: dict[int, int],
    reputation: dict[int, float],
) -> list[Offer]:
    """``offers`` in the order of the optimiser's unit score (best first);
    ``transmission``: stamp sum of the cheapest route per counterparty region."""
    book = [
        plan.listing_offer(
            listing_id=o.id,
            mode=mode,
            available_wh=o.remaining_wh,
            min_take_wh=o.min_take_wh,
            price_fen_per_mwh=o.price_fen_per_mwh,
            transmission_rate_fen_per_mwh=transmission[o.region] if mode == 1 else 0,
            reputation=reputation[o.maker],
            carbon_g_per_kwh=o.carbon_g_per_kwh,
        )
        for o in offers
    ]
    scores = unit_scores(book, 1 if mode == 1 else 2, Weights())
    # Ties by maker, not by listing id: ids follow the order a wave was mined in.
    order = sorted(
        range(len(offers)), key=lambda i: (scores[i].total, offers[i].maker, offers[i].block)
    )
    return [offers[i] for i in order]


# -- the day -------------------------------------------------------------------------------


class DayFacts(DayFigures):
    """What the day produced (with the benchmark's own counts and timings)."""

    nodes: int = 0
    node_totals: int = 0
    trades_failed: int = 0
    withdrawals: int = 0
    surveillance: str = ""
    surveillance_read_s: float = 0.0
    surveillance_scan_s: float = 0.0
    trades_covered: int = 0
    certificates_bought: int = 0
    parties_assessed: int = 0
    parties_fined: int = 0
    phases_s: dict[str, float] = Field(default_factory=dict)
    phase_transactions: dict[str, int] = Field(default_factory=dict)
    phase_split_s: dict[str, dict[str, float]] = Field(default_factory=dict)
    phase_peak_rss_mb: dict[str, dict[str, int | None]] = Field(default_factory=dict)
    running: str = "setup"


class DayBase:
    """One delivery day of ``scenario`` on ``chain``: its state and helpers; the day stops
    (:class:`OverBudget`) once it has run ``budget_s`` seconds from ``began``."""

    def __init__(
        self,
        chain: BenchChain,
        scenario: Scenario,
        began: float,
        facts: DayFacts,
        budget_s: float,
    ) -> None:
        self.chain = chain
        self.ctx = chain.ctx
        self.scenario = scenario
        self.people: list[Participant] = scenario.participants
        self.began = began
        self.facts = facts
        self.budget_s = budget_s
        self.waves = Waves(chain, time.monotonic() + budget_s - (time.perf_counter() - began))
        self.rpc = chain.rpc()
        self.accounts: dict[int, LocalAccount] = {}
        self.index_of: dict[str, int] = {}
        self.period: Period | None = None
        self.offers: dict[int, Offer] = {}
        self.trades: list[TradeRecord] = []
        self.settled: list[TradeRecord] = []
        self.import_wh: dict[int, int] = {}
        self.export_wh: dict[int, int] = {}
        #: Transactions of the running phase sent by ledger clients, not by waves.
        self._extra = 0
        self._abis: dict[type[ContractClient], Abi[Any]] = {}

    # ---------------------------------------------------------------- helpers

    def address(self, contract: str) -> str:
        return self.ctx.manifest.address(contract)

    def client(self, cls: type[C], account: LocalAccount) -> C:
        return self.ctx.client(cls, account)

    def abi(self, cls: type[C]) -> Abi[C]:
        """The (cached) encoder of ``cls``'s contract."""
        known = self._abis.get(cls)
        if known is None:
            known = self._abis[cls] = Abi(self.client(cls, role("OPERATOR")))
        found: Abi[C] = known
        return found

    def node(self, n: int) -> LocalAccount:
        return demo_node(DEMO_NODE_BASE + n)

    def chain_time(self) -> int:
        return int(self.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def set_time(self, ts: int) -> None:
        """Move the chain's clock to ``ts`` (never backwards) and mine a block."""
        if ts > self.chain_time():
            self.rpc.call("evm_setNextBlockTimestamp", [ts])
        self.rpc.call("evm_mine", [])

    def the_period(self) -> Period:
        if self.period is None:
            raise BenchError("no period opened")
        return self.period

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        self.facts.running = name
        before = self.waves.transactions
        split = self.waves.split()
        self._extra = 0
        yield
        now = time.perf_counter()
        self.facts.phases_s[name] = now - t0
        self.facts.phase_transactions[name] = self.waves.transactions - before + self._extra
        self.facts.phase_split_s[name] = {
            k: round(v - split[k], 2) for k, v in self.waves.split().items()
        }
        anvil_mb = self.chain.anvil_peak_rss_mb()
        self.facts.phase_peak_rss_mb[name] = {
            "bench": round(peak_rss_mb()),
            "anvil": round(anvil_mb) if anvil_mb is not None else None,
        }
        logger.info(
            "market day: %s %.1f s, %d tx %s, peak RSS %s MB",
            name,
            self.facts.phases_s[name],
            self.facts.phase_transactions[name],
            self.facts.phase_split_s[name],
            self.facts.phase_peak_rss_mb[name],
        )
        if now - self.began > self.budget_s:
            raise OverBudget(
                f"stopped after phase {name!r}: {now - self.began:.0f} s > the "
                f"{self.budget_s:.0f} s budget (phases done: {', '.join(self.facts.phases_s)})"
            )
