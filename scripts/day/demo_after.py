"""The demo engine's closing stages: ratings, surveillance, certificates and quotas, and the
settlement token's conservation, by the rules of :mod:`scripts.day.plan`."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ledger.clients.registry import NodeRegistryClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradingMarketClient
from ledger.scenario import Participant
from scripts.day import plan
from scripts.day.demo_base import DemoBase
from scripts.day.surveillance import (
    MAX_REPORTS,
    DayScan,
    confusion,
    file_and_rule,
    scan_day,
)


class AfterStages(DemoBase):
    """Ratings, surveillance, certificates, conservation."""

    def ratings(self) -> None:
        """Both parties of every settled trade rate each other (1-5)."""
        if not self.has("ReputationLedger"):
            self.summary.skipped.append("ratings")
            return

        from node.reputation.api import ReputationDesk, reputation_fractions

        rng = plan.rating_rng(self.scenario)
        market = self.ctx.client(TradingMarketClient, self.role("operator"))
        by_address: dict[str, Participant] = {
            a.address: self._by_address[a.address] for a in self.accounts.values()
        }
        # (rater, trade, score) in trade order; each rater's in turn, raters side by side.
        by_rater: dict[int, list[tuple[int, int]]] = defaultdict(list)
        jobs: list[tuple[int, int, int]] = []
        trades = [market.trade(tid) for tid in self.trade_ids]
        parties = [(t.id, by_address[t.buyer], by_address[t.seller]) for t in trades]
        for tid, me, score in plan.rate_trades(rng, parties):
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

    def surveillance(self) -> None:
        """Score every node on the day's chain history with the shipped day-window model; an
        active node files a report on each flagged node (highest first), the accused responds
        and REGULATOR rules it from the report's evidence
        (:func:`scripts.day.surveillance.ruling`); the rulings are then scored against the
        scenario's truth (confusion matrix)."""
        if "SurveillanceDesk" not in self.ctx.manifest.contracts:
            self.summary.skipped.append("surveillance")
            return
        reader = self.role("regulator")
        day = scan_day(self.ctx, reader, self.period_id)
        rank = {r.node: i + 1 for i, r in enumerate(day.rows)}
        violators = [p for p in self.scenario.participants if p.violation is not None]
        ranks = sorted(
            (rank.get(self.accounts[p.index].address, len(rank) + 1), p) for p in violators
        )
        in_top = sum(1 for r, _ in ranks if r <= len(violators))
        ranked = ", ".join(f"{p.name} ({p.violation.value}) #{r}" for r, p in ranks if p.violation)
        self.report(
            f"surveillance: {len(day.rows)} nodes scored by the {day.model.window}-window model, "
            f"{day.flagged} at or above the threshold {day.threshold} ppm, top score "
            f"{day.top_score} ppm; injected violators {in_top}/{len(violators)} in the top "
            f"{len(violators)} ({ranked})"
        )
        confirmed = self._report_flagged(day)
        truth = {str(self.accounts[p.index].address) for p in violators}
        cm = confusion(confirmed, truth, [r.node for r in day.rows])
        self.summary.surveillance_confusion = cm
        self.report(
            f"surveillance rulings vs the scenario's truth: {cm['tp']} violators confirmed, "
            f"{cm['fp']} honest nodes confirmed, {cm['fn']} violators missed, {cm['tn']} honest "
            f"nodes cleared (confirmed: score at the threshold and one kind's pattern beyond the "
            f"honest bounds; at most {MAX_REPORTS} reports)"
        )

    def _report_flagged(self, day: DayScan) -> set[str]:
        """An active node files a report on each flagged node; the addresses confirmed."""
        registry = self.ctx.client(NodeRegistryClient, self.role("regulator"))
        active = [
            p
            for p in self.scenario.participants
            if registry.is_active(self.accounts[p.index].address)
        ]
        confirmed: set[str] = set()
        for row in day.to_report:
            accused = self._by_address.get(row.node)
            reporter = next((p for p in active if self.accounts[p.index].address != row.node), None)
            if accused is None or reporter is None:
                continue
            name = accused.name

            def response(rid: int, name: str = name) -> str:
                return f"{name}: response to report #{rid}"

            filed = file_and_rule(
                self.ctx,
                day,
                self.accounts[reporter.index],
                self.accounts[accused.index],
                response=response,
                reason=lambda rid, ok: f"report #{rid} {'confirmed' if ok else 'dismissed'}",
            )
            if filed is None:
                self.report(f"  no report on {name}: no evidence trades")
                continue
            self.summary.violations_reported += 1
            info = day.regulator.report_info(filed.report_id)
            ruled = (
                f"confirmed ({filed.ruling.kind}: {', '.join(filed.ruling.beyond)}): bond "
                f"slashed {info.slashed_fen:,} fen, {info.reputation_points} reputation points"
                if filed.confirmed
                else f"dismissed ({filed.ruling.describe().split('; ', 1)[1]})"
            )
            if filed.confirmed:
                confirmed.add(row.node)
            kind = accused.violation.value if accused.violation else "honest"
            self.report(
                f"  report #{filed.report_id}: {reporter.name} on {name} (score "
                f"{filed.report.score_ppm} ppm, {len(filed.trade_ids)} evidence trades); "
                f"REGULATOR {ruled} [truth: {kind}]"
            )
        return confirmed

    def certificates(self) -> None:
        if not self.has("QuotaLedger"):
            self.summary.skipped.append("certificates")
            return
        from ledger.clients.certificates import GreenCertificateClient, QuotaLedgerClient

        anyone = self.ctx.account(f"node-{plan.SETTLER_N}")
        regulator = self.ctx.client(QuotaLedgerClient, self.role("regulator"))
        deadline = self.chain_time() + plan.QUOTA_DEADLINE_S
        regulator.set_quota(self.period_id, plan.QUOTA_WEIGHT_BPS, deadline, plan.FINE_FEN_PER_MWH)
        regulator.set_fund_account(self.ctx.account(f"node-{plan.FUND_N}").address)
        certs = self.ctx.client(GreenCertificateClient, anyone)
        green = plan.green(self.scenario.participants)
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
        bought = self._trade_certificates(green, quota)
        if not self.clock.warps:
            # Real time: bring the deadline forward to just after the day's quota actions.
            close_s = max(self.schedule.quota_close_s, 4 * self.clock.block_period_s())
            deadline = self.chain_time() + close_s
            regulator.set_quota(
                self.period_id, plan.QUOTA_WEIGHT_BPS, deadline, plan.FINE_FEN_PER_MWH
            )
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

    def _trade_certificates(self, green: list[Participant], quota: Any) -> int:
        """One-way listing: generators post what they still hold; short parties take and
        retire. Returns the certificates bought."""
        from ledger.clients.certificates import (
            CertificateMarketClient,
            GreenCertificateClient,
            QuotaLedgerClient,
        )

        anyone = self.ctx.account(f"node-{plan.SETTLER_N}")
        certs = self.ctx.client(GreenCertificateClient, anyone)
        cert_market = self.ctx.client(CertificateMarketClient, anyone)

        def offer(p: Participant) -> None:
            gen = self.accounts[p.index]
            tid = certs.token_id_of(int(plan.KINDS[p.kind]), gen.address, self.period_id)
            held = certs.balance_of(gen.address, tid)
            if held:
                self.ctx.client(GreenCertificateClient, gen).set_approval_for_all(
                    cert_market.address, True
                )
                self.ctx.client(CertificateMarketClient, gen).post(tid, held, plan.CERT_PRICE_FEN)

        self.each(green, offer)
        bought = 0
        for p in self.scenario.participants:
            if p.side != "buyer":
                continue
            buyer = self.accounts[p.index]
            view = quota.compliance_of(buyer.address, self.period_id)
            need = plan.certificates_to_buy(p, view.shortfall_wh)
            if not need:
                continue
            mine = self.ctx.client(CertificateMarketClient, buyer)
            token = self.ctx.client(SettlementTokenClient, buyer)
            listings = cert_market.open_listings()
            for i, amount in plan.certificate_takes(need, [x.remaining for x in listings]):
                listing = listings[i]
                token.approve(cert_market.address, amount * listing.price_fen_per_certificate)
                mine.take(listing.id, amount, listing.price_fen_per_certificate)
                self.ctx.client(QuotaLedgerClient, buyer).retire(
                    listing.token_id, amount, buyer.address, self.period_id
                )
                bought += amount
        return bought

    # ------------------------------------------------------------------ checks

    def known_accounts(self) -> list[str]:
        """Every wallet of the day (roles, nodes, the market's accounts)."""
        return sorted({self.ctx.account(name).address for name in self.wallets()})

    def conservation(self) -> None:
        """Total supply against every wallet plus what each contract holds, to the fen."""
        token = self.ctx.client(SettlementTokenClient, self.role("operator"))
        wallets = sum(token.balance_of(a) for a in self.known_accounts())
        held = sum(token.balance_of(c.address) for c in self.ctx.manifest.contracts.values())
        self.summary.total_supply_fen = token.total_supply()
        self.summary.accounted_fen = wallets + held
        self.summary.conserved = self.summary.total_supply_fen == self.summary.accounted_fen
