"""The demo engine's delivery stages: the dispatch center's security check and signed
meter readings (both through the oracle's API), then settlement (trades, deviations,
withdrawals), by the rules of :mod:`scripts.day.plan`."""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.errors import ContractRevertError, GridLedgerError
from node.registry.participant import Bank
from node.trading.trader import Trader
from oracle.errors import OracleError
from scripts.day import plan
from scripts.day.demo_base import DemoBase
from scripts.day.feeders import HISTORY_DAYS, check_feeders


class DeliveryStages(DemoBase):
    """Dispatch, metering and settlement."""

    def dispatch(self) -> None:
        from oracle.schemas import Trade
        from scripts.dispatch_sim import security_check, sign_batch

        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        self.set_time(period.taking_closes_at + 1)
        corridors = plan.corridor_limits(self.scenario, self.schedule.scaled)
        with self.oracle() as http:
            response = http.get("/dispatch/trades", params={"period": self.period_id})
            response.raise_for_status()
            trades = [Trade.model_validate(t) for t in response.json()]
            results = security_check(trades, corridors)
            key = self.role("dispatch")
            chain_id = self.ctx.w3.eth.chain_id
            contract = self.ctx.manifest.address("DispatchResults")
            for start in range(0, len(results), 200):
                sub = sign_batch(key, results[start : start + 200], chain_id, contract)
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
            for k, share in plan.spread_wh(executed, t.first_interval, t.last_interval):
                out[by_address[t.seller]][k] += share
                out[by_address[t.buyer]][k] -= share
        return out

    def metering(self) -> None:

        from oracle.schemas import ReadingBatch

        rng = plan.metering_rng(self.scenario)
        contracted = self._contracted()
        period = Trader(self.ctx, self.role("operator")).market.period(self.period_id)
        chain_id = self.ctx.w3.eth.chain_id
        contract = self.ctx.manifest.address("MeterOracle")
        accepted = flagged = 0
        interval_s, intervals = self.schedule.interval_s, self.schedule.intervals
        every = max(1, intervals // 4)
        with self.oracle() as http:
            for k in range(intervals):
                start = period.delivery_start + k * interval_s
                self.set_time(start + interval_s + self.schedule.reading_delay_s)
                signed = []
                for p in self.scenario.participants:
                    net = contracted[p.index][k]
                    skew = plan.meter_skew(rng, p)
                    meters = self.meters[p.index]
                    cap_wh = plan.meter_cap_wh(meters[0].capacity_w, interval_s)
                    value = plan.metered_per_meter_wh(net, skew, len(meters), cap_wh)
                    for m in meters:
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
            self._feeders(service, period.delivery_start)
        self.summary.readings_accepted = accepted
        self.summary.readings_flagged = flagged
        self.report(
            f"metering: {accepted} signed readings accepted ({flagged} flagged and reviewed), "
            "anchored as Merkle roots; node totals of the period recorded on chain"
        )

    def _feeders(self, service: Any, delivery_start: int) -> None:
        """The oracle's tamper watch over the feeder history (:mod:`scripts.day.feeders`)."""
        nodes = {p.name: self.accounts[p.index].address for p in self.scenario.participants}
        verifier = self.role("verifier").address
        out = check_feeders(service, self.scenario, nodes, delivery_start, verifier)
        self.summary.tamper = out
        hits = len(set(out.flagged) & set(out.injected))
        self.report(
            f"feeders: {out.feeders} feeder meters over {out.customer_meters} customer meters, "
            f"{HISTORY_DAYS} days; the oracle flagged {len(out.flagged)} tampered meters "
            f"({hits}/{len(out.injected)} injected found, {len(out.flagged) - hits} honest), "
            f"estimated {out.missing_wh / 1e6:,.1f} MWh unreported; the VERIFIER confirmed "
            f"{out.confirmed}"
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
            f"{plan.RAMP_DOWN_FEN_PER_MWH / 100:.0f} CNY/MWh, "
            f"a' = {plan.RAMP_UP_FEN_PER_MWH / 100:.0f} CNY/MWh)"
        )

    def open_settlement(self) -> None:
        """The operator names the grid, balancing and remainder accounts, the dispatch
        center sets the deviation rates and settlement opens (the clock moves past it).
        The steps are independent of each other: with workers they go out together."""
        from ledger.clients.oracle import DispatchResultsClient

        operator = self.ctx.client(SettlementEngineClient, self.role("operator"))
        bank = Bank(self.ctx, self.role("clearing-bank"))
        balancing = self.ctx.account(f"node-{plan.BALANCING_N}")
        dispatcher = self.ctx.client(SettlementEngineClient, self.role("dispatch"))
        results = self.ctx.client(DispatchResultsClient, self.role("operator"))
        steps: list[Callable[[], object]] = [
            functools.partial(
                operator.set_grid_account,
                region.id,
                self.ctx.account(f"node-{plan.GRID_BASE + region.id}").address,
            )
            for region in self.scenario.regions
        ]
        steps += [
            functools.partial(operator.set_balancing_account, balancing.address),
            functools.partial(
                operator.set_remainder_account, self.ctx.account(f"node-{plan.REMAINDER_N}").address
            ),
            functools.partial(
                bank.mint, balancing.address, plan.BALANCING_FUNDS_FEN, "demo-balancing-account"
            ),
            functools.partial(
                self.ctx.client(SettlementTokenClient, balancing).approve,
                operator.address,
                2**255,
            ),
            functools.partial(
                dispatcher.set_deviation_rates,
                self.period_id,
                plan.RAMP_DOWN_FEN_PER_MWH,
                plan.RAMP_UP_FEN_PER_MWH,
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
        return self.ctx.client(SettlementEngineClient, self.ctx.account(f"node-{plan.SETTLER_N}"))

    def settle_trades(self) -> int:
        """Settle the period's trades, 20 to a transaction; returns how many are settled."""
        settler = self.settler()
        for start in range(0, len(self.trade_ids), 20):
            self._count_payments(settler, settler.settle_batch(self.trade_ids[start : start + 20]))
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        self._settled = [market.trade(t) for t in self.trade_ids]
        self.summary.trades_settled = sum(
            1 for t in self._settled if t.status == TradeStatus.SETTLED
        )
        return self.summary.trades_settled

    def _count_payments(self, engine: SettlementEngineClient, receipt: Any) -> None:
        """Add a settlement receipt's payments (its TransmissionFeePaid events and the
        seller's credit and refund of its TradeSettled events) to the summary."""
        s = self.summary
        settled = engine.events(receipt, "TradeSettled")
        s.seller_income_fen += sum(e["args"]["sellerFen"] for e in settled)
        s.transmission_fees_fen += sum(
            e["args"]["amountFen"] for e in engine.events(receipt, "TransmissionFeePaid")
        )
        s.refunds_fen += sum(e["args"]["refundFen"] for e in settled)

    def settle_deviations(self) -> None:
        """Settle every trading node's deviation (metered against contracted energy)."""
        settler = self.settler()
        settled = self._settled
        nodes = {t.seller for t in settled} | {t.buyer for t in settled}
        lock = threading.Lock()

        def one(node: str) -> None:
            try:
                receipt = settler.settle_deviation(node, self.period_id)
            except ContractRevertError as exc:
                self.report(f"deviation of {node} not settled: {exc}")
                return
            with lock:
                self.summary.deviation_nodes += 1
                for e in settler.events(receipt, "DeviationSettled"):
                    if e["args"]["rampUp"]:
                        self.summary.deviation_paid_fen += e["args"]["amountFen"]
                    else:
                        self.summary.deviation_received_fen += e["args"]["amountFen"]

        self.each(sorted(nodes), one)

    def withdraw_all(self) -> None:
        """Every node and grid account withdraws what the engine owes it."""
        payees = list(self.accounts.values())
        payees += [self.ctx.account(f"node-{plan.GRID_BASE + r.id}") for r in self.scenario.regions]

        def withdraw(account: LocalAccount) -> None:
            engine = self.ctx.client(SettlementEngineClient, account)
            if engine.claimable_of(account.address):
                engine.withdraw()

        self.each(payees, withdraw)
