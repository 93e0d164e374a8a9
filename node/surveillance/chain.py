"""A :class:`~node.surveillance.history.HistorySource` read from the chain.

* nodes: the registry's node list (paged) and each node's registered side;
* listings: the ``ListingPosted`` events of the requested periods (``period`` is indexed),
  then each listing's current state; ``cancelled_at`` is the block time of its
  ``ListingCancelled`` event, ``amended`` the number of its ``ListingAmended`` events, and
  ``closes_at`` the earlier of its expiry and the period's taking close;
* trades: the trading market's per-period trade view (paged), with dispatch's execution
  result mapped onto :class:`~node.surveillance.history.TradeStatus`;
* deviations: for every node and period with trades, the settlement engine's contracted
  (settled) energy against the meter oracle's recorded total (omitted until both exist);
* ratings: the reputation ledger's ``RatingSubmitted`` events.

Everything is read-only, event scans go in bounded block ranges (:data:`LOG_CHUNK`) and
views in pages (:data:`PAGE`). Contracts a deployment lacks (settlement, oracle, reputation)
simply contribute nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import EventData

from ledger.clients.base import ContractClient
from ledger.clients.oracle import MeterOracleClient
from ledger.clients.registry import NodeRegistryClient, NodeStatus
from ledger.clients.registry import Side as RegistrySide
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import Listing as ChainListing
from ledger.clients.trading import ListingSide, TradingMarketClient
from ledger.clients.trading import Trade as ChainTrade
from ledger.clients.trading import TradeStatus as ChainTradeStatus
from ledger.context import LedgerContext
from node.surveillance.history import (
    Deviation,
    HistorySource,
    Listing,
    ListingMode,
    MarketHistory,
    Node,
    Rating,
    Side,
    Trade,
    TradeStatus,
    collect,
)

#: Page size of the paged views.
PAGE = 200
#: Blocks per ``eth_getLogs`` request.
LOG_CHUNK = 10_000
#: Period ids per ``ListingPosted`` topic filter (an OR list of indexed values).
PERIOD_CHUNK = 32


def trade_status(t: ChainTrade) -> TradeStatus:
    """Dispatch's result of a chain trade: pending until dispatched; then executed if nothing
    beyond the curtailment was missed, failed if nothing was executed, partial otherwise."""
    if t.status == ChainTradeStatus.FORMED:
        return TradeStatus.PENDING
    expected = max(0, t.energy_wh - t.curtailed_wh)
    if t.executed_wh >= expected:
        return TradeStatus.EXECUTED
    return TradeStatus.FAILED if t.executed_wh == 0 else TradeStatus.PARTIAL


class ChainHistorySource:
    """Market history from the deployed contracts behind ``ctx`` (read as ``account``)."""

    def __init__(
        self,
        ctx: LedgerContext,
        account: LocalAccount,
        *,
        from_block: int | None = None,
        page: int = PAGE,
        log_chunk: int = LOG_CHUNK,
    ) -> None:
        self._ctx = ctx
        self._w3 = ctx.w3
        self._page = page
        self._log_chunk = log_chunk
        self._from_block = ctx.manifest.deploy_block if from_block is None else from_block
        contracts = ctx.manifest.contracts
        self.market = ctx.client(TradingMarketClient, account)
        self.registry = ctx.client(NodeRegistryClient, account)
        self.engine = (
            ctx.client(SettlementEngineClient, account)
            if SettlementEngineClient.ARTIFACT in contracts
            else None
        )
        self.oracle = (
            ctx.client(MeterOracleClient, account)
            if MeterOracleClient.ARTIFACT in contracts
            else None
        )
        self.reputation = (
            ctx.client(ReputationLedgerClient, account)
            if ReputationLedgerClient.ARTIFACT in contracts
            else None
        )
        self._block_times: dict[int, int] = {}
        self._closes: dict[int, int] = {}
        self._cancelled: dict[int, int] | None = None
        self._amended: Counter[int] | None = None
        self._ratings: list[Rating] | None = None

    # ------------------------------------------------------------------ helpers

    def _block_time(self, number: int) -> int:
        at = self._block_times.get(number)
        if at is None:
            at = int(self._w3.eth.get_block(number)["timestamp"])
            self._block_times[number] = at
        return at

    def _logs(
        self, client: ContractClient, event: str, filters: dict[str, Any] | None = None
    ) -> list[EventData]:
        """``event`` logs of ``client`` since the deployment, ``log_chunk`` blocks a request."""
        latest = int(self._w3.eth.block_number)
        out: list[EventData] = []
        start = self._from_block
        while start <= latest:
            end = min(latest, start + self._log_chunk - 1)
            kwargs: dict[str, Any] = {"from_block": start, "to_block": end}
            if filters:
                kwargs["argument_filters"] = filters
            out += client.contract.events[event]().get_logs(**kwargs)
            start = end + 1
        return out

    def _closes_at(self, period: int) -> int:
        closes = self._closes.get(period)
        if closes is None:
            closes = self.market.period(period).taking_closes_at
            self._closes[period] = closes
        return closes

    def _cancellations(self) -> dict[int, int]:
        if self._cancelled is None:
            self._cancelled = {
                int(ev["args"]["listingId"]): self._block_time(int(ev["blockNumber"]))
                for ev in self._logs(self.market, "ListingCancelled")
            }
        return self._cancelled

    def _amendments(self) -> Counter[int]:
        if self._amended is None:
            self._amended = Counter(
                int(ev["args"]["listingId"]) for ev in self._logs(self.market, "ListingAmended")
            )
        return self._amended

    def _listing(self, x: ChainListing) -> Listing | None:
        if x.energy_wh <= 0 or x.price_fen_per_mwh <= 0:
            return None
        closes = self._closes_at(x.period_id)
        if x.expires_at:
            closes = min(closes, x.expires_at)
        return Listing(
            id=x.id,
            poster=x.maker,
            mode=ListingMode.SELL if x.side == ListingSide.SELL else ListingMode.BUY,
            period=x.period_id,
            quantity_wh=x.energy_wh,
            price_fen_per_mwh=x.price_fen_per_mwh,
            posted_at=x.posted_at,
            closes_at=max(closes, x.posted_at),
            cancelled_at=self._cancellations().get(x.id),
            amended=self._amendments().get(x.id, 0),
        )

    def _chain_trades(self, period: int) -> list[ChainTrade]:
        return self.market.all_period_trades(period)

    def _periods(self, first_period: int, last_period: int) -> range:
        first, last = self.period_range()
        return range(max(first, first_period), min(last, last_period) + 1)

    # ------------------------------------------------------------------ HistorySource

    def nodes(self) -> Sequence[Node]:
        count = self.registry.node_count()
        out: list[Node] = []
        for offset in range(0, count, self._page):
            for address in self.registry.nodes_page(offset, self._page):
                info = self.registry.node_info(address)
                if info.status == NodeStatus.NONE:
                    continue
                side = Side.SELLER if info.side == RegistrySide.SELLER else Side.BUYER
                out.append(Node(address=info.node, side=side))
        return out

    def period_range(self) -> tuple[int, int]:
        last = self.market.period_count()
        return (1, last) if last else (0, 0)

    def listings(self, first_period: int, last_period: int) -> Sequence[Listing]:
        periods = list(self._periods(first_period, last_period))
        ids: set[int] = set()
        for i in range(0, len(periods), PERIOD_CHUNK):
            chunk = periods[i : i + PERIOD_CHUNK]
            for ev in self._logs(self.market, "ListingPosted", {"period": chunk}):
                ids.add(int(ev["args"]["listingId"]))
        out: list[Listing] = []
        for listing_id in sorted(ids):
            listing = self._listing(self.market.listing(listing_id))
            if listing is not None:
                out.append(listing)
        return out

    def trades(self, first_period: int, last_period: int) -> Sequence[Trade]:
        out: list[Trade] = []
        for period in self._periods(first_period, last_period):
            for t in self._chain_trades(period):
                if t.energy_wh <= 0 or t.price_fen_per_mwh <= 0:
                    continue
                out.append(
                    Trade(
                        id=t.id,
                        listing_id=t.listing_id,
                        buyer=t.buyer,
                        seller=t.seller,
                        period=t.period_id,
                        quantity_wh=t.energy_wh,
                        price_fen_per_mwh=t.price_fen_per_mwh,
                        formed_at=t.formed_at,
                        executed_wh=t.executed_wh,
                        curtailed_wh=t.curtailed_wh,
                        status=trade_status(t),
                    )
                )
        return sorted(out, key=lambda t: t.id)

    def deviations(self, first_period: int, last_period: int) -> Sequence[Deviation]:
        engine, oracle = self.engine, self.oracle
        if engine is None or oracle is None:
            return []
        out: list[Deviation] = []
        for period in self._periods(first_period, last_period):
            parties: set[str] = set()
            for t in self._chain_trades(period):
                parties.update((t.buyer, t.seller))
            for node in sorted(parties):
                deviation = self._deviation(engine, oracle, node, period)
                if deviation is not None:
                    out.append(deviation)
        return out

    @staticmethod
    def _deviation(
        engine: SettlementEngineClient, oracle: MeterOracleClient, node: str, period: int
    ) -> Deviation | None:
        np_ = engine.node_period(node, period)
        contracted_net = np_.import_wh - np_.export_wh
        if np_.settled == 0 or (np_.import_wh == 0 and np_.export_wh == 0):
            return None
        metered = oracle.metered_energy_of(node, period)
        if not metered.recorded:
            return None
        metered_net = metered.import_wh - metered.export_wh
        # A net buyer's contracted and metered consumption, or a net seller's generation.
        sign = 1 if contracted_net >= 0 else -1
        return Deviation(
            node=node,
            period=period,
            contracted_wh=abs(contracted_net),
            metered_wh=max(0, sign * metered_net),
        )

    def ratings(self, trade_ids: set[int]) -> Sequence[Rating]:
        if self.reputation is None or not trade_ids:
            return []
        if self._ratings is None:
            self._ratings = [
                Rating(
                    rater=str(ev["args"]["rater"]),
                    ratee=str(ev["args"]["ratee"]),
                    trade_id=int(ev["args"]["tradeId"]),
                    score=int(ev["args"]["score"]),
                    at=self._block_time(int(ev["blockNumber"])),
                )
                for ev in self._logs(self.reputation, "RatingSubmitted")
            ]
        return [r for r in self._ratings if r.trade_id in trade_ids]


def chain_history(
    ctx: LedgerContext,
    account: LocalAccount,
    *,
    last_period: int | None = None,
    periods: int | None = None,
) -> MarketHistory:
    """Periods ``last_period - periods + 1 .. last_period`` (default: the latest period and
    every period since the first) of the chain behind ``ctx`` as one history."""
    source: HistorySource = ChainHistorySource(ctx, account)
    first, last = source.period_range()
    if last_period is not None:
        last = min(last, last_period)
    if periods is not None:
        first = max(first, last - periods + 1)
    return collect(source, first, last)
