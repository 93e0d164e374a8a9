"""One market day of a scenario, end to end on a real chain, through the real services.

Stages (each reports progress): tariffs, onboarding (registration, review, bonds, funds),
meters, the delivery period, posting (both modes), taking through the recommendation
optimiser, the dispatch center's security check (through the oracle's API), signed meter
readings every quarter-hour (through the oracle's API), the period's meter totals,
settlement (trades, then deviations), ratings, surveillance, certificates and quotas,
then the gateway's index. Stages whose contracts are not deployed are reported as skipped.

Time-lapse: the delivery day is compressed by moving the chain's clock forward with anvil's
``evm_setNextBlockTimestamp`` (a development-chain feature); the oracle's clock follows the
chain's, so every check (windows, reading ages) runs exactly as it would in real time.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field
from web3 import Web3

from ledger.chain import free_port
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, ListingStatus, TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.db import make_engine, session_factory
from ledger.errors import ContractRevertError, GridLedgerError
from node.optimizer import InfeasiblePlanError, ListingOffer, Weights, recommend
from node.participant import Bank, NodeProfile, onboard_demo_node
from node.trading import Trader
from scripts.scenario import INTERVAL_S, Participant, Scenario

Report = Callable[[str], None]

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
#: Four delivery blocks of six hours each (intervals 0-23, 24-47, 48-71, 72-95).
BLOCKS = [(0, 23), (24, 47), (48, 71), (72, 95)]
#: Wallet numbers of the market's infrastructure accounts (participants are node-1...).
GRID_BASE, BALANCING_N, REMAINDER_N, SETTLER_N = 9000, 9100, 9101, 9102
#: Reserve regulation prices of the day (fen/MWh): a (ramp-down, received), a' (paid).
RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH = 12_000, 45_000
#: Renewable consumption weight of the day (basis points of consumption), the fine for
#: each MWh short after the deadline, and the generators' asking price per certificate.
QUOTA_WEIGHT_BPS, FINE_FEN_PER_MWH, CERT_PRICE_FEN = 1_800, 8_000, 3_000
FUND_N = 9103


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
    """Runs one delivery day of ``scenario`` on the chain behind ``ctx`` (demo keys)."""

    def __init__(self, ctx: LedgerContext, scenario: Scenario, report: Report) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.report = report
        self.summary = DaySummary(participants=len(scenario.participants))
        self.accounts: dict[int, LocalAccount] = {}
        self.traders: dict[int, Trader] = {}
        self.meters: dict[int, list[Any]] = {}
        self.period_id = 0
        self.trade_ids: list[int] = []
        self._oracle_url = ""
        self._oracle_service: Any = None

    # ------------------------------------------------------------------ helpers

    def role(self, wallet: str) -> LocalAccount:
        return self.ctx.account(wallet)

    def account(self, p: Participant) -> LocalAccount:
        return self.ctx.account(f"node-{p.index + 1}")

    def chain_time(self) -> int:
        return int(self.ctx.w3.eth.get_block("latest")["timestamp"])

    def set_time(self, ts: int) -> None:
        """Move the chain's clock to ``ts`` (never backwards) and mine a block."""
        now = self.chain_time()
        if ts > now:
            self.ctx.w3.provider.make_request("evm_setNextBlockTimestamp", [ts])  # type: ignore[arg-type]
        self.ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def has(self, contract: str) -> bool:
        return contract in self.ctx.manifest.contracts

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.summary.stage_seconds[name] = round(time.monotonic() - started, 2)

    # ------------------------------------------------------------------ stages

    def run(self) -> DaySummary:
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
        for region in self.scenario.regions:
            regulator.define_region(region.id, region.name)
            regulator.schedule_stamp_rate(region.id, region.stamp_rate_fen_per_mwh, 0)
        for corridor in self.scenario.corridors:
            regulator.set_edge(corridor.a, corridor.b, True)
        self.report(
            f"tariffs: {len(self.scenario.regions)} regions, "
            f"{len(self.scenario.corridors)} corridors published by the regulator"
        )

    def _day_value_fen(self, p: Participant) -> int:
        return sum(p.profile_wh) * p.price_fen_per_mwh // 1_000_000

    def onboard(self) -> None:
        bank = Bank(self.ctx, self.role("clearing-bank"))
        engine = self.has("SettlementEngine")
        for p in self.scenario.participants:
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
            if (p.index + 1) % 10 == 0:
                self.report(f"onboarded {p.index + 1}/{len(self.scenario.participants)} nodes")
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
            node = self.accounts[p.index].address
            count = max(1, p.meters)
            per_meter_w = max(1_000, p.capacity_kw * 1000 // count)
            meters = []
            for k in range(count):
                label = f"MP-{p.index + 1:05d}-{k:03d}"
                meter = SimMeter(
                    label=label,
                    account=demo_account(METER_KEY_BASE + n),
                    capacity_w=per_meter_w,
                    seed=n,
                )
                operator.register_meter(
                    eip712.meter_id_bytes(label), node, meter.account.address, per_meter_w
                )
                meters.append(meter)
                n += 1
            self.meters[p.index] = meters
        self.summary.meters = n
        self.report(f"meters: {n} metering points registered with their own keys")

    def open_period(self) -> None:
        operator = Trader(self.ctx, self.role("operator"))
        now = self.chain_time()
        delivery = (now // 3600 + 2) * 3600
        operator.open_period(
            delivery_start=delivery,
            posting_opens_at=now + 1,
            taking_opens_at=now + 1,
            taking_closes_at=delivery - 900,
        )
        self.period_id = operator.periods()[-1].id
        self.summary.period_id = self.period_id
        self.set_time(now + 2)
        self.report(
            f"period {self.period_id}: delivery from "
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(delivery))} UTC, 96 quarter-hours"
        )

    def post(self) -> None:
        listings = 0
        for p in self.scenario.participants:
            trader = self.traders[p.index]
            if p.side == "seller":
                for first, last in BLOCKS:
                    energy = sum(p.profile_wh[first : last + 1]) * 9 // 10
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
                first, last = BLOCKS[0]
                energy = sum(p.profile_wh[first : last + 1]) // 3
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
        self.summary.listings = listings
        self.report(f"posting: {listings} listings (sellers in mode 1, retailers in mode 2)")

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
                    mode=mode,  # type: ignore[arg-type]
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
        self._by_address = {self.accounts[p.index].address: p for p in self.scenario.participants}
        reader = self.traders[0]
        from node.reputation import reputation_fractions

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
        for s in [p for p in self.scenario.participants if p.side == "seller"][:4]:
            taken += self._plan_and_take(book, s, 2, BLOCKS[0], sum(s.profile_wh[:24]) // 4)
        # Mode 1: every buyer covers 80 % of each block's demand through the optimiser.
        buyers = [p for p in self.scenario.participants if p.side == "buyer"]
        for i, b in enumerate(buyers):
            for block in BLOCKS:
                target = sum(b.profile_wh[block[0] : block[1] + 1]) * 4 // 5
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

    @contextmanager
    def oracle(self) -> Iterator[str]:
        """The oracle's API on a free port, its clock following the chain's."""
        from oracle.app import create_app
        from oracle.service import OracleService
        from oracle.store import OracleBase

        engine = make_engine(self.ctx.settings)
        OracleBase.metadata.create_all(engine)
        sessions = session_factory(engine)
        service = OracleService(
            self.ctx,
            sessions=sessions,
            account=self.role("meter-oracle"),
            clock=lambda: float(self.chain_time()),
        )
        self._oracle_service = service
        app = create_app(
            self.ctx,
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
        from oracle.models import DispatchSubmission, Trade
        from scripts.dispatch_sim import security_check, sign_result

        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        self.set_time(period.taking_closes_at + 1)
        corridors = {(str(c.a), str(c.b)): float(c.limit_mw) for c in self.scenario.corridors}
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
        by_address = {a.address: i for i, a in self.accounts.items()}
        out: dict[int, list[int]] = defaultdict(lambda: [0] * 96)
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
        import random

        from oracle.models import ReadingBatch

        rng = random.Random(self.scenario.seed)
        contracted = self._contracted()
        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        chain_id = self.ctx.w3.eth.chain_id
        contract = self.ctx.manifest.address("MeterOracle")
        accepted = flagged = 0
        with self.oracle() as url, httpx.Client(base_url=url, timeout=300) as http:
            for k in range(96):
                start = period.delivery_start + k * INTERVAL_S
                self.set_time(start + INTERVAL_S + 30)
                signed = []
                for p in self.scenario.participants:
                    net = contracted[p.index][k]
                    skew = 1.0 + rng.gauss(0, 0.03)
                    if p.violation is not None and p.violation.value == "deviation_abuse":
                        skew *= 1.25
                    meters = self.meters[p.index]
                    cap_wh = meters[0].capacity_w * INTERVAL_S // 3600
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
                if (k + 1) % 24 == 0:
                    self.report(f"metering: {k + 1}/96 quarter-hours, {accepted} readings accepted")
            service = self._oracle_service
            self.set_time(period.delivery_end + self.ctx.settings.oracle_max_age_s + 60)
            self._clear_flags(service)
            service.close_period(self.period_id)
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
        if not self.has("SettlementEngine"):
            self.summary.skipped.append("settlement")
            return
        from ledger.clients.oracle import DispatchResultsClient

        operator = self.ctx.client(SettlementEngineClient, self.role("operator"))
        bank = Bank(self.ctx, self.role("clearing-bank"))
        for region in self.scenario.regions:
            operator.set_grid_account(
                region.id, self.ctx.account(f"node-{GRID_BASE + region.id}").address
            )
        balancing = self.ctx.account(f"node-{BALANCING_N}")
        operator.set_balancing_account(balancing.address)
        operator.set_remainder_account(self.ctx.account(f"node-{REMAINDER_N}").address)
        bank.mint(balancing.address, 50_000_000_000, "demo-balancing-account")
        self.ctx.client(SettlementTokenClient, balancing).approve(operator.address, 2**255)
        dispatcher = self.ctx.client(SettlementEngineClient, self.role("dispatch"))
        dispatcher.set_deviation_rates(self.period_id, RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH)
        results = self.ctx.client(DispatchResultsClient, self.role("operator"))
        opens = self.chain_time() + 5
        results.set_settlement_opens_at(self.period_id, opens)
        self.set_time(opens + 1)
        settler = self.ctx.client(SettlementEngineClient, self.ctx.account(f"node-{SETTLER_N}"))
        for start in range(0, len(self.trade_ids), 20):
            settler.settle_batch(self.trade_ids[start : start + 20])
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        settled = [market.trade(t) for t in self.trade_ids]
        self.summary.trades_settled = sum(1 for t in settled if t.status == TradeStatus.SETTLED)
        nodes = {t.seller for t in settled} | {t.buyer for t in settled}
        for node in sorted(nodes):
            try:
                self._settle_deviation(settler, node)
            except ContractRevertError as exc:
                self.report(f"deviation of {node} not settled: {exc}")
                continue
            self.summary.deviation_nodes += 1
        for account in self.accounts.values():
            engine = self.ctx.client(SettlementEngineClient, account)
            if engine.claimable_of(account.address):
                engine.withdraw()
        for region in self.scenario.regions:
            grid = self.ctx.account(f"node-{GRID_BASE + region.id}")
            engine = self.ctx.client(SettlementEngineClient, grid)
            if engine.claimable_of(grid.address):
                engine.withdraw()
        self.report(
            f"settlement: {self.summary.trades_settled}/{len(self.trade_ids)} trades settled, "
            f"deviations of {self.summary.deviation_nodes} nodes settled (a = "
            f"{RAMP_DOWN_FEN_PER_MWH / 100:.0f} CNY/MWh, "
            f"a' = {RAMP_UP_FEN_PER_MWH / 100:.0f} CNY/MWh)"
        )

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
        import random

        from node.reputation import ReputationDesk, reputation_fractions

        rng = random.Random(self.scenario.seed + 7)
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        by_address = {a.address: self._by_address[a.address] for a in self.accounts.values()}
        ratings = 0
        for tid in self.trade_ids:
            t = market.trade(tid)
            for rater, ratee in ((t.buyer, t.seller), (t.seller, t.buyer)):
                me, other = by_address[rater], by_address[ratee]
                score = self._score(rng, me, other)
                ReputationDesk(self.ctx, self.accounts[me.index]).rate(tid, score)
                ratings += 1
        self.summary.ratings = ratings
        fractions = reputation_fractions(self.ctx, list(by_address))
        low = min(fractions.values(), default=0.0)
        high = max(fractions.values(), default=0.0)
        self.report(
            f"ratings: {ratings} mutual ratings; reputation now {low * 1000:.0f}..{high * 1000:.0f}"
            " of 1000 (feeds the recommendation optimiser of the next day)"
        )

    @staticmethod
    def _score(rng: Any, me: Participant, other: Participant) -> int:
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
        issued = 0
        for p in green:
            receipt = certs.issue(self.accounts[p.index].address, self.period_id)
            issued += int(certs.issued_event(receipt).get("amount", 0))
        quota = self.ctx.client(QuotaLedgerClient, anyone)
        market = self.ctx.client(TradingMarketClient, anyone)
        green_sellers = {self.accounts[p.index].address for p in green}
        covered_trades = 0
        for tid in self.trade_ids:
            if market.trade(tid).seller in green_sellers:
                quota.cover_trade(tid)
                covered_trades += 1
        # One-way listing: generators post what they still hold; short parties take and retire.
        cert_market = self.ctx.client(CertificateMarketClient, anyone)
        for p in green:
            gen = self.accounts[p.index]
            tid = certs.token_id_of(int(KINDS[p.kind]), gen.address, self.period_id)
            held = certs.balance_of(gen.address, tid)
            if held:
                self.ctx.client(GreenCertificateClient, gen).set_approval_for_all(
                    cert_market.address, True
                )
                self.ctx.client(CertificateMarketClient, gen).post(tid, held, CERT_PRICE_FEN)
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
        self.set_time(deadline + 1)
        fined = 0
        for p in self.scenario.participants:
            if p.side == "buyer":
                quota.assess(self.accounts[p.index].address, self.period_id)
                view = quota.compliance_of(self.accounts[p.index].address, self.period_id)
                fined += 1 if view.fine_fen else 0
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
