"""The day's bilateral contracts (中长期双边合同), after the posted-offer day.

The OPERATOR publishes the two templates; a generator and a retailer negotiate a wholesale
contract (proposal, counter, accept: every step signed and stored by both desks), co-sign
and register it; a retailer and the largest consumer register a retail agency contract.
The wholesale contract delivers in the two periods after the day's (opened here, so the
day's posted-trade figures are untouched) as a 15-minute profile of two half-day blocks,
with renewal terms; its first period forms one trade per block in the common trade store at
the contract price (the retailer prepays the escrow). The deviation keeper runs a round
(the contract trades are not dispatched within the demo day, so it records nothing) and the
retailer's notification feed is read. The summary counts the contracts, their period trades
and energy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.bilateral.templates import RETAIL_AGENCY, WHOLESALE
from ledger.clients.bilateral import BilateralContractsClient
from ledger.clients.registry import NodeRegistryClient, NodeStatus
from ledger.scenario import Participant
from node.contracts.desk import ContractDesk
from node.contracts.keeper import watch_once
from node.contracts.notify import notifications
from node.contracts.store import MessageStore, default_url
from node.trading.trader import Trader
from scripts.day.demo_base import DemoBase

#: Per contract period: 1 MWh over the whole period at 380 CNY/MWh (counter: 375), as a
#: profile of two half-period blocks (0.6 MWh, then 0.4 MWh: one trade each).
CONTRACT_WH = 1_000_000
PROFILE_WH = [600_000, 400_000]
OFFER_FEN_PER_MWH = 38_000
AGREED_FEN_PER_MWH = 37_500


class ContractStages(DemoBase):
    """Bilateral contracts: negotiated, co-signed, registered, first period formed."""

    def bilateral_contracts(self) -> None:
        if not self.has("BilateralContracts"):
            self.summary.skipped.append("contracts")
            return
        operator = self.ctx.client(BilateralContractsClient, self.role("operator"))
        for t in (WHOLESALE, RETAIL_AGENCY):
            operator.publish_template(t.kind, t.version, t.template_hash())
        generator, retailer, consumer = self._contract_parties()
        first = self._open_contract_periods()
        stores: list[MessageStore] = []
        try:
            gen, ret, con = (self._desk(p, stores) for p in (generator, retailer, consumer))
            wholesale = self._wholesale(gen, ret, generator, retailer, first)
            agency = self._agency(ret, con, retailer, consumer, first)
            ret.form_period(wholesale, first, approve=True)
            flagged = watch_once(ret.client, ret.market)
            feed = notifications(ret.client, ret.market, ret.account.address, self.chain_time())
        finally:
            for store in stores:
                store.close()
        self.summary.contracts_registered = 2
        self.summary.contract_trades = len(PROFILE_WH)
        self.summary.contract_traded_wh = CONTRACT_WH
        self.report(
            f"bilateral contracts: wholesale #{wholesale} ({generator.name} -> {retailer.name}, "
            f"periods {first}-{first + 1}, {AGREED_FEN_PER_MWH / 100:.2f} CNY/MWh after a "
            f"counter-offer) and retail agency #{agency} ({retailer.name} for {consumer.name}); "
            f"period {first} formed as {len(PROFILE_WH)} block trades of {CONTRACT_WH / 1e6:.3f} "
            f"MWh; keeper: {len(flagged)} deviations; {retailer.name}'s feed: {len(feed)} items"
        )

    def _contract_parties(self) -> tuple[Participant, Participant, Participant]:
        """An active generator, retailer and the largest active consumer, none a violator."""
        registry = self.ctx.client(NodeRegistryClient, self.role("operator"))

        def able(p: Participant) -> bool:
            if p.violation is not None:
                return False
            return registry.status_of(self.account(p).address) == NodeStatus.ACTIVE

        sellers = [p for p in self.scenario.participants if p.side == "seller" and able(p)]
        retailers = [p for p in self.scenario.by_kind("retailer") if able(p)]
        consumers = [p for p in self.scenario.by_kind("consumer") if able(p)]
        consumer = max(consumers, key=lambda p: p.capacity_kw)
        return sellers[0], retailers[0], consumer

    def _open_contract_periods(self) -> int:
        """Two delivery periods after the day's, for the contracts; the first's id."""
        operator = Trader(self.ctx, self.role("operator"))
        now = self.chain_time()
        day = operator.market.period(self.period_id)
        length = day.interval_s * day.intervals
        ids = []
        for k in (1, 2):
            start = max(day.delivery_start, now) + k * length
            period = operator.open_period(
                start,
                now + 1,
                now + 1,
                start - 1,
                interval_s=day.interval_s,
                intervals=day.intervals,
            )
            ids.append(period.id)
        return ids[0]

    def _desk(self, p: Participant, stores: list[MessageStore]) -> ContractDesk:
        account = self.account(p)
        store = MessageStore(default_url(Path(self.ctx.settings.data_dir), account.address))
        stores.append(store)
        return ContractDesk(self.ctx, account, store)

    def _fields(
        self, seller: Participant, buyer: Participant, first: int, price: int, schedule: list[int]
    ) -> dict[str, Any]:
        return {
            "seller": {"address": self.account(seller).address, "name": seller.name},
            "buyer": {"address": self.account(buyer).address, "name": buyer.name},
            "first_period_id": first,
            "first_interval": 0,
            "last_interval": self.schedule.intervals - 1,
            "schedule_wh": schedule,
            "price_fen_per_mwh": price,
        }

    def _wholesale(
        self, gen: ContractDesk, ret: ContractDesk, g: Participant, r: Participant, first: int
    ) -> int:
        schedule = [CONTRACT_WH, CONTRACT_WH]
        profile = {
            "block_intervals": -(-self.schedule.intervals // len(PROFILE_WH)),
            "profile_wh": [PROFILE_WH, PROFILE_WH],
            "renewal_notice_days": 1,
            "renewal_terms": "Renewed at the then market price unless either party objects.",
        }
        offer_fields = self._fields(g, r, first, OFFER_FEN_PER_MWH, schedule) | profile
        offer = gen.propose("wholesale", offer_fields)
        ret.receive(offer)
        nid = offer.step.negotiation_id
        counter_fields = self._fields(g, r, first, AGREED_FEN_PER_MWH, schedule) | profile
        counter = ret.counter(nid, counter_fields)
        gen.receive(counter)
        ret.receive(gen.accept(nid))
        return ret.register(nid, gen.sign_terms(nid), ret.sign_terms(nid))

    def _agency(
        self, ret: ContractDesk, con: ContractDesk, r: Participant, c: Participant, first: int
    ) -> int:
        fields = self._fields(r, c, first, AGREED_FEN_PER_MWH + 1_000, [CONTRACT_WH])
        offer = ret.propose("retail-agency", fields | {"agency_fee_fen_per_mwh": 1_000})
        con.receive(offer)
        nid = offer.step.negotiation_id
        ret.receive(con.accept(nid))
        return con.register(nid, ret.sign_terms(nid), con.sign_terms(nid))
