"""The demo engine's market stages: tariffs, onboarding, meters, the period, posting and
taking (through the recommendation optimiser), by the rules of :mod:`scripts.day.plan`."""

from __future__ import annotations

import threading
import time
from typing import Any

from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingStatus, TradingMarketClient
from ledger.errors import GridLedgerError
from ledger.scenario import INTERVAL_S, Participant
from node.registry.participant import Bank, NodeProfile, onboard_demo_node
from node.trading.optimizer import InfeasiblePlanError, ListingOffer, Weights, recommend
from node.trading.trader import Trader
from scripts.day import plan
from scripts.day.demo_base import DemoBase


class MarketStages(DemoBase):
    """Tariffs, onboarding, meters, the period, posting and taking."""

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

    def onboard(self) -> None:
        bank = Bank(self.ctx, self.role("clearing-bank"))
        engine = self.has("SettlementEngine")
        total = len(self.scenario.participants)
        lock = threading.Lock()
        done = [0]

        def one(p: Participant) -> None:
            profile = NodeProfile(
                kind=plan.KINDS[p.kind],
                side=plan.registry_side(p),
                region=p.region,
                capacity_kw=p.capacity_kw,
                carbon_intensity_g_per_kwh=p.carbon_g_per_kwh,
            )
            node = onboard_demo_node(
                self.ctx,
                p.index + 1,
                profile,
                extra_bond_fen=plan.extra_bond_fen(p),
                credit_level=plan.CREDIT[p.credit_level],
            )
            self.accounts[p.index] = node.account
            bank.mint(node.address, plan.working_funds_fen(p), f"demo-funds/{p.index + 1}")
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
            # A compact schedule's short interval stands for a longer stretch of the day:
            # its meters register the power that delivers that stretch's energy in it.
            per_meter_w = self.schedule.scaled(plan.meter_power_w(p))
            meters = []
            for k in range(plan.meter_count(p)):
                meter = SimMeter(
                    label=plan.meter_label(p, k),
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
        delivery, closes = schedule.period_times(now)
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
            wanted = plan.postings(p, self.profile(p), self.blocks)
            for x in wanted:
                first, last = self.blocks[x.block]
                trader.post(
                    x.side,
                    self.period_id,
                    first,
                    last,
                    x.energy_wh,
                    p.price_fen_per_mwh,
                    min_take_wh=x.min_take_wh,
                )
            with lock:
                posted[0] += len(wanted)

        self.each(self.scenario.participants, one)
        self.summary.listings = posted[0]
        self.report(f"posting: {posted[0]} listings (sellers in mode 1, retailers in mode 2)")

    def _offers(
        self, book: dict[int, Any], taker: Participant, mode: int, block: tuple[int, int]
    ) -> list[ListingOffer]:
        """The optimiser's offers for ``taker`` among the cached open listings of ``block``."""
        me = self.accounts[taker.index].address
        side = plan.listing_side(mode)
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
            offers.append(
                plan.listing_offer(
                    listing_id=x.id,
                    mode=mode,
                    counterparty=x.maker,
                    available_wh=x.remaining_wh,
                    min_take_wh=min(x.min_take_wh, x.remaining_wh),
                    price_fen_per_mwh=x.price_fen_per_mwh,
                    transmission_rate_fen_per_mwh=self._routes[pair],
                    reputation=self._reputation.get(x.maker, 0.5),
                    carbon_g_per_kwh=self._by_address[x.maker].carbon_g_per_kwh,
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
            found = recommend(offers, target, mode, Weights(), allow_partial_fill=True)  # type: ignore[arg-type]
        except (InfeasiblePlanError, GridLedgerError):
            return 0
        if not found.takes:
            return 0
        report = self.traders[taker.index].execute_plan(found)
        market = self.traders[taker.index].market
        for step in found.takes:
            book[step.listing_id] = market.listing(step.listing_id)
        return sum(1 for o in report.outcomes if o.outcome == "taken")

    def _withhold(self) -> int:
        """Withholders cancel their open listings; how many were cancelled."""
        cancelled = 0
        for p in self.scenario.participants:
            if plan.withholds(p):
                trader = self.traders[p.index]
                for x in trader.my_listings():
                    if x.remaining_wh and x.status == ListingStatus.OPEN:
                        trader.cancel(x.id)
                        cancelled += 1
        return cancelled

    def take(self) -> None:
        from node.reputation.api import reputation_fractions

        self._tariff = self.ctx.client(TransmissionTariffClient, self.role("operator"))
        self._routes = {}
        self._by_address = {self.accounts[p.index].address: p for p in self.scenario.participants}
        reader = self.traders[0]
        self._reputation = reputation_fractions(self.ctx, list(self._by_address))
        cancelled = self._withhold()
        book = {x.id: x for x in reader.open_listings(period_id=self.period_id)}
        taken = 0
        first = self.blocks[0]
        for s in plan.mode2_takers(self.scenario.participants):
            target = plan.mode2_target_wh(self.profile(s), self.blocks)
            taken += self._plan_and_take(book, s, 2, first, target)
        buyers = plan.mode1_takers(self.scenario.participants)
        for i, b in enumerate(buyers):
            profile = self.profile(b)
            for block in self.blocks:
                target = plan.mode1_target_wh(profile, block)
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
