"""A seeded behaviour simulator: a scenario's participants trading for N days.

It turns a :func:`ledger.scenario.generate` scenario into a :class:`MarketHistory`: every day
has four trading periods (valley, morning, afternoon, evening peak); sellers post offers
(mode 1) around their reference price, retailers and some consumers post requests (mode 2),
and both sides take within a six-hour taking window, one take at a time in time order.
Dispatch curtails a few trades and sellers sometimes under-deliver; meters read each node's
energy with noise; both sides rate most trades.

Honest nodes differ: some cancel often (some of them late), some price at a premium, some
are loyal to one seller, some rate everyone 5 or are harsh raters, some have volatile loads.
Labelled violators behave per kind, most but not all of the time:

- ``wash_trading`` (a seller and a buyer sharing a ring): pre-arranged trades between the
  two, taken within seconds, at off-market prices, in both modes, covering most of the
  buyer's need;
- ``price_manipulation``: offers far above (sometimes far below) the period's market price,
  often amended;
- ``withholding``: offers of (nearly) all capacity slightly above market, cancelled shortly
  before the taking window closes;
- ``deviation_abuse``: consumption systematically below (or above) the contracted energy;
- ``rating_ring``: members trade with each other, rate each other 5 and outsiders mostly 1.

Same scenario, days and seed give the same history, byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from pydantic import BaseModel

from ledger import scenario as scenario_mod
from ledger.scenario import Mix, Participant, Scenario, ViolationKind
from node.surveillance.history import (
    Deviation,
    Listing,
    ListingMode,
    MarketHistory,
    Node,
    Rating,
    Side,
    Trade,
    TradeStatus,
)

PERIODS_PER_DAY = 4
#: Price level of each period of the day relative to the day's base (valley ... evening peak).
PERIOD_PRICE_FACTOR = (0.82, 1.04, 0.97, 1.22)
QUARTER_HOURS_PER_PERIOD = 96 // PERIODS_PER_DAY
#: 2024-07-01 00:00 China Standard Time.
START_TS = 1_719_763_200
DAY_S = 86_400
WINDOW_OPENS_S = 9 * 3600
WINDOW_S = 6 * 3600
MIN_TRADE_WH = 10_000

#: Extra scenario presets for training (scenario mixes of ``ledger.scenario``).
SURVEIL_PRESETS: dict[str, Mix] = {
    "surveil-medium": Mix(
        coal=4,
        coal_mw=700,
        renewable_companies=14,
        wind_projects=15,
        wind_mw=600,
        pv_projects=8,
        pv_mw=280,
        retailers=30,
        consumers=150,
        metering_points=600,
        clean_heating=40,
        violators_per_kind=3,
    ),
}


@contextmanager
def _preset(name: str, mix: Mix) -> Iterator[None]:
    scenario_mod.PRESETS[name] = mix
    try:
        yield
    finally:
        del scenario_mod.PRESETS[name]


def make_scenario(preset: str, seed: int) -> Scenario:
    """A scenario of a ``ledger.scenario`` preset or of :data:`SURVEIL_PRESETS`."""
    if preset in SURVEIL_PRESETS and preset not in scenario_mod.PRESETS:
        with _preset(preset, SURVEIL_PRESETS[preset]):
            return scenario_mod.generate(preset, seed)
    return scenario_mod.generate(preset, seed)


class SimulatedMarket(BaseModel):
    """A simulated history with its ground truth."""

    preset: str
    seed: int
    days: int
    history: MarketHistory
    labels: dict[str, ViolationKind | None]
    """Address -> injected violation kind (None: honest)."""
    names: dict[str, str]
    """Address -> scenario participant name."""


def node_address(scenario: Scenario, participant: Participant) -> str:
    """A stable fake address for a scenario participant."""
    raw = keccak(text=f"gridledger-sim/{scenario.preset}/{scenario.seed}/{participant.name}")
    return str(to_checksum_address(raw[-20:]))


@dataclass
class _Agent:
    p: Participant
    address: str
    seller: bool
    kind: ViolationKind | None
    ring: int | None
    price_bias: float
    price_sigma: float
    cancel_rate: float
    late_canceller: bool
    bot: bool
    prober: float
    amend_rate: float
    fail_prob: float
    dev_sigma: float
    dev_bias: float
    rate_prob: float
    rater_style: str
    price_tau: float
    limit_factor: float
    takes: int
    loyal_to: int | None = None
    loyalty: float = 0.0
    dev_sign: float = -1.0
    # per period state
    need_wh: int = 0
    spare_wh: int = 0


@dataclass
class _Open:
    id: int
    poster: int
    poster_address: str
    mode: ListingMode
    period: int
    quantity_wh: int
    price: int
    posted_at: int
    closes_at: int
    cancelled_at: int | None
    amended: int
    remaining: int
    reserved_for: int | None = None

    def to_listing(self) -> Listing:
        return Listing(
            id=self.id,
            poster=self.poster_address,
            mode=self.mode,
            period=self.period,
            quantity_wh=self.quantity_wh,
            price_fen_per_mwh=self.price,
            posted_at=self.posted_at,
            closes_at=self.closes_at,
            cancelled_at=self.cancelled_at,
            amended=self.amended,
        )


@dataclass
class _State:
    listings: list[Listing] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    shortfall: dict[int, int] = field(default_factory=dict)


_HONEST_SCORES = [0.01, 0.03, 0.09, 0.32, 0.55]
_BAD_TRADE_SCORES = [0.15, 0.25, 0.3, 0.2, 0.1]
_HARSH_SCORES = [0.22, 0.18, 0.25, 0.2, 0.15]


def _agents(rng: np.random.Generator, scenario: Scenario) -> list[_Agent]:
    agents: list[_Agent] = []
    sellers = [p.index for p in scenario.participants if p.side == "seller"]
    for p in scenario.participants:
        seller = p.side == "seller"
        style = str(rng.choice(["normal", "generous", "harsh"], p=[0.72, 0.18, 0.10]))
        premium = rng.random() < 0.1
        nervous = rng.random() < 0.12
        # Wind and PV sellers revising their forecast cancel late and often.
        reviser = p.kind in ("wind", "solar") and rng.random() < 0.2
        systematic = rng.random() < 0.08
        volatile = rng.random() < 0.1
        unreliable = rng.random() < 0.1
        a = _Agent(
            p=p,
            address=node_address(scenario, p),
            seller=seller,
            kind=p.violation,
            ring=p.ring,
            price_bias=float(
                rng.choice([-1, 1]) * rng.uniform(0.05, 0.12) if premium else rng.normal(0, 0.015)
            ),
            price_sigma=float(rng.uniform(0.015, 0.05)),
            cancel_rate=float(
                rng.uniform(0.15, 0.4)
                if reviser
                else (rng.uniform(0.12, 0.3) if nervous else rng.uniform(0.0, 0.06))
            ),
            late_canceller=bool(reviser or (nervous and rng.random() < 0.5)),
            bot=bool(rng.random() < 0.1),
            prober=float(rng.uniform(0.1, 0.25) if seller and rng.random() < 0.1 else 0.0),
            amend_rate=float(rng.uniform(0.02, 0.35)),
            fail_prob=float(rng.uniform(0.05, 0.14) if unreliable else rng.uniform(0.0, 0.04)),
            dev_sigma=float(rng.uniform(0.1, 0.2) if volatile else rng.uniform(0.02, 0.08)),
            dev_bias=float(
                rng.choice([-1, 1]) * rng.uniform(0.05, 0.12) if systematic else rng.normal(0, 0.03)
            ),
            rate_prob=float(rng.uniform(0.5, 0.95)),
            rater_style=style,
            price_tau=float(rng.uniform(0.15, 0.35) if rng.random() < 0.15 else 0.03),
            limit_factor=float(rng.uniform(1.6, 2.0) if rng.random() < 0.15 else 1.08),
            takes=int(rng.integers(1, 4)),
        )
        if not seller and rng.random() < 0.2:
            a.loyal_to = int(rng.choice(sellers))
            a.loyalty = float(rng.uniform(0.4, 0.8))
        if a.kind is ViolationKind.DEVIATION_ABUSE:
            a.dev_sign = -1.0 if rng.random() < 0.7 else 1.0
        agents.append(a)
    # Rating-ring buyers favour their ring's seller, wash-ring buyers theirs.
    for a in agents:
        if a.kind is ViolationKind.RATING_RING and not a.seller:
            mates = [b.p.index for b in agents if b.ring == a.ring and b.seller]
            if mates:
                a.loyal_to, a.loyalty = mates[0], float(rng.uniform(0.4, 0.7))
        if a.kind is ViolationKind.RATING_RING:
            a.rate_prob = 0.95
    return agents


def simulate(scenario: Scenario, days: int = 14, seed: int | None = None) -> SimulatedMarket:
    """Simulate ``days`` trading days of ``scenario`` (``seed`` defaults to the scenario's)."""
    rng = np.random.default_rng([scenario.seed if seed is None else seed, 0x5EED])
    agents = _agents(rng, scenario)
    st = _State()
    ids = {"listing": 0, "trade": 0}
    base = 35_500.0
    for day in range(days):
        base *= math.exp(rng.normal(0, 0.02))
        day_factor = float(np.clip(rng.normal(1.0, 0.1), 0.7, 1.3))
        for block in range(PERIODS_PER_DAY):
            period = day * PERIODS_PER_DAY + block
            market = base * PERIOD_PRICE_FACTOR[block]
            opens = START_TS + day * DAY_S + WINDOW_OPENS_S
            _period(rng, agents, st, ids, period, block, market, day_factor, opens)
    _ratings(rng, agents, st)
    history = MarketHistory(
        first_period=0,
        last_period=days * PERIODS_PER_DAY - 1,
        nodes=[
            Node(address=a.address, side=Side.SELLER if a.seller else Side.BUYER, name=a.p.name)
            for a in agents
        ],
        listings=sorted(st.listings, key=lambda x: x.id),
        trades=st.trades,
        deviations=st.deviations,
        ratings=st.ratings,
    )
    return SimulatedMarket(
        preset=scenario.preset,
        seed=scenario.seed if seed is None else seed,
        days=days,
        history=history,
        labels={a.address: a.kind for a in agents},
        names={a.address: a.p.name for a in agents},
    )


def simulate_preset(preset: str, seed: int, days: int = 14) -> SimulatedMarket:
    """Generate the scenario ``preset``/``seed`` and simulate ``days`` days of it."""
    return simulate(make_scenario(preset, seed), days=days)


def _energy(p: Participant, block: int) -> int:
    lo = block * QUARTER_HOURS_PER_PERIOD
    return sum(p.profile_wh[lo : lo + QUARTER_HOURS_PER_PERIOD])


@dataclass
class _Window:
    """One period's trading window as it fills: the listings posted and the take events."""

    rng: np.random.Generator
    ids: dict[str, int]
    period: int
    opens: int
    book: list[_Open] = field(default_factory=list)
    #: (time, order, agent, reserved listing)
    events: list[tuple[int, int, int, int]] = field(default_factory=list)
    order: int = 0

    @property
    def closes(self) -> int:
        return self.opens + WINDOW_S

    def post(
        self,
        a: _Agent,
        mode: ListingMode,
        qty: int,
        price: float,
        at: int,
        cancel_at: int | None = None,
        amended: int = 0,
    ) -> _Open | None:
        rng, closes = self.rng, self.closes
        if qty < MIN_TRADE_WH:
            return None
        self.ids["listing"] += 1
        if cancel_at is None and rng.random() < a.cancel_rate:
            if a.late_canceller and rng.random() < 0.6:
                cancel_at = closes - int(rng.uniform(0.01, 0.2) * WINDOW_S)
            else:
                cancel_at = at + int(rng.uniform(0.05, 1.0) * (closes - at - 60))
        o = _Open(
            id=self.ids["listing"],
            poster=a.p.index,
            poster_address=a.address,
            mode=mode,
            period=self.period,
            quantity_wh=qty,
            price=max(1, round(price)),
            posted_at=at,
            closes_at=closes,
            cancelled_at=cancel_at,
            amended=amended if amended else int(rng.poisson(a.amend_rate)),
            remaining=qty,
        )
        self.book.append(o)
        return o

    def post_time(self) -> int:
        return self.opens + int(self.rng.uniform(0.0, 0.4) * WINDOW_S)

    def event(self, at: int, agent: int, reserved: int = 0) -> None:
        self.order += 1
        self.events.append((at, self.order, agent, reserved))


def _period(
    rng: np.random.Generator,
    agents: list[_Agent],
    st: _State,
    ids: dict[str, int],
    period: int,
    block: int,
    market: float,
    day_factor: float,
    opens: int,
) -> None:
    w = _Window(rng, ids, period, opens)
    for a in agents:
        _post_needs(w, a, block, market, day_factor)
    _wash_rings(w, agents, market)
    # Ordinary takes at random times through the window.
    for a in agents:
        n = a.takes if not a.seller else (2 if a.spare_wh > 0 else 0)
        for _ in range(n):
            if a.bot and w.book:
                # Algorithmic takers watch the book and take right after a listing appears.
                picked = w.book[int(rng.integers(0, len(w.book)))]
                at = picked.posted_at + int(rng.integers(5, 110))
            else:
                at = opens + int(rng.uniform(0.05, 1.0) * WINDOW_S)
            w.event(at, a.p.index)
    w.events.sort()
    by_id = {o.id: o for o in w.book}
    offers = [o for o in w.book if o.mode is ListingMode.SELL]
    requests = [o for o in w.book if o.mode is ListingMode.BUY]
    for at, _, who, reserved in w.events:
        a = agents[who]
        if reserved:
            _take(rng, st, ids, agents, a, by_id[reserved], at, market, full=True)
            continue
        if a.seller:
            _seller_take(rng, st, ids, agents, a, requests, at, market)

        else:
            _buyer_take(rng, st, ids, agents, a, offers, at, market)

    st.listings.extend(o.to_listing() for o in w.book)
    _settle(rng, agents, st, period)


def _post_needs(w: _Window, a: _Agent, block: int, market: float, day_factor: float) -> None:
    """Agent ``a``'s need or spare capacity of the period, and the listings it posts."""
    rng, opens, closes = w.rng, w.opens, w.closes
    honest_price = a.p.price_fen_per_mwh * market / 35_500.0
    if a.kind is ViolationKind.PRICE_MANIPULATION:
        # Its scenario price is already inflated; its honest price is the kind's typical one.
        honest_price = (33_000 if a.p.kind != "coal" else 37_200) * market / 35_500.0
    ask = honest_price * (1 + a.price_bias + rng.normal(0, a.price_sigma))
    if not a.seller:
        a.need_wh = int(_energy(a.p, block) * day_factor * rng.uniform(0.75, 1.0))
        a.spare_wh = 0
        share = 0.0
        if a.p.kind == "retailer" and rng.random() < 0.6:
            share = rng.uniform(0.2, 0.5)
        elif rng.random() < 0.1:
            share = rng.uniform(0.2, 0.4)
        if share > 0:
            bid = honest_price * (0.96 + rng.normal(0, a.price_sigma))
            w.post(a, ListingMode.BUY, int(a.need_wh * share), bid, w.post_time())
        return
    energy = int(_energy(a.p, block) * day_factor * rng.uniform(0.85, 1.15))
    a.need_wh = 0
    if energy < MIN_TRADE_WH:
        a.spare_wh = 0
        return
    active = rng.random()
    if a.kind is ViolationKind.WITHHOLDING and active < 0.45:
        qty = int(energy * rng.uniform(0.85, 1.0))
        if rng.random() < 0.75:
            cancel = closes - int(rng.uniform(0.01, 0.1) * WINDOW_S)
        else:
            cancel = opens + int(rng.uniform(0.6, 0.85) * WINDOW_S)
        parts = int(rng.integers(1, 4))
        for i in range(parts):
            w.post(
                a,
                ListingMode.SELL,
                qty // parts,
                market * rng.uniform(1.0, 1.08),
                w.post_time(),
                cancel_at=cancel - i * 37,
                amended=int(rng.integers(0, 3)),
            )
        a.spare_wh = energy - qty
        return
    if a.kind is ViolationKind.PRICE_MANIPULATION and active < 0.5:
        factor = rng.uniform(1.12, 1.6) if rng.random() < 0.8 else rng.uniform(0.65, 0.85)
        qty = int(energy * rng.uniform(0.2, 0.5))
        w.post(
            a,
            ListingMode.SELL,
            qty,
            market * factor,
            w.post_time(),
            amended=int(rng.integers(1, 4)),
        )
        a.spare_wh = int(energy * 0.2)
        return
    if a.prober and rng.random() < a.prober:
        # Testing the market: a small offer well above it.
        ask = market * rng.uniform(1.12, 1.35)
    offered = int(energy * rng.uniform(0.5, 0.8))
    parts = 1 if rng.random() < 0.6 else 2
    for i in range(parts):
        w.post(a, ListingMode.SELL, offered // parts, ask * (1 + 0.02 * i), w.post_time())
    a.spare_wh = energy - offered


def _wash_rings(w: _Window, agents: list[_Agent], market: float) -> None:
    """Wash rings: pre-arranged trades at off-market prices, taken within seconds."""
    rng = w.rng
    rings: dict[int, list[_Agent]] = {}
    for a in agents:
        if a.kind is ViolationKind.WASH_TRADING and a.ring is not None:
            rings.setdefault(a.ring, []).append(a)
    for members in rings.values():
        s_list = [m for m in members if m.seller]
        b_list = [m for m in members if not m.seller]
        if not s_list or not b_list or rng.random() > 0.8:
            continue
        s, b = s_list[0], b_list[0]
        factor = rng.uniform(0.72, 0.86) if rng.random() < 0.5 else rng.uniform(1.16, 1.45)
        qty = int(b.need_wh * rng.uniform(0.4, 0.8))
        at = w.post_time()
        o = w.post(s, ListingMode.SELL, qty, market * factor, at, cancel_at=None, amended=0)
        if o is not None:
            o.cancelled_at = None
            o.reserved_for = b.p.index
            w.event(at + int(rng.integers(3, 90)), b.p.index, o.id)
        if rng.random() < 0.5:
            qty2 = int(b.need_wh * rng.uniform(0.1, 0.3))
            at2 = w.post_time()
            o2 = w.post(b, ListingMode.BUY, qty2, market * factor, at2, amended=0)
            if o2 is not None:
                o2.cancelled_at = None
                o2.reserved_for = s.p.index
                s.spare_wh += qty2
                w.event(at2 + int(rng.integers(3, 90)), s.p.index, o2.id)


def _pick(rng: np.random.Generator, weights: list[float]) -> int:
    """An index drawn with probability proportional to ``weights``."""
    r = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        r -= w
        if r < 0:
            return i
    return len(weights) - 1


def _is_open(o: _Open, at: int) -> bool:
    return (
        o.remaining >= MIN_TRADE_WH
        and o.posted_at <= at
        and (o.cancelled_at is None or at < o.cancelled_at)
        and o.reserved_for is None
    )


def _buyer_take(
    rng: np.random.Generator,
    st: _State,
    ids: dict[str, int],
    agents: list[_Agent],
    a: _Agent,
    book: list[_Open],
    at: int,
    market: float,
) -> None:
    if a.need_wh < MIN_TRADE_WH:
        return
    limit = market * a.limit_factor * (a.p.price_fen_per_mwh / 38_700)
    offers = [o for o in book if _is_open(o, at) and o.price <= limit]
    if not offers:
        return
    chosen: _Open | None = None
    if a.loyal_to is not None and rng.random() < a.loyalty:
        mine = [o for o in offers if o.poster == a.loyal_to]
        if mine:
            chosen = mine[0]
    if chosen is None:
        low = min(o.price for o in offers)
        weights = [math.exp(-(o.price - low) / market / a.price_tau) for o in offers]
        chosen = offers[_pick(rng, weights)]
    _take(rng, st, ids, agents, a, chosen, at, market, full=False)


def _seller_take(
    rng: np.random.Generator,
    st: _State,
    ids: dict[str, int],
    agents: list[_Agent],
    a: _Agent,
    book: list[_Open],
    at: int,
    market: float,
) -> None:
    if a.spare_wh < MIN_TRADE_WH:
        return
    floor = a.p.price_fen_per_mwh * (market / 35_500.0) * 0.9
    requests = [o for o in book if _is_open(o, at) and o.price >= floor]
    if not requests:
        return
    high = max(o.price for o in requests)
    weights = [math.exp((o.price - high) / market / 0.03) for o in requests]
    chosen = requests[_pick(rng, weights)]
    _take(rng, st, ids, agents, a, chosen, at, market, full=False)


def _take(
    rng: np.random.Generator,
    st: _State,
    ids: dict[str, int],
    agents: list[_Agent],
    taker: _Agent,
    o: _Open,
    at: int,
    market: float,
    full: bool,
) -> None:
    poster = agents[o.poster]
    if o.mode is ListingMode.SELL:
        buyer, seller = taker, poster
        want = o.remaining if full else int(taker.need_wh * rng.uniform(0.4, 1.0))
    else:
        buyer, seller = poster, taker
        want = o.remaining if full else int(taker.spare_wh * rng.uniform(0.5, 1.0))
    qty = min(o.remaining, max(want, MIN_TRADE_WH))
    if not full:
        qty = min(qty, taker.need_wh if o.mode is ListingMode.SELL else taker.spare_wh)
    if qty < MIN_TRADE_WH:
        return
    o.remaining -= qty
    o.reserved_for = None
    if o.mode is ListingMode.SELL:
        buyer.need_wh = max(0, buyer.need_wh - qty)
    else:
        seller.spare_wh = max(0, seller.spare_wh - qty)
    curtailed = int(qty * rng.uniform(0.1, 0.5)) if rng.random() < 0.03 else 0
    shortfall = 0
    if rng.random() < seller.fail_prob:
        lost = 1.0 if rng.random() < 0.3 else rng.uniform(0.05, 0.9)
        shortfall = int((qty - curtailed) * lost)
    executed = qty - curtailed - shortfall
    status = (
        TradeStatus.EXECUTED
        if shortfall == 0
        else (TradeStatus.FAILED if executed == 0 else TradeStatus.PARTIAL)
    )
    ids["trade"] += 1
    st.trades.append(
        Trade.model_construct(
            id=ids["trade"],
            listing_id=o.id,
            buyer=buyer.address,
            seller=seller.address,
            period=o.period,
            quantity_wh=qty,
            price_fen_per_mwh=o.price,
            formed_at=at,
            executed_wh=executed,
            curtailed_wh=curtailed,
            status=status,
        )
    )


def _settle(rng: np.random.Generator, agents: list[_Agent], st: _State, period: int) -> None:
    contracted: dict[str, int] = {}
    for t in reversed(st.trades):
        if t.period != period:
            break
        contracted[t.buyer] = contracted.get(t.buyer, 0) + t.executed_wh
        contracted[t.seller] = contracted.get(t.seller, 0) + t.executed_wh
    for a in agents:
        c = contracted.get(a.address, 0)
        if c == 0:
            continue
        if a.kind is ViolationKind.DEVIATION_ABUSE and rng.random() < 0.65:
            ratio = 1 + a.dev_sign * rng.uniform(0.08, 0.25)
        else:
            ratio = 1 + a.dev_bias + rng.normal(0, a.dev_sigma)
        st.deviations.append(
            Deviation.model_construct(
                node=a.address, period=period, contracted_wh=c, metered_wh=max(0, int(c * ratio))
            )
        )


def _ratings(rng: np.random.Generator, agents: list[_Agent], st: _State) -> None:
    by_address = {a.address: a for a in agents}
    for t in st.trades:
        for rater_addr, ratee_addr in ((t.buyer, t.seller), (t.seller, t.buyer)):
            rater, ratee = by_address[rater_addr], by_address[ratee_addr]
            if rng.random() > rater.rate_prob:
                continue
            same_ring = rater.ring is not None and rater.ring == ratee.ring
            bad = t.status is not TradeStatus.EXECUTED and rater_addr == t.buyer
            if rater.kind is ViolationKind.RATING_RING and same_ring:
                score = 5
            elif rater.kind is ViolationKind.WASH_TRADING and same_ring:
                score = 5 if rng.random() < 0.8 else 4
            elif rater.kind is ViolationKind.RATING_RING and rng.random() < 0.5:
                score = 1 if rng.random() < 0.7 else 2
            elif rater.rater_style == "generous" and not bad:
                score = 5
            else:
                probs = _BAD_TRADE_SCORES if bad else _HONEST_SCORES
                if rater.rater_style == "harsh":
                    probs = _HARSH_SCORES
                score = _pick(rng, probs) + 1
            st.ratings.append(
                Rating.model_construct(
                    rater=rater_addr,
                    ratee=ratee_addr,
                    trade_id=t.id,
                    score=score,
                    at=t.formed_at + int(rng.integers(1, 4)) * DAY_S,
                )
            )
