"""The benchmark engine's closing stages: ratings, surveillance, certificates and quotas,
and the settlement token's conservation, by the rules of :mod:`scripts.day.plan`, sent in
waves. See :mod:`scripts.bench.market_day`."""

from __future__ import annotations

from ledger.clients.certificates import (
    CertificateMarketClient,
    GreenCertificateClient,
    QuotaLedgerClient,
    token_id,
)
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.token import SettlementTokenClient
from ledger.scenario import Participant
from scripts.bench.common import BenchError, Call, role
from scripts.bench.day_base import DayBase
from scripts.bench.day_waves import first_id, logs_of, read_many, word
from scripts.day import plan
from scripts.day.surveillance import file_and_rule, scan_day


class AfterStages(DayBase):
    """Ratings, surveillance, certificates, conservation."""

    def ratings(self) -> None:
        """Both parties of every settled trade rate each other (1-5), as the demo does."""
        desk = self.abi(ReputationLedgerClient)
        parties = [(t.id, self.people[t.buyer], self.people[t.seller]) for t in self.settled]
        calls = [
            Call(self.accounts[me.index], desk.address, desk("rate", tid, score, b"\x00" * 32))
            for tid, me, score in plan.rate_trades(plan.rating_rng(self.scenario), parties)
        ]
        self.waves.run(calls, [(desk, "RatingSubmitted")])
        self.facts.ratings = len(calls)

    def surveillance(self) -> None:
        """The demo's surveillance stage (:mod:`scripts.day.surveillance`): score every node
        with the shipped day-window model on the day's chain history; file, answer and rule
        (from the evidence) a report on each flagged node."""
        if "SurveillanceDesk" not in self.ctx.manifest.contracts:
            self.facts.skipped.append("surveillance")
            return
        day = scan_day(self.ctx, role("REGULATOR"), self.the_period().id)
        self.facts.surveillance_read_s = day.read_s
        self.facts.surveillance_scan_s = day.scan_s
        sent = day.sent
        outcome = (
            f"{len(day.rows)} nodes scored, {day.flagged} at or above the threshold "
            f"{day.threshold} ppm, top score {day.top_score} ppm"
        )
        rulings: list[str] = []
        for row in day.to_report:
            accused = self.index_of.get(row.node)
            reporter = next((p for p in self.people if p.index != accused), None)
            if accused is None or reporter is None:
                continue
            filed = file_and_rule(
                self.ctx,
                day,
                self.accounts[reporter.index],
                self.accounts[accused],
                response=lambda rid: f"response to report #{rid}",
                reason=lambda rid, ok: f"report #{rid}",
            )
            if filed is not None:
                sent += 3
                verdict = "confirmed" if filed.confirmed else "dismissed"
                rulings.append(f"#{filed.report_id} on {self.people[accused].name} {verdict}")
        self.facts.surveillance = outcome + (
            "; reports " + ", ".join(rulings) if rulings else "; no report filed"
        )
        self._extra = sent
        # The ledger clients sent with their own nonce manager: start the waves' afresh.
        self.waves.fresh_nonces()

    def certificates(self) -> None:
        if "QuotaLedger" not in self.ctx.manifest.contracts:
            self.facts.skipped.append("certificates")
            return
        period = self.the_period()
        regulator, anyone = role("REGULATOR"), self.node(plan.SETTLER_N)
        quota = self.abi(QuotaLedgerClient)
        certs = self.abi(GreenCertificateClient)
        deadline = self.chain_time() + plan.QUOTA_DEADLINE_S
        quota_set = quota(
            "setQuota", period.id, plan.QUOTA_WEIGHT_BPS, deadline, plan.FINE_FEN_PER_MWH
        )
        self.waves.run(
            [
                Call(regulator, quota.address, quota_set),
                Call(
                    regulator,
                    quota.address,
                    quota("setFundAccount", self.node(plan.FUND_N).address),
                ),
            ],
            [(quota, "QuotaSet"), (quota, "FundAccountSet")],
        )
        green = plan.green(self.people)
        issued = self.waves.run(
            [
                Call(
                    anyone, certs.address, certs("issue", self.accounts[p.index].address, period.id)
                )
                for p in green
            ],
            [(certs, "CertificatesIssued")],
        )
        self.facts.certificates_issued = sum(
            word(log, 1) for r in issued for log in logs_of(r, certs, "CertificatesIssued")
        )
        green_nodes = {p.index for p in green}
        covered = self.waves.run(
            [
                Call(anyone, quota.address, quota("coverTrade", t.id))
                for t in self.settled
                if t.seller in green_nodes
            ],
            [(quota, "TradeCovered")],
        )
        self.facts.trades_covered = len(covered)
        self._buy_certificates(self._post_certificates(green))
        self.set_time(deadline + 1)
        buyers = [p for p in self.people if p.side == "buyer"]
        assessed = self.waves.run(
            [
                Call(
                    anyone,
                    quota.address,
                    quota("assess", self.accounts[p.index].address, period.id),
                )
                for p in buyers
            ],
            [(quota, "ComplianceAssessed")],
        )
        self.facts.parties_assessed = len(assessed)
        self.facts.parties_fined = sum(
            1 for r in assessed for log in logs_of(r, quota, "ComplianceAssessed") if word(log, 3)
        )

    def _post_certificates(self, green: list[Participant]) -> list[list[int]]:
        """One-way listing: generators post what they still hold; the listings (id, token
        id, remaining) in id order."""
        period = self.the_period()
        certs = self.abi(GreenCertificateClient)
        cert_market = self.abi(CertificateMarketClient)
        tids = {
            p.index: token_id(int(plan.KINDS[p.kind]), self.accounts[p.index].address, period.id)
            for p in green
        }
        held = read_many(
            self.rpc,
            certs,
            "balanceOf",
            [(self.accounts[p.index].address, tids[p.index]) for p in green],
        )
        holders = [(p, amount) for p, amount in zip(green, held, strict=True) if amount]
        posts: list[Call] = []
        for p, amount in holders:
            me = self.accounts[p.index]
            posts.append(
                Call(me, certs.address, certs("setApprovalForAll", cert_market.address, True))
            )
            posts.append(
                Call(
                    me,
                    cert_market.address,
                    cert_market("post", tids[p.index], amount, plan.CERT_PRICE_FEN, 0),
                )
            )
        receipts = self.waves.run(
            posts, [(certs, "ApprovalForAll"), (cert_market, "CertificateListingPosted")]
        )
        listings = [
            [first_id(r, cert_market, "CertificateListingPosted"), tids[p.index], amount]
            for (p, amount), r in zip(holders, receipts[1::2], strict=True)
        ]
        listings.sort()
        return listings

    def _buy_certificates(self, listings: list[list[int]]) -> None:
        """Short parties (violators excepted: they are left to be fined) take and retire."""
        period = self.the_period()
        quota = self.abi(QuotaLedgerClient)
        cert_market = self.abi(CertificateMarketClient)
        token = self.abi(SettlementTokenClient)
        price = plan.CERT_PRICE_FEN
        buyers = [p for p in self.people if p.side == "buyer"]
        covered_wh = read_many(
            self.rpc,
            quota,
            "coveredWhOf",
            [(self.accounts[p.index].address, period.id) for p in buyers],
        )
        buys: list[Call] = []
        bought = 0
        for p, cover in zip(buyers, covered_wh, strict=True):
            obligation = plan.quota_obligation_wh(self.import_wh[p.index])
            need = plan.certificates_to_buy(p, max(0, obligation - int(cover)))
            me = self.accounts[p.index]
            for i, amount in plan.certificate_takes(need, [x[2] for x in listings]):
                lid, tid, _ = listings[i]
                listings[i][2] -= amount
                buys += [
                    Call(me, token.address, token("approve", cert_market.address, amount * price)),
                    Call(me, cert_market.address, cert_market("take", lid, amount, price)),
                    Call(me, quota.address, quota("retire", tid, amount, me.address, period.id)),
                ]
                bought += amount
        self.waves.run(
            buys,
            [(token, "Approval"), (cert_market, "CertificatesTaken"), (quota, "CoverageCredited")],
        )
        self.facts.certificates_bought = bought

    def known_accounts(self) -> list[str]:
        """Every wallet of the day (roles, nodes, the market's accounts)."""
        out = [a.address for a in self.accounts.values()]
        out += [self.node(n).address for n in plan.market_accounts(self.scenario)]
        out += [role(name).address for name in plan.ROLE_WALLETS]
        return sorted(set(out))

    def conservation(self) -> None:
        """Total supply against every wallet plus what each contract holds, to the fen."""
        token = self.abi(SettlementTokenClient)
        holders = self.known_accounts()
        holders += [c.address for c in self.ctx.manifest.contracts.values()]
        balances = read_many(self.rpc, token, "balanceOf", [(a,) for a in holders])
        self.facts.total_supply_fen = token.client.total_supply()
        self.facts.accounted_fen = sum(int(b) for b in balances)
        self.facts.conserved = self.facts.total_supply_fen == self.facts.accounted_fen
        if not self.facts.conserved:
            raise BenchError(
                f"settlement token not conserved: supply {self.facts.total_supply_fen} fen, "
                f"accounted {self.facts.accounted_fen} fen"
            )
