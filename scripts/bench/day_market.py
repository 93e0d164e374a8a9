"""The benchmark engine's market stages: tariffs, onboarding, meters, the period, posting and
taking, by the rules of :mod:`scripts.day.plan`, sent in waves. See
:mod:`scripts.bench.market_day`."""

from __future__ import annotations

from collections.abc import Sequence

from web3 import Web3

from ledger.clients.oracle import MeterOracleClient
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.reputation import MAX_REPUTATION, ReputationLedgerClient
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import ListingSide, TradingMarketClient
from ledger.identity import demo_bundle
from ledger.scenario import INTERVAL_S, INTERVALS_PER_DAY, Participant
from oracle import eip712
from scripts.bench.common import BenchError, Call, define_tariff, role
from scripts.bench.day_base import DayBase, Offer, TradeRecord, fill, rank
from scripts.bench.day_waves import demo_node, first_id, logs_of, read_many
from scripts.day import plan
from scripts.day.clock import DaySchedule
from scripts.meter_sim import METER_KEY_BASE


class MarketStages(DayBase):
    """Tariffs, onboarding, meters, the period, posting and taking."""

    def tariffs(self) -> None:
        define_tariff(
            self.chain,
            {r.id: r.stamp_rate_fen_per_mwh for r in self.scenario.regions},
            [(c.a, c.b) for c in self.scenario.corridors],
            {r.id: r.name for r in self.scenario.regions},
        )
        self._extra = 2 * len(self.scenario.regions) + len(self.scenario.corridors)

    def onboard(self) -> None:
        for p in self.people:
            self.accounts[p.index] = self.node(p.index + 1)
            self.index_of[self.accounts[p.index].address] = p.index
        reg = self.abi(NodeRegistryClient)
        token = self.abi(SettlementTokenClient)
        table = reg.client.bond_table()
        licences = {
            k: reg.client.required_qualifications(plan.KINDS[k])
            for k in {p.kind for p in self.people}
        }
        expires = self.chain_time() + 365 * 86_400
        apply: list[Call] = []
        review: list[Call] = []
        licensing: list[Call] = []
        for p in self.people:
            bond = int(table[plan.CREDIT[p.credit_level]]) + plan.extra_bond_fen(p)
            apply += self._application(p, bond)
            review_p, licensing_p = self._review(p, bond, licences[p.kind], expires)
            review += review_p
            licensing += licensing_p
        self.waves.run(apply, [(reg, "NodeApplied"), (token, "Minted")])
        self.waves.run(
            review,
            [
                (reg, "NodeApproved"),
                (reg, "CreditLevelSet"),
                (reg, "QualificationSubmitted"),
                (reg, "BondDeposited"),
                (token, "Approval"),
            ],
        )
        self.waves.run(licensing, [(reg, "QualificationApproved")])
        ok = read_many(self.rpc, reg, "canTrade", [(a.address,) for a in self.accounts.values()])
        if not all(ok):
            raise BenchError(f"{ok.count(False)} nodes cannot trade after onboarding")
        self.facts.nodes = len(self.people)

    def _application(self, p: Participant, bond_fen: int) -> list[Call]:
        """``p`` registers; the bank mints its bond and working funds."""
        reg = self.abi(NodeRegistryClient)
        token = self.abi(SettlementTokenClient)
        me, n = self.accounts[p.index], p.index + 1
        bundle = demo_bundle(n)
        calls = [
            Call(
                me,
                reg.address,
                reg(
                    "register",
                    int(plan.KINDS[p.kind]),
                    int(plan.registry_side(p)),
                    p.region,
                    p.capacity_kw,
                    p.carbon_g_per_kwh,
                    bundle.entity_hash,
                    bundle.bundle_hash,
                ),
            )
        ]
        mints = ((f"bench-bond/{n}", bond_fen), (f"bench-funds/{n}", plan.working_funds_fen(p)))
        for ref, amount in mints:
            calls.append(
                Call(
                    role("CLEARING_BANK"),
                    token.address,
                    token("mint", me.address, amount, Web3.keccak(text=ref)),
                )
            )
        return calls

    def _review(
        self, p: Participant, bond_fen: int, licences: Sequence[bytes], expires: int
    ) -> tuple[list[Call], list[Call]]:
        """The VERIFIER approves ``p``, the credit agency rates it, it submits its licences
        (approved in the second list), deposits its bond and approves the market and the
        settlement engine."""
        reg = self.abi(NodeRegistryClient)
        token = self.abi(SettlementTokenClient)
        verifier = role("VERIFIER")
        me, n = self.accounts[p.index], p.index + 1
        review = [
            Call(verifier, reg.address, reg("approveNode", me.address)),
            Call(
                role("CREDIT_AGENCY"),
                reg.address,
                reg("setCreditLevel", me.address, plan.CREDIT[p.credit_level]),
            ),
        ]
        licensing: list[Call] = []
        for licence in licences:
            number = Web3.keccak(text=f"bench-licence-{n}-{licence.hex()}")
            review.append(
                Call(me, reg.address, reg("submitQualification", licence, number, expires))
            )
            licensing.append(
                Call(verifier, reg.address, reg("approveQualification", me.address, licence))
            )
        review += [
            Call(me, token.address, token("approve", reg.address, bond_fen)),
            Call(me, reg.address, reg("depositBond", bond_fen)),
            Call(me, token.address, token("approve", self.address("TradingMarket"), 2**255)),
            Call(me, token.address, token("approve", self.address("SettlementEngine"), 2**255)),
        ]
        return review, licensing

    def register_meters(self) -> None:
        oracle = self.abi(MeterOracleClient)
        operator = role("OPERATOR")
        calls: list[Call] = []
        n = 0
        for p in self.people:
            per_meter_w = plan.meter_power_w(p)
            for k in range(plan.meter_count(p)):
                signer = demo_node(METER_KEY_BASE + n).address
                calls.append(
                    Call(
                        operator,
                        oracle.address,
                        oracle(
                            "registerMeter",
                            eip712.meter_id_bytes(plan.meter_label(p, k)),
                            self.accounts[p.index].address,
                            signer,
                            per_meter_w,
                        ),
                    )
                )
                n += 1
        self.waves.run(calls, [(oracle, "MeterRegistered")])
        self.facts.meters = n

    def open_period(self) -> None:
        market = self.abi(TradingMarketClient)
        now = self.chain_time()
        delivery, closes = DaySchedule().period_times(now)
        receipt = self.waves.one(
            Call(
                role("OPERATOR"),
                market.address,
                market(
                    "openPeriod", delivery, INTERVAL_S, INTERVALS_PER_DAY, now + 1, now + 1, closes
                ),
            ),
            [(market, "PeriodOpened")],
        )
        period_id = first_id(receipt, market, "PeriodOpened")
        self.period = market.client.period(period_id)
        self.set_time(now + 2)

    def post(self) -> None:
        period = self.the_period()
        market = self.abi(TradingMarketClient)
        calls: list[Call] = []
        drafts: list[Offer] = []
        for p in self.people:
            me = self.accounts[p.index]
            for x in plan.postings(p, p.profile_wh, plan.BLOCKS):
                first, last = plan.BLOCKS[x.block]
                calls.append(
                    Call(
                        me,
                        market.address,
                        market(
                            "post",
                            int(x.side),
                            period.id,
                            first,
                            last,
                            x.energy_wh,
                            p.price_fen_per_mwh,
                            x.min_take_wh,
                            0,
                            b"\x00" * 32,
                        ),
                    )
                )
                drafts.append(
                    Offer(
                        id=0,
                        maker=p.index,
                        side=x.side,
                        block=x.block,
                        region=p.region,
                        remaining_wh=x.energy_wh,
                        min_take_wh=x.min_take_wh,
                        price_fen_per_mwh=p.price_fen_per_mwh,
                        carbon_g_per_kwh=p.carbon_g_per_kwh,
                    )
                )
        posted = self.waves.run(calls, [(market, "ListingPosted")])
        for offer, receipt in zip(drafts, posted, strict=True):
            offer.id = first_id(receipt, market, "ListingPosted")
            self.offers[offer.id] = offer
        self.facts.listings = len(drafts)

    def _withhold(self) -> None:
        """Withholders cancel their listings before anyone can take."""
        market = self.abi(TradingMarketClient)
        withheld = [o for o in self.offers.values() if plan.withholds(self.people[o.maker])]
        self.waves.run(
            [
                Call(self.accounts[o.maker], market.address, market("cancel", o.id))
                for o in withheld
            ],
            [(market, "ListingCancelled")],
        )
        for o in withheld:
            o.remaining_wh = 0
        self.facts.listings_cancelled = len(withheld)

    def _plans(self) -> list[tuple[int, Offer, int]]:
        """Every take of the day, (taker, listing, energy): the plan's takers and targets,
        each filled greedily in the optimiser's ranking."""
        tariff = self.client(TransmissionTariffClient, role("OPERATOR"))
        reps = self.client(ReputationLedgerClient, role("OPERATOR"))
        addresses = [self.accounts[p.index].address for p in self.people]
        reputation = {i: v / MAX_REPUTATION for i, v in enumerate(reps.reputations_of(addresses))}
        regions = sorted({r.id for r in self.scenario.regions})
        route: dict[tuple[int, int], int] = {}
        for a in regions:
            for b in regions:
                route[(a, b)] = tariff.cheapest_route(a, b).sum_rate_fen_per_mwh
        plans: list[tuple[int, Offer, int]] = []
        bids = [o for o in self.offers.values() if o.side == plan.listing_side(2)]
        ranked_bids = rank(bids, 2, {}, reputation)
        for s in plan.mode2_takers(self.people):
            target = plan.mode2_target_wh(s.profile_wh, plan.BLOCKS)
            plans += [(s.index, o, q) for o, q in fill(ranked_bids, s.index, target)]
        ranked: dict[tuple[int, int], list[Offer]] = {}
        for b in range(len(plan.BLOCKS)):
            book = [
                o
                for o in self.offers.values()
                if o.side == plan.listing_side(1) and o.block == b and o.remaining_wh > 0
            ]
            for r in regions:
                ranked[(b, r)] = rank(book, 1, {x: route[(x, r)] for x in regions}, reputation)
        for p in plan.mode1_takers(self.people):
            for b, block in enumerate(plan.BLOCKS):
                target = plan.mode1_target_wh(p.profile_wh, block)
                plans += [(p.index, o, q) for o, q in fill(ranked[(b, p.region)], p.index, target)]
        return plans

    def take(self) -> None:
        market = self.abi(TradingMarketClient)
        self._withhold()
        plans = self._plans()
        calls = [
            Call(self.accounts[taker], market.address, market("take", o.id, q, 0))
            for taker, o, q in plans
        ]
        formed = self.waves.run(calls, [(market, "TradeCreated")])
        for (taker, o, q), receipt in zip(plans, formed, strict=True):
            (log,) = logs_of(receipt, market, "TradeCreated")
            buyer, seller = (taker, o.maker) if o.side == ListingSide.SELL else (o.maker, taker)
            self.trades.append(
                TradeRecord(
                    id=int(log["topics"][1], 16),
                    listing=o.id,
                    buyer=buyer,
                    seller=seller,
                    block=o.block,
                    energy_wh=q,
                )
            )
        self.facts.trades = len(self.trades)
        self.facts.traded_wh = sum(t.energy_wh for t in self.trades)
        if len({t.id for t in self.trades}) != len(plans):
            raise BenchError("not every take formed a trade")
