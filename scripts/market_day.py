"""One market day of a scenario, end to end on a real chain, through the real services.

Stages (each reports progress): tariffs, onboarding (registration, review, bonds, funds),
meters, the delivery period, posting (both modes), taking through the recommendation
optimiser, the dispatch center's security check (through the oracle's API), signed meter
readings every quarter-hour (through the oracle's API), the period's meter totals,
settlement (trades, then deviations), ratings, surveillance, certificates and quotas,
then the gateway's index. Stages whose contracts are not deployed are reported as skipped.

Time: a :class:`ChainClock` moves the day along. On a development chain (anvil, Hardhat)
the delivery day is compressed by moving the chain's clock forward with
``evm_setNextBlockTimestamp``; on any other chain (a proof-of-authority consortium) time
cannot be moved, so the clock waits until the chain's latest block reaches the moment,
and a :class:`DaySchedule` shrinks the day to a few short intervals that still stand for the
whole day (each interval aggregates its quarter-hours; meter capacities and corridor limits
are scaled by the same factor). The oracle's clock follows the chain's either way, so every
check (windows, reading ages) runs exactly as it would in real time.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field, model_validator
from web3 import Web3

from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.engines.local import free_port
from ledger.errors import ContractRevertError, GridLedgerError
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from node.trading.optimizer import InfeasiblePlanError, ListingOffer, Weights, recommend
from node.trading.trader import Trader
from oracle.errors import OracleError
from scripts.scenario import INTERVAL_S, INTERVALS_PER_DAY, Participant, Scenario

Report = Callable[[str], None]
_T = TypeVar("_T")

#: Scenario kinds -> registry kinds.
KINDS = {
    "coal": NodeKind.COAL,
    "gas": NodeKind.GAS,
    "wind": NodeKind.WIND,
    "solar": NodeKind.SOLAR,
    "hydro": NodeKind.HYDRO,
    "biomass": NodeKind.BIOMASS,
    "storage": NodeKind.STORAGE,
    "retailer": NodeKind.RETAILER,
    "consumer": NodeKind.CONSUMER,
}
CREDIT = {lvl: i for i, lvl in enumerate(["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"])}
#: Four delivery blocks of six hours each (intervals 0-23, 24-47, 48-71, 72-95): the default
#: schedule's :meth:`DaySchedule.block_ranges`.
BLOCKS = [(0, 23), (24, 47), (48, 71), (72, 95)]
#: Wallet numbers of the market's infrastructure accounts (participants are node-1...).
GRID_BASE, BALANCING_N, REMAINDER_N, SETTLER_N = 9000, 9100, 9101, 9102
#: Reserve regulation prices of the day (fen/MWh): a (ramp-down, received), a' (paid).
RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH = 12_000, 45_000
#: Renewable consumption weight of the day (basis points of consumption), the fine for
#: each MWh short after the deadline, and the generators' asking price per certificate.
QUOTA_WEIGHT_BPS, FINE_FEN_PER_MWH, CERT_PRICE_FEN = 1_800, 8_000, 3_000
FUND_N = 9103
#: Wei a wallet the day signs with should hold on a chain that charges for gas, and the
#: balance under which it is topped up to that by the admin (10 ** 17 wei at London's 7 wei
#: base fee pays for thousands of transactions).
GAS_FLOAT_WEI, GAS_LOW_WEI = 10**17, 10**16
#: Seconds a real-time wait may overrun its target before the chain counts as stalled.
STALL_TIMEOUT_S = 120.0


class ChainClock:
    """The chain's clock, as the market day moves it.

    ``warps`` (a development chain: anvil, Hardhat): :meth:`advance_to` moves the chain's
    clock with ``evm_setNextBlockTimestamp`` and mines a block, at once. Otherwise (a
    proof-of-authority consortium, any real chain): it waits until the latest block's
    timestamp reaches the target. ``warps=None`` detects it from ``web3_clientVersion``.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        warps: bool | None = None,
        poll_s: float = 0.2,
        stall_timeout_s: float = STALL_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.w3 = w3
        self.warps = self.detect(w3) if warps is None else warps
        self.poll_s = poll_s
        self.stall_timeout_s = stall_timeout_s
        self._sleep = sleep

    @staticmethod
    def client_version(w3: Web3) -> str:
        """The node's ``web3_clientVersion`` ('' when it does not answer it)."""
        try:
            answer = w3.provider.make_request("web3_clientVersion", [])  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - any failure: unknown client
            return ""
        result = answer.get("result") if isinstance(answer, dict) else None
        return str(result) if isinstance(result, str) else ""

    @classmethod
    def detect(cls, w3: Web3) -> bool:
        """True on a chain whose clock can be moved (anvil, Hardhat's node)."""
        version = cls.client_version(w3).lower()
        return version.startswith(("anvil", "hardhatnetwork"))

    def now(self) -> int:
        """The latest block's timestamp."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_period_s(self) -> int:
        """Seconds between the latest two blocks (at least 1): a transaction sent now is
        mined about one to two of these later on a sealing chain."""
        latest = self.w3.eth.get_block("latest")
        parent = self.w3.eth.get_block(max(0, int(latest["number"]) - 1))
        return max(1, int(latest["timestamp"]) - int(parent["timestamp"]))

    def advance_to(self, ts: int) -> None:
        """Warp: move the clock to ``ts`` (never backwards) and mine a block. Real time:
        wait until the latest block's timestamp is at least ``ts``."""
        if self.warps:
            now = self.now()
            if ts > now:
                self.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            return
        now = self.now()
        deadline = time.monotonic() + max(0, ts - now) + self.stall_timeout_s
        while now < ts:
            if time.monotonic() > deadline:
                raise GridLedgerError(
                    f"the chain's clock stands at {now}, short of {ts}: no block for "
                    f"{self.stall_timeout_s:.0f} s past the wait (is the chain sealing?)"
                )
            self._sleep(min(self.poll_s, max(0.05, ts - now - 0.5)))
            now = self.now()


class DaySchedule(BaseModel):
    """How long the delivery day is and how its windows sit (seconds of chain time).

    The default is the day-ahead market as the time-lapse runs it on anvil: 96 intervals of
    900 s, delivery from the second full hour, taking closed a quarter-hour before delivery.
    :meth:`compact` is a day that runs in minutes of real time on a chain whose clock cannot
    be moved.
    """

    model_config = ConfigDict(frozen=True)

    interval_s: int = Field(default=INTERVAL_S, ge=1)
    intervals: int = Field(default=INTERVALS_PER_DAY, ge=1, le=INTERVALS_PER_DAY)
    blocks: int = Field(default=4, ge=1, description="Delivery blocks sellers list.")
    trading_s: int | None = Field(
        default=None,
        ge=2,
        description="Posting and taking window from the period's opening; None: taking "
        "closes gate_s before a delivery that starts at the second full hour.",
    )
    gate_s: int = Field(default=900, ge=0, description="Taking closes this long before delivery.")
    reading_delay_s: int = Field(
        default=30, ge=0, description="Readings are sent this long after their interval ends."
    )
    oracle_max_age_s: int | None = Field(
        default=None, ge=1, description="The oracle's late-reading window; None: the settings'."
    )
    close_margin_s: int = Field(
        default=60, ge=0, description="Wait past the late-reading window before closing."
    )
    settlement_delay_s: int = Field(
        default=5, ge=2, description="Settlement opens this long after it is scheduled."
    )
    quota_close_s: int = Field(
        default=15,
        ge=2,
        description="On a chain whose clock cannot move, the renewable quota's deadline is "
        "brought forward to this long after the day's last quota action.",
    )

    @model_validator(mode="after")
    def _check(self) -> DaySchedule:
        if INTERVALS_PER_DAY % self.intervals:
            raise ValueError(f"intervals must divide {INTERVALS_PER_DAY}")
        if self.blocks > self.intervals:
            raise ValueError("blocks must not exceed intervals")
        return self

    @classmethod
    def compact(
        cls,
        *,
        interval_s: int = 15,
        intervals: int = 8,
        blocks: int = 4,
        trading_s: int = 60,
        oracle_max_age_s: int | None = None,
    ) -> DaySchedule:
        """A day of ``intervals`` real-time intervals of ``interval_s`` seconds (each one
        standing for ``96 / intervals`` quarter-hours): windows and waits of seconds.
        Readings go out a second after their interval; the oracle takes them up to
        ``oracle_max_age_s`` (default the longer of 10 s and an interval) late."""
        return cls(
            interval_s=interval_s,
            intervals=intervals,
            blocks=min(blocks, intervals),
            trading_s=trading_s,
            gate_s=0,
            reading_delay_s=1,
            oracle_max_age_s=oracle_max_age_s or max(10, interval_s),
            close_margin_s=1,
            settlement_delay_s=4,
        )

    @property
    def quarter_hours_per_interval(self) -> int:
        return INTERVALS_PER_DAY // self.intervals

    @property
    def represented_s(self) -> int:
        """Seconds of the scenario's day one interval stands for."""
        return self.quarter_hours_per_interval * INTERVAL_S

    def scaled(self, value: int) -> int:
        """``value`` (a power: W, MW) scaled by represented / real interval length."""
        return value * self.represented_s // self.interval_s

    def block_ranges(self) -> list[tuple[int, int]]:
        """``blocks`` delivery windows (first, last interval) covering the period."""
        n, b = self.intervals, self.blocks
        return [(i * n // b, (i + 1) * n // b - 1) for i in range(b)]

    def profile(self, profile_wh: list[int]) -> list[int]:
        """A scenario profile (96 quarter-hours) summed into this schedule's intervals."""
        q = self.quarter_hours_per_interval
        if q == 1:
            return list(profile_wh)
        return [sum(profile_wh[k * q : (k + 1) * q]) for k in range(self.intervals)]


def compact_scenario(scenario: Scenario, nodes: int, *, max_meters: int = 2) -> Scenario:
    """A market of ``nodes`` honest participants of ``scenario`` (sellers and buyers in
    turn, each kind in turn; a retailer first among buyers so both posting modes run), with
    at most ``max_meters`` metering points each; renumbered node-1..node-``nodes``."""
    if nodes < 2:
        raise ValueError("a market needs at least 2 nodes")
    honest = [p for p in scenario.participants if p.violation is None]

    def by_kind(side: str, first: tuple[str, ...]) -> list[Participant]:
        pools: dict[str, list[Participant]] = {}
        for p in honest:
            if p.side == side:
                pools.setdefault(p.kind, []).append(p)
        order = [k for k in first if k in pools] + [k for k in pools if k not in first]
        out: list[Participant] = []
        while any(pools[k] for k in order):
            out += [pools[k].pop(0) for k in order if pools[k]]
        return out

    sellers = by_kind("seller", ("coal", "wind", "solar"))
    buyers = by_kind("buyer", ("retailer", "consumer"))
    chosen: list[Participant] = []
    while len(chosen) < nodes and (sellers or buyers):
        pool = sellers if (len(chosen) % 2 == 0 and sellers) or not buyers else buyers
        chosen.append(pool.pop(0))
    participants = [
        p.model_copy(update={"index": i, "meters": min(p.meters, max_meters)})
        for i, p in enumerate(chosen)
    ]
    return scenario.model_copy(
        update={"preset": f"{scenario.preset}/{len(participants)}", "participants": participants}
    )


class DaySummary(BaseModel):
    """What the day produced (the demo prints it; the end-to-end test checks it)."""

    participants: int = 0
    meters: int = 0
    period_id: int = 0
    listings: int = 0
    listings_cancelled: int = 0
    trades: int = 0
    traded_wh: int = 0
    executed_wh: int = 0
    curtailed_wh: int = 0
    readings_accepted: int = 0
    readings_flagged: int = 0
    trades_settled: int = 0
    seller_income_fen: int = 0
    transmission_fees_fen: int = 0
    refunds_fen: int = 0
    deviation_nodes: int = 0
    deviation_paid_fen: int = 0
    deviation_received_fen: int = 0
    ratings: int = 0
    violations_reported: int = 0
    certificates_issued: int = 0
    total_supply_fen: int = 0
    accounted_fen: int = 0
    conserved: bool = False
    skipped: list[str] = Field(default_factory=list)
    stage_seconds: dict[str, float] = Field(default_factory=dict)


class MarketDay:
    """Runs one delivery day of ``scenario`` on the chain behind ``ctx`` (demo keys).

    Args:
        schedule: The day's intervals and windows (default: the day-ahead market,
            time-lapsed; on a chain whose clock cannot move, pass :meth:`DaySchedule.compact`).
        clock: How chain time moves (default: detected from the node).
        workers: Independent transactions (of different nodes, or of one role for
            different nodes) sent this many at a time; 1 sends one after the other.
    """

    def __init__(
        self,
        ctx: LedgerContext,
        scenario: Scenario,
        report: Report,
        *,
        schedule: DaySchedule | None = None,
        clock: ChainClock | None = None,
        workers: int = 1,
    ) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.report = report
        self.schedule = schedule or DaySchedule()
        self.clock = clock or ChainClock(ctx.w3)
        self.workers = max(1, workers)
        self.blocks = self.schedule.block_ranges()
        self.summary = DaySummary(participants=len(scenario.participants))
        self.accounts: dict[int, LocalAccount] = {}
        self.traders: dict[int, Trader] = {}
        self.meters: dict[int, list[Any]] = {}
        self.period_id = 0
        self.trade_ids: list[int] = []
        self._settled: list[Any] = []
        self._oracle_url = ""
        self._oracle_service: Any = None
        self._oracle_ctx: LedgerContext | None = None

    # ------------------------------------------------------------------ helpers

    def role(self, wallet: str) -> LocalAccount:
        return self.ctx.account(wallet)

    def account(self, p: Participant) -> LocalAccount:
        return self.ctx.account(f"node-{p.index + 1}")

    def chain_time(self) -> int:
        return self.clock.now()

    def set_time(self, ts: int) -> None:
        """Bring the chain's clock to ``ts``: warp (and mine a block) or wait for it."""
        self.clock.advance_to(ts)

    def profile(self, p: Participant) -> list[int]:
        """``p``'s energy per interval of the schedule (Wh)."""
        return self.schedule.profile(p.profile_wh)

    def each(self, items: Iterable[_T], step: Callable[[_T], object]) -> None:
        """``step`` on every item: in turn, or ``workers`` at a time (first error raised)."""
        todo = list(items)
        if self.workers == 1 or len(todo) < 2:
            for item in todo:
                step(item)
            return
        with ThreadPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            for future in [pool.submit(step, item) for item in todo]:
                future.result()

    def wallets(self) -> list[str]:
        """Every wallet the day signs with (roles, nodes, the market's accounts)."""
        names = [
            "admin",
            "operator",
            "verifier",
            "regulator",
            "dispatch",
            "meter-oracle",
            "credit-agency",
            "clearing-bank",
        ]
        names += [f"node-{p.index + 1}" for p in self.scenario.participants]
        names += [f"node-{GRID_BASE + r.id}" for r in self.scenario.regions]
        names += [f"node-{n}" for n in (BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N)]
        return names

    def fund_gas(self) -> int:
        """On a chain that charges for gas, top up every wallet of the day that holds less
        than ``GAS_LOW_WEI`` to ``GAS_FLOAT_WEI`` from the admin; nothing on a free-gas
        chain (anvil). Returns the number of wallets topped up."""
        admin = self.ctx.sender(self.role("admin"))
        if admin.fees().max_fee_per_gas == 0:
            return 0
        w3 = self.ctx.w3
        sent = []
        for name in self.wallets():
            address = self.ctx.account(name).address
            balance = int(w3.eth.get_balance(address))
            if address != admin.address and balance < GAS_LOW_WEI:
                sent.append(admin.send(address, "0x", value=GAS_FLOAT_WEI - balance, gas=21_000))
        for tx_hash in sent:
            admin.wait(tx_hash)
        if sent:
            self.report(f"gas: {len(sent)} wallets topped up by the admin")
        return len(sent)

    def has(self, contract: str) -> bool:
        return contract in self.ctx.manifest.contracts

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.summary.stage_seconds[name] = round(time.monotonic() - started, 2)

    # ------------------------------------------------------------------ stages

    def run(self) -> DaySummary:
        self.fund_gas()
        for name, step in (
            ("tariffs", self.tariffs),
            ("onboarding", self.onboard),
            ("meters", self.register_meters),
            ("period", self.open_period),
            ("posting", self.post),
            ("taking", self.take),
            ("dispatch", self.dispatch),
            ("metering", self.metering),
            ("settlement", self.settle),
            ("ratings", self.ratings),
            ("surveillance", self.surveillance),
            ("certificates", self.certificates),
        ):
            with self.stage(name):
                step()
        self.conservation()
        return self.summary

    def tariffs(self) -> None:
        regulator = self.ctx.client(TransmissionTariffClient, self.role("regulator"))

        def publish(region: Any) -> None:
            regulator.define_region(region.id, region.name)
            regulator.schedule_stamp_rate(region.id, region.stamp_rate_fen_per_mwh, 0)

        self.each(self.scenario.regions, publish)
        self.each(
            self.scenario.corridors,
            lambda corridor: regulator.set_edge(corridor.a, corridor.b, True),
        )
        self.report(
            f"tariffs: {len(self.scenario.regions)} regions, "
            f"{len(self.scenario.corridors)} corridors published by the regulator"
        )

    def _day_value_fen(self, p: Participant) -> int:
        return sum(p.profile_wh) * p.price_fen_per_mwh // 1_000_000

    def onboard(self) -> None:
        bank = Bank(self.ctx, self.role("clearing-bank"))
        engine = self.has("SettlementEngine")
        total = len(self.scenario.participants)
        lock = threading.Lock()
        done = [0]

        def one(p: Participant) -> None:
            seller = p.side == "seller"
            profile = NodeProfile(
                kind=KINDS[p.kind],
                side=Side.SELLER if seller else Side.BUYER,
                region=p.region,
                capacity_kw=p.capacity_kw,
                carbon_intensity_g_per_kwh=p.carbon_g_per_kwh,
            )
            value = self._day_value_fen(p)
            node = onboard_demo_node(
                self.ctx,
                p.index + 1,
                profile,
                # Sellers back the exposure of a day's sales (10 % of value, twice over).
                extra_bond_fen=value // 5 if seller else 0,
                credit_level=CREDIT[p.credit_level],
            )
            self.accounts[p.index] = node.account
            # Working funds: buyers prepay a day's energy plus transmission; everyone
            # keeps a float for deviation charges.
            funds = value * 2 if not seller else value // 10
            bank.mint(node.address, funds + 1_000_000, f"demo-funds/{p.index + 1}")
            if engine:
                token = self.ctx.client(SettlementTokenClient, node.account)
                token.approve(self.ctx.manifest.address("SettlementEngine"), 2**255)
            self.traders[p.index] = Trader(self.ctx, node.account)
            with lock:
                done[0] += 1
                if done[0] % 10 == 0:
                    self.report(f"onboarded {done[0]}/{total} nodes")

        self.each(self.scenario.participants, one)
        self.accounts = dict(sorted(self.accounts.items()))
        self.traders = dict(sorted(self.traders.items()))
        self.report(
            f"onboarding: {len(self.accounts)} nodes registered, reviewed, qualified, bonded "
            "and funded"
        )

    def register_meters(self) -> None:
        from ledger.clients.oracle import MeterOracleClient
        from ledger.keystore import demo_account
        from oracle import eip712
        from scripts.meter_sim import METER_KEY_BASE, SimMeter

        operator = self.ctx.client(MeterOracleClient, self.role("operator"))
        n = 0
        for p in self.scenario.participants:
            count = max(1, p.meters)
            # A compact schedule's short interval stands for a longer stretch of the day:
            # its meters register the power that delivers that stretch's energy in it.
            per_meter_w = self.schedule.scaled(max(1_000, p.capacity_kw * 1000 // count))
            meters = []
            for k in range(count):
                label = f"MP-{p.index + 1:05d}-{k:03d}"
                meter = SimMeter(
                    label=label,
                    account=demo_account(METER_KEY_BASE + n),
                    capacity_w=per_meter_w,
                    seed=n,
                    interval_s=self.schedule.interval_s,
                )
                meters.append(meter)
                n += 1
            self.meters[p.index] = meters

        def register(p: Participant) -> None:
            node = self.accounts[p.index].address
            for meter in self.meters[p.index]:
                operator.register_meter(
                    eip712.meter_id_bytes(meter.label),
                    node,
                    meter.account.address,
                    meter.capacity_w,
                )

        self.each(self.scenario.participants, register)
        self.summary.meters = n
        self.report(f"meters: {n} metering points registered with their own keys")

    def open_period(self) -> None:
        operator = Trader(self.ctx, self.role("operator"))
        schedule = self.schedule
        now = self.chain_time()
        if schedule.trading_s is None:
            delivery = (now // 3600 + 2) * 3600
            closes = delivery - schedule.gate_s
        else:
            closes = now + schedule.trading_s
            step = schedule.interval_s
            delivery = -(-(closes + schedule.gate_s) // step) * step
        operator.open_period(
            delivery_start=delivery,
            posting_opens_at=now + 1,
            taking_opens_at=now + 1,
            taking_closes_at=closes,
            interval_s=schedule.interval_s,
            intervals=schedule.intervals,
        )
        self.period_id = operator.periods()[-1].id
        self.summary.period_id = self.period_id
        self.set_time(now + 2)
        if schedule.interval_s == INTERVAL_S:
            when, length = "%Y-%m-%d %H:%M", f"{schedule.intervals} quarter-hours"
        else:
            when = "%Y-%m-%d %H:%M:%S"
            length = (
                f"{schedule.intervals} intervals of {schedule.interval_s} s (each standing for "
                f"{schedule.represented_s // 60} minutes of the day); taking closes "
                f"{delivery - closes} s before"
            )
        self.report(
            f"period {self.period_id}: delivery from "
            f"{time.strftime(when, time.gmtime(delivery))} UTC, {length}"
        )

    def post(self) -> None:
        lock = threading.Lock()
        posted = [0]

        def one(p: Participant) -> None:
            trader = self.traders[p.index]
            profile = self.profile(p)
            listings = 0
            if p.side == "seller":
                for first, last in self.blocks:
                    energy = sum(profile[first : last + 1]) * 9 // 10
                    if energy < 1_000_000:
                        continue
                    trader.post(
                        ListingSide.SELL,
                        self.period_id,
                        first,
                        last,
                        energy,
                        p.price_fen_per_mwh,
                        min_take_wh=energy // 50,
                    )
                    listings += 1
            elif p.kind == "retailer":
                # Mode 2: retailers post a third of their first block's demand as a bid.
                first, last = self.blocks[0]
                energy = sum(profile[first : last + 1]) // 3
                if energy >= 1_000_000:
                    trader.post(
                        ListingSide.BUY,
                        self.period_id,
                        first,
                        last,
                        energy,
                        p.price_fen_per_mwh,
                        min_take_wh=energy // 10,
                    )
                    listings += 1
            with lock:
                posted[0] += listings

        self.each(self.scenario.participants, one)
        self.summary.listings = posted[0]
        self.report(f"posting: {posted[0]} listings (sellers in mode 1, retailers in mode 2)")

    def _offers(
        self, book: dict[int, Any], taker: Participant, mode: int, block: tuple[int, int]
    ) -> list[ListingOffer]:
        """The optimiser's offers for ``taker`` among the cached open listings of ``block``."""
        me = self.accounts[taker.index].address
        side = ListingSide.SELL if mode == 1 else ListingSide.BUY
        offers = []
        for x in book.values():
            if (
                x.side != side
                or x.maker == me
                or x.remaining_wh == 0
                or x.status != ListingStatus.OPEN
                or (x.first_interval, x.last_interval) != block
            ):
                continue
            pair = (x.region, taker.region) if mode == 1 else (taker.region, x.region)
            if pair not in self._routes:
                self._routes[pair] = self._tariff.cheapest_route(*pair).sum_rate_fen_per_mwh
            maker = self._by_address[x.maker]
            offers.append(
                ListingOffer(
                    listing_id=x.id,
                    mode=mode,
                    counterparty=x.maker,
                    available_wh=x.remaining_wh,
                    min_take_wh=min(x.min_take_wh, x.remaining_wh),
                    price_fen_per_mwh=x.price_fen_per_mwh,
                    transmission_rate_fen_per_mwh=self._routes[pair],
                    reputation=self._reputation.get(x.maker, 0.5),
                    carbon_g_per_kwh=float(maker.carbon_g_per_kwh) if mode == 1 else 0.0,
                )
            )
        return offers

    def _plan_and_take(
        self,
        book: dict[int, Any],
        taker: Participant,
        mode: int,
        block: tuple[int, int],
        target: int,
    ) -> int:
        offers = self._offers(book, taker, mode, block)
        if target <= 0 or not offers:
            return 0
        try:
            plan = recommend(offers, target, mode, Weights(), allow_partial_fill=True)  # type: ignore[arg-type]
        except (InfeasiblePlanError, GridLedgerError):
            return 0
        if not plan.takes:
            return 0
        report = self.traders[taker.index].execute_plan(plan)
        market = self.traders[taker.index].market
        for step in plan.takes:
            book[step.listing_id] = market.listing(step.listing_id)
        return sum(1 for o in report.outcomes if o.outcome == "taken")

    def take(self) -> None:
        self._tariff = self.ctx.client(TransmissionTariffClient, self.role("operator"))
        self._routes: dict[tuple[int, int], int] = {}
        self._by_address: dict[str, Participant] = {
            self.accounts[p.index].address: p for p in self.scenario.participants
        }
        reader = self.traders[0]
        from node.reputation.api import reputation_fractions

        self._reputation = reputation_fractions(self.ctx, list(self._by_address))
        # Withholders list big and delist before buyers can take (list-and-cancel).
        cancelled = 0
        for p in self.scenario.participants:
            if p.violation is not None and p.violation.value == "withholding":
                trader = self.traders[p.index]
                for x in trader.my_listings():
                    if x.remaining_wh and x.status == ListingStatus.OPEN:
                        trader.cancel(x.id)
                        cancelled += 1
        book = {x.id: x for x in reader.open_listings(period_id=self.period_id)}
        taken = 0
        # Mode 2: sellers take the retailers' bids (a quarter of their first block each).
        first = self.blocks[0]
        for s in [p for p in self.scenario.participants if p.side == "seller"][:4]:
            target = sum(self.profile(s)[first[0] : first[1] + 1]) // 4
            taken += self._plan_and_take(book, s, 2, first, target)
        # Mode 1: every buyer covers 80 % of each block's demand through the optimiser.
        buyers = [p for p in self.scenario.participants if p.side == "buyer"]
        for i, b in enumerate(buyers):
            profile = self.profile(b)
            for block in self.blocks:
                target = sum(profile[block[0] : block[1] + 1]) * 4 // 5
                taken += self._plan_and_take(book, b, 1, block, target)
            if (i + 1) % 10 == 0:
                self.report(f"taking: {i + 1}/{len(buyers)} buyers done, {taken} takes")
        self.summary.listings_cancelled = cancelled
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        trades = [market.trade(t) for t in range(1, market.trade_count() + 1)]
        trades = [t for t in trades if t.period_id == self.period_id]
        self.trade_ids = [t.id for t in trades]
        self.summary.trades = len(trades)
        self.summary.traded_wh = sum(t.energy_wh for t in trades)
        self.report(
            f"taking: {len(trades)} trades, {self.summary.traded_wh / 1e6:,.1f} MWh "
            f"(recommendation optimiser, MILP); {cancelled} withheld listings cancelled"
        )

    # ------------------------------------------------------------------ oracle

    def oracle_ctx(self) -> LedgerContext:
        """The oracle's context: the day's, with the schedule's interval and late-reading
        window when they differ from the settings' (same chain, manifest and database)."""
        settings = self.ctx.settings
        update: dict[str, Any] = {}
        if self.schedule.interval_s != settings.oracle_interval_s:
            update["oracle_interval_s"] = self.schedule.interval_s
        max_age = self.schedule.oracle_max_age_s
        if max_age is not None and max_age != settings.oracle_max_age_s:
            update["oracle_max_age_s"] = max_age
        if not update:
            return self.ctx
        if self._oracle_ctx is None:
            self._oracle_ctx = LedgerContext(
                settings.model_copy(update=update),
                w3=self.ctx.w3,
                store=self.ctx.store,
                manifest=self.ctx.manifest,
            )
        return self._oracle_ctx

    @contextmanager
    def oracle(self) -> Iterator[str]:
        """The oracle's API on a free port, its clock following the chain's."""
        from oracle.app import create_app
        from oracle.service import OracleService
        from oracle.store import OracleBase

        ctx = self.oracle_ctx()
        engine = make_engine(ctx.settings)
        OracleBase.metadata.create_all(engine)
        sessions = session_factory(engine)
        service = OracleService(
            ctx,
            sessions=sessions,
            account=self.role("meter-oracle"),
            clock=lambda: float(self.chain_time()),
        )
        self._oracle_service = service
        app = create_app(
            ctx,
            sessions=sessions,
            account=self.role("meter-oracle"),
            service=service,
            background_interval_s=0.5,
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise GridLedgerError("the oracle did not start")
            time.sleep(0.05)
        try:
            yield url
        finally:
            server.should_exit = True
            thread.join(timeout=30)

    def dispatch(self) -> None:
        from oracle.schemas import DispatchSubmission, Trade
        from scripts.dispatch_sim import security_check, sign_result

        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        self.set_time(period.taking_closes_at + 1)
        # A compact schedule delivers a longer stretch of the day in each interval: the
        # corridors carry the same energy, so their limits scale with it.
        corridors = {
            (str(c.a), str(c.b)): float(self.schedule.scaled(c.limit_mw))
            for c in self.scenario.corridors
        }
        with self.oracle() as url, httpx.Client(base_url=url, timeout=120) as http:
            response = http.get("/dispatch/trades", params={"period": self.period_id})
            response.raise_for_status()
            trades = [Trade.model_validate(t) for t in response.json()]
            results = security_check(trades, corridors)
            key = self.role("dispatch")
            chain_id = self.ctx.w3.eth.chain_id
            contract = self.ctx.manifest.address("DispatchResults")
            signed = [sign_result(key, r, chain_id, contract) for r in results]
            for start in range(0, len(signed), 200):
                sub = DispatchSubmission(
                    chain_id=chain_id,
                    verifying_contract=contract,
                    results=signed[start : start + 200],
                )
                answer = http.post(
                    "/dispatch/results", json=sub.model_dump(mode="json", by_alias=True)
                )
                if not answer.is_success:
                    raise GridLedgerError(f"dispatch results refused: {answer.text}")
            self._drain_relay()
        self.summary.executed_wh = sum(r.executed_wh for r in results)
        self.summary.curtailed_wh = sum(r.curtailed_wh for r in results)
        self.report(
            f"dispatch: {len(results)} trades checked against corridor limits, "
            f"{self.summary.curtailed_wh / 1e6:,.1f} MWh curtailed; results signed by the "
            "DISPATCH key and relayed by the oracle"
        )

    def _drain_relay(self) -> None:
        """Let the oracle's relay send everything it queued (and wait for the receipts)."""
        service = self._oracle_service
        for _ in range(1000):
            service.tick()
            if not service.relay.run_once():
                return
        raise GridLedgerError("the oracle's relay did not drain")

    def _contracted(self) -> dict[int, list[int]]:
        """Per participant and interval: executed contracted energy (sold > 0, bought < 0)."""
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        by_address: dict[str, int] = {a.address: i for i, a in self.accounts.items()}
        intervals = self.schedule.intervals
        out: dict[int, list[int]] = defaultdict(lambda: [0] * intervals)
        for tid in self.trade_ids:
            t = market.trade(tid)
            executed = t.executed_wh if t.status != TradeStatus.FORMED else t.energy_wh
            n = t.last_interval - t.first_interval + 1
            for k in range(t.first_interval, t.last_interval + 1):
                share = executed // n + (1 if k - t.first_interval < executed % n else 0)
                out[by_address[t.seller]][k] += share
                out[by_address[t.buyer]][k] -= share
        return out

    def metering(self) -> None:

        from oracle.schemas import ReadingBatch

        rng = random.Random(self.scenario.seed)
        contracted = self._contracted()
        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        chain_id = self.ctx.w3.eth.chain_id
        contract = self.ctx.manifest.address("MeterOracle")
        accepted = flagged = 0
        interval_s, intervals = self.schedule.interval_s, self.schedule.intervals
        every = max(1, intervals // 4)
        with self.oracle() as url, httpx.Client(base_url=url, timeout=300) as http:
            for k in range(intervals):
                start = period.delivery_start + k * interval_s
                self.set_time(start + interval_s + self.schedule.reading_delay_s)
                signed = []
                for p in self.scenario.participants:
                    net = contracted[p.index][k]
                    skew = 1.0 + rng.gauss(0, 0.03)
                    if p.violation is not None and p.violation.value == "deviation_abuse":
                        skew *= 1.25
                    meters = self.meters[p.index]
                    cap_wh = meters[0].capacity_w * interval_s // 3600
                    per_meter = int(abs(net) * skew) // len(meters)
                    for m in meters:
                        value = min(per_meter, cap_wh)
                        imp, exp = (0, value) if net > 0 else (value, 0)
                        reading = m.reading(start, import_wh=imp, export_wh=exp)
                        signed.append(m.sign(reading, chain_id, contract))
                batch = ReadingBatch(
                    chain_id=chain_id, verifying_contract=contract, readings=signed
                )
                answer = http.post("/readings", json=batch.model_dump(mode="json", by_alias=True))
                body = answer.json()
                accepted += int(body.get("accepted", 0))
                flagged += int(body.get("flagged", 0))
                if (k + 1) % every == 0:
                    self.report(
                        f"metering: {k + 1}/{intervals} intervals, {accepted} readings accepted"
                    )
            service = self._oracle_service
            max_age = self.oracle_ctx().settings.oracle_max_age_s
            self.set_time(period.delivery_end + max_age + self.schedule.close_margin_s)
            self._clear_flags(service)
            try:
                service.close_period(self.period_id)
            except OracleError as exc:
                # The oracle's own background round may have closed it first.
                if exc.reason != "period_posted":
                    raise
            service.tick()
        self.summary.readings_accepted = accepted
        self.summary.readings_flagged = flagged
        self.report(
            f"metering: {accepted} signed readings accepted ({flagged} flagged and reviewed), "
            "anchored as Merkle roots; node totals of the period recorded on chain"
        )

    def _clear_flags(self, service: Any) -> None:
        """The VERIFIER reviews readings the anomaly detector held back (clears them)."""
        while True:
            pending = service.pending_review(limit=500)
            if not pending:
                return
            for row in pending:
                service.review(row.reading_id, "clear", self.role("verifier").address)

    def settle(self) -> None:
        """Settlement: accounts and rates, then every trade, every node's deviation, and
        every payee withdraws what it is owed."""
        if not self.has("SettlementEngine"):
            self.summary.skipped.append("settlement")
            return
        self.open_settlement()
        self.settle_trades()
        self.settle_deviations()
        self.withdraw_all()
        self.report(
            f"settlement: {self.summary.trades_settled}/{len(self.trade_ids)} trades settled, "
            f"deviations of {self.summary.deviation_nodes} nodes settled (a = "
            f"{RAMP_DOWN_FEN_PER_MWH / 100:.0f} CNY/MWh, "
            f"a' = {RAMP_UP_FEN_PER_MWH / 100:.0f} CNY/MWh)"
        )

    def open_settlement(self) -> None:
        """The operator names the grid, balancing and remainder accounts, the dispatch
        center sets the deviation rates and settlement opens (the clock moves past it).
        The steps are independent of each other: with workers they go out together."""
        from ledger.clients.oracle import DispatchResultsClient

        operator = self.ctx.client(SettlementEngineClient, self.role("operator"))
        bank = Bank(self.ctx, self.role("clearing-bank"))
        balancing = self.ctx.account(f"node-{BALANCING_N}")
        dispatcher = self.ctx.client(SettlementEngineClient, self.role("dispatch"))
        results = self.ctx.client(DispatchResultsClient, self.role("operator"))
        steps: list[Callable[[], object]] = [
            functools.partial(
                operator.set_grid_account,
                region.id,
                self.ctx.account(f"node-{GRID_BASE + region.id}").address,
            )
            for region in self.scenario.regions
        ]
        steps += [
            functools.partial(operator.set_balancing_account, balancing.address),
            functools.partial(
                operator.set_remainder_account, self.ctx.account(f"node-{REMAINDER_N}").address
            ),
            functools.partial(
                bank.mint, balancing.address, 50_000_000_000, "demo-balancing-account"
            ),
            functools.partial(
                self.ctx.client(SettlementTokenClient, balancing).approve,
                operator.address,
                2**255,
            ),
            functools.partial(
                dispatcher.set_deviation_rates,
                self.period_id,
                RAMP_DOWN_FEN_PER_MWH,
                RAMP_UP_FEN_PER_MWH,
            ),
        ]
        self.each(steps, lambda step: step())
        # Settlement opens once the schedule's delay has passed, and never before the
        # transaction that schedules it can be mined (a few block periods on a real chain).
        delay = self.schedule.settlement_delay_s
        if not self.clock.warps:
            delay = max(delay, 4 * self.clock.block_period_s())
        opens = self.chain_time() + delay
        results.set_settlement_opens_at(self.period_id, opens)
        self.set_time(opens + 1)

    def settler(self) -> SettlementEngineClient:
        """The engine as the market's settling account (anyone may settle)."""
        return self.ctx.client(SettlementEngineClient, self.ctx.account(f"node-{SETTLER_N}"))

    def settle_trades(self) -> int:
        """Settle the period's trades, 20 to a transaction; returns how many are settled."""
        settler = self.settler()
        for start in range(0, len(self.trade_ids), 20):
            settler.settle_batch(self.trade_ids[start : start + 20])
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        self._settled = [market.trade(t) for t in self.trade_ids]
        self.summary.trades_settled = sum(
            1 for t in self._settled if t.status == TradeStatus.SETTLED
        )
        return self.summary.trades_settled

    def settle_deviations(self) -> None:
        """Settle every trading node's deviation (metered against contracted energy)."""
        settler = self.settler()
        settled = self._settled
        nodes = {t.seller for t in settled} | {t.buyer for t in settled}
        lock = threading.Lock()

        def one(node: str) -> None:
            try:
                self._settle_deviation(settler, node)
            except ContractRevertError as exc:
                self.report(f"deviation of {node} not settled: {exc}")
                return
            with lock:
                self.summary.deviation_nodes += 1

        self.each(sorted(nodes), one)

    def withdraw_all(self) -> None:
        """Every node and grid account withdraws what the engine owes it."""
        payees = list(self.accounts.values())
        payees += [self.ctx.account(f"node-{GRID_BASE + r.id}") for r in self.scenario.regions]

        def withdraw(account: LocalAccount) -> None:
            engine = self.ctx.client(SettlementEngineClient, account)
            if engine.claimable_of(account.address):
                engine.withdraw()

        self.each(payees, withdraw)

    def _settle_deviation(self, settler: SettlementEngineClient, node: str) -> None:
        """Settle ``node``'s deviation, first counting its trades page by page if needed."""
        for _ in range(100):
            try:
                settler.settle_deviation(node, self.period_id)
                return
            except ContractRevertError as exc:
                if exc.name != "TradeCountIncomplete":
                    raise
                settler.count_trades(node, 32)
        raise GridLedgerError(f"could not count the trades of {node}")

    def ratings(self) -> None:
        """Both parties of every settled trade rate each other (1-5)."""
        if not self.has("ReputationLedger"):
            self.summary.skipped.append("ratings")
            return

        from node.reputation.api import ReputationDesk, reputation_fractions

        rng = random.Random(self.scenario.seed + 7)
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        by_address: dict[str, Participant] = {
            a.address: self._by_address[a.address] for a in self.accounts.values()
        }
        # (rater, trade, score) in trade order; each rater's in turn, raters side by side.
        by_rater: dict[int, list[tuple[int, int]]] = defaultdict(list)
        jobs: list[tuple[int, int, int]] = []
        for tid in self.trade_ids:
            t = market.trade(tid)
            for rater, ratee in ((t.buyer, t.seller), (t.seller, t.buyer)):
                me, other = by_address[rater], by_address[ratee]
                score = self._score(rng, me, other)
                jobs.append((me.index, tid, score))
                by_rater[me.index].append((tid, score))

        def rate(index: int, tid: int, score: int) -> None:
            ReputationDesk(self.ctx, self.accounts[index]).rate(tid, score)

        def rate_all(item: tuple[int, list[tuple[int, int]]]) -> None:
            for tid, score in item[1]:
                rate(item[0], tid, score)

        if self.workers == 1:
            for job in jobs:
                rate(*job)
        else:
            self.each(by_rater.items(), rate_all)
        ratings = len(jobs)
        self.summary.ratings = ratings
        fractions = reputation_fractions(self.ctx, list(by_address))
        low = min(fractions.values(), default=0.0)
        high = max(fractions.values(), default=0.0)
        self.report(
            f"ratings: {ratings} mutual ratings; reputation now {low * 1000:.0f}..{high * 1000:.0f}"
            " of 1000 (feeds the recommendation optimiser of the next day)"
        )

    @staticmethod
    def _score(rng: random.Random, me: Participant, other: Participant) -> int:
        ring = me.violation is not None and me.violation.value == "rating_ring"
        if ring:
            return 5 if other.ring == me.ring else 1
        if other.violation is not None and other.violation.value == "deviation_abuse":
            return rng.choice([1, 2, 2, 3])
        return rng.choice([3, 4, 4, 5, 5, 5])

    def surveillance(self) -> None:
        """Score every node on the day's chain history with the shipped model; an honest node
        files one report on the top-scoring node (only if its score passes the registered
        threshold), the accused responds and REGULATOR rules it."""
        if "SurveillanceDesk" not in self.ctx.manifest.contracts:
            self.summary.skipped.append("surveillance")
            return
        from ledger.clients.surveillance import SurveillanceDeskClient
        from node.surveillance import onchain
        from node.surveillance.chain import ChainHistorySource
        from node.surveillance.history import collect
        from node.surveillance.model import SurveillanceModel
        from node.surveillance.scan import build_report, scan

        model = SurveillanceModel.load()
        regulator = self.ctx.client(SurveillanceDeskClient, self.role("regulator"))
        if not regulator.is_model_registered(model.model_id):
            onchain.register_model(regulator, model)
        threshold = regulator.model_info(model.model_id).threshold_ppm
        reader = self.role("regulator")
        history = collect(ChainHistorySource(self.ctx, reader), self.period_id, self.period_id)
        result = scan(history, model)
        flagged = sum(1 for r in result.rows if r.score_ppm >= threshold)
        rank = {r.node: i + 1 for i, r in enumerate(result.rows)}
        violators = [p for p in self.scenario.participants if p.violation is not None]
        ranks = sorted(
            (rank.get(self.accounts[p.index].address, len(rank) + 1), p) for p in violators
        )
        in_top = sum(1 for r, _ in ranks if r <= len(violators))
        ranked = ", ".join(f"{p.name} ({p.violation.value}) #{r}" for r, p in ranks if p.violation)
        top = result.rows[0] if result.rows else None
        top_score = top.score_ppm if top else 0
        window = model.metadata.plan.window_periods
        note = (
            f" (the model was trained on {window}-period windows of 7 days; this demo has one "
            "period, so scores run low)"
            if top_score < threshold
            else ""
        )
        head = (
            f"surveillance: {len(result.rows)} nodes scored, {flagged} at or above the "
            f"threshold {threshold} ppm, top score {top_score} ppm; injected violators "
            f"{in_top}/{len(violators)} in the top {len(violators)} ({ranked})"
        )
        if top is None or top_score < threshold:
            self.report(
                f"{head}; no report filed: top score {top_score} below threshold {threshold}{note}"
            )
            return
        registry = self.ctx.client(NodeRegistryClient, reader)
        report = build_report(history, top.node, model)
        accused = self._by_address.get(top.node)
        reporter = next(
            (
                p
                for p in self.scenario.participants
                if self.accounts[p.index].address != top.node
                and p.violation is None
                and registry.is_active(self.accounts[p.index].address)
            ),
            None,
        )
        if reporter is None or accused is None or not onchain.evidence_trade_ids(report):
            self.report(f"{head}; no report filed: no active honest reporter or no evidence{note}")
            return
        desk = self.ctx.client(SurveillanceDeskClient, self.accounts[reporter.index])
        filed = onchain.file_report(desk, report)
        self.ctx.client(SurveillanceDeskClient, self.accounts[accused.index]).respond(
            filed.report_id,
            onchain.document_hash(text=f"{accused.name}: response to report #{filed.report_id}"),
        )
        # The regulator's investigation is simulated by the scenario's ground truth: a report
        # on an injected violator is confirmed with a penalty, any other is dismissed.
        confirmed = accused.violation is not None
        onchain.rule(
            regulator,
            filed.report_id,
            confirmed=confirmed,
            reason_hash=onchain.document_hash(
                text=f"report #{filed.report_id} {'confirmed' if confirmed else 'dismissed'}"
            ),
            penalty_fen=500_000 if confirmed else 0,
            reputation_points=50 if confirmed else 0,
        )
        info = regulator.report_info(filed.report_id)
        self.summary.violations_reported = 1
        kind = accused.violation.value if accused.violation else "no injected violation"
        ruling = (
            f"REGULATOR confirmed it: bond slashed {info.slashed_fen:,} fen, "
            f"{info.reputation_points} reputation points"
            if confirmed
            else "REGULATOR dismissed it after investigation (no violation)"
        )
        self.report(
            f"{head}; {reporter.name} reported {accused.name} ({kind}, score {report.score_ppm}"
            f" ppm, {len(filed.trade_ids)} evidence trades) as report #{filed.report_id}; "
            f"the accused responded; {ruling}{note}"
        )

    def certificates(self) -> None:
        if not self.has("QuotaLedger"):
            self.summary.skipped.append("certificates")
            return
        from ledger.clients.certificates import (
            CertificateMarketClient,
            GreenCertificateClient,
            QuotaLedgerClient,
        )

        anyone = self.ctx.account(f"node-{SETTLER_N}")
        regulator = self.ctx.client(QuotaLedgerClient, self.role("regulator"))
        deadline = self.chain_time() + 3600
        regulator.set_quota(self.period_id, QUOTA_WEIGHT_BPS, deadline, FINE_FEN_PER_MWH)
        regulator.set_fund_account(self.ctx.account(f"node-{FUND_N}").address)
        certs = self.ctx.client(GreenCertificateClient, anyone)
        green = [p for p in self.scenario.participants if p.kind in ("wind", "solar")]
        amounts: dict[int, int] = {}

        def issue(p: Participant) -> None:
            receipt = certs.issue(self.accounts[p.index].address, self.period_id)
            amounts[p.index] = int(certs.issued_event(receipt).get("amount", 0))

        self.each(green, issue)
        issued = sum(amounts.values())
        quota = self.ctx.client(QuotaLedgerClient, anyone)
        market = self.ctx.client(TradingMarketClient, anyone)
        green_sellers = {self.accounts[p.index].address for p in green}
        clean = [tid for tid in self.trade_ids if market.trade(tid).seller in green_sellers]
        self.each(clean, quota.cover_trade)
        covered_trades = len(clean)
        # One-way listing: generators post what they still hold; short parties take and retire.
        cert_market = self.ctx.client(CertificateMarketClient, anyone)

        def offer(p: Participant) -> None:
            gen = self.accounts[p.index]
            tid = certs.token_id_of(int(KINDS[p.kind]), gen.address, self.period_id)
            held = certs.balance_of(gen.address, tid)
            if held:
                self.ctx.client(GreenCertificateClient, gen).set_approval_for_all(
                    cert_market.address, True
                )
                self.ctx.client(CertificateMarketClient, gen).post(tid, held, CERT_PRICE_FEN)

        self.each(green, offer)
        bought = 0
        for p in self.scenario.participants:
            if p.side != "buyer":
                continue
            buyer = self.accounts[p.index]
            view = quota.compliance_of(buyer.address, self.period_id)
            need = -(-view.shortfall_wh // 1_000_000)
            if need <= 0 or p.violation is not None:
                continue  # violators are left to be fined
            mine = self.ctx.client(CertificateMarketClient, buyer)
            token = self.ctx.client(SettlementTokenClient, buyer)
            for listing in cert_market.open_listings():
                if need <= 0:
                    break
                amount = min(need, listing.remaining)
                token.approve(cert_market.address, amount * listing.price_fen_per_certificate)
                mine.take(listing.id, amount, listing.price_fen_per_certificate)
                self.ctx.client(QuotaLedgerClient, buyer).retire(
                    listing.token_id, amount, buyer.address, self.period_id
                )
                need -= amount
                bought += amount
        if not self.clock.warps:
            # Real time: bring the deadline forward to just after the day's quota actions.
            close_s = max(self.schedule.quota_close_s, 4 * self.clock.block_period_s())
            deadline = self.chain_time() + close_s
            regulator.set_quota(self.period_id, QUOTA_WEIGHT_BPS, deadline, FINE_FEN_PER_MWH)
        self.set_time(deadline + 1)
        buyers = [
            self.accounts[p.index].address for p in self.scenario.participants if p.side == "buyer"
        ]
        self.each(buyers, lambda buyer: quota.assess(buyer, self.period_id))
        fined = sum(1 for buyer in buyers if quota.compliance_of(buyer, self.period_id).fine_fen)
        self.summary.certificates_issued = issued
        self.report(
            f"certificates: {issued} issued (1 per MWh of metered green generation), "
            f"{covered_trades} clean trades covered, {bought} bought on the one-way market "
            f"and retired, {fined} parties fined after the deadline"
        )

    # ------------------------------------------------------------------ checks

    def known_accounts(self) -> list[str]:
        out = [a.address for a in self.accounts.values()]
        out += [self.ctx.account(f"node-{GRID_BASE + r.id}").address for r in self.scenario.regions]
        out += [
            self.ctx.account(f"node-{n}").address
            for n in (BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N)
        ]
        for wallet in (
            "admin",
            "operator",
            "verifier",
            "regulator",
            "dispatch",
            "meter-oracle",
            "credit-agency",
            "clearing-bank",
        ):
            out.append(self.role(wallet).address)
        return sorted(set(out))

    def conservation(self) -> None:
        """Total supply against every wallet plus what each contract holds, to the fen."""
        token = self.ctx.client(SettlementTokenClient, self.role("operator"))
        wallets = sum(token.balance_of(a) for a in self.known_accounts())
        held = sum(token.balance_of(c.address) for c in self.ctx.manifest.contracts.values())
        self.summary.total_supply_fen = token.total_supply()
        self.summary.accounted_fen = wallets + held
        self.summary.conserved = self.summary.total_supply_fen == self.summary.accounted_fen


def _checksum(address: str) -> str:
    return Web3.to_checksum_address(address)


__all__ = ["DaySummary", "MarketDay", "NodeRegistryClient"]
