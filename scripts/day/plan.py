"""The plan of one market day: what happens in the day, and by which rules.

Two engines execute it: the demo (:class:`scripts.market_day.MarketDay`, through the typed
clients and the real services, transaction by transaction) and the benchmark
(:mod:`scripts.bench.market_day`, waves of pre-signed transactions). Every decision both
make (who posts what, who takes what, how much is metered, how parties rate each other,
who buys certificates, the day's prices and accounts) is one function or constant here;
the engines only decide *how* it reaches the chain.

The day's stages, in order (:data:`STAGES`): tariffs, onboarding (registration, review,
bonds, funds), meters, the delivery period, posting (both modes), taking, the dispatch
center's security check, metering, settlement (trades, deviations, withdrawals), ratings,
surveillance, certificates and quotas; then the settlement token is checked for
conservation to the fen.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.clients.registry import NodeKind, Side
from ledger.clients.trading import ListingSide
from ledger.scenario import Participant, Scenario, ViolationKind
from node.trading.optimizer import ListingOffer

#: The day's stages in order (both engines run them so; the benchmark adds conservation).
STAGES = (
    "tariffs",
    "onboarding",
    "meters",
    "period",
    "posting",
    "taking",
    "dispatch",
    "metering",
    "settlement",
    "ratings",
    "surveillance",
    "certificates",
)


class DayEngine(Protocol):
    """What runs the day: one step per stage."""

    def tariffs(self) -> None: ...
    def onboard(self) -> None: ...
    def register_meters(self) -> None: ...
    def open_period(self) -> None: ...
    def post(self) -> None: ...
    def take(self) -> None: ...
    def dispatch(self) -> None: ...
    def metering(self) -> None: ...
    def settle(self) -> None: ...
    def ratings(self) -> None: ...
    def surveillance(self) -> None: ...
    def certificates(self) -> None: ...


def stages(engine: DayEngine) -> list[tuple[str, Callable[[], None]]]:
    """The day's stages in order (:data:`STAGES`), each with ``engine``'s step."""
    steps = {
        "tariffs": engine.tariffs,
        "onboarding": engine.onboard,
        "meters": engine.register_meters,
        "period": engine.open_period,
        "posting": engine.post,
        "taking": engine.take,
        "dispatch": engine.dispatch,
        "metering": engine.metering,
        "settlement": engine.settle,
        "ratings": engine.ratings,
        "surveillance": engine.surveillance,
        "certificates": engine.certificates,
    }
    return [(name, steps[name]) for name in STAGES]


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
#: Credit levels -> the registry's credit level numbers (0 = AAA).
CREDIT = {lvl: i for i, lvl in enumerate(["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"])}
#: Four delivery blocks of six hours each (intervals 0-23, 24-47, 48-71, 72-95): the default
#: schedule's :meth:`scripts.day.clock.DaySchedule.block_ranges`.
BLOCKS = [(0, 23), (24, 47), (48, 71), (72, 95)]
#: Wallet numbers of the market's infrastructure accounts (participants are node-1...):
#: grid accounts (plus the region id), the balancing, remainder, settling and fund accounts.
GRID_BASE, BALANCING_N, REMAINDER_N, SETTLER_N, FUND_N = 9000, 9100, 9101, 9102, 9103


def market_accounts(scenario: Scenario) -> list[int]:
    """Wallet numbers of the market's accounts: each region's grid account, then the
    balancing, remainder, settling and fund accounts."""
    return [GRID_BASE + r.id for r in scenario.regions] + [
        BALANCING_N,
        REMAINDER_N,
        SETTLER_N,
        FUND_N,
    ]


#: The role wallets the day signs with.
ROLE_WALLETS = (
    "admin",
    "operator",
    "verifier",
    "regulator",
    "dispatch",
    "meter-oracle",
    "credit-agency",
    "clearing-bank",
)
#: Reserve regulation prices of the day (fen/MWh): a (ramp-down, received), a' (paid).
RAMP_DOWN_FEN_PER_MWH, RAMP_UP_FEN_PER_MWH = 12_000, 45_000
#: What the bank mints the balancing account for the day's deviation payments.
BALANCING_FUNDS_FEN = 50_000_000_000
#: Renewable consumption weight of the day (basis points of consumption), the fine for
#: each MWh short after the deadline, and the generators' asking price per certificate.
QUOTA_WEIGHT_BPS, FINE_FEN_PER_MWH, CERT_PRICE_FEN = 1_800, 8_000, 3_000
#: The renewable quota's deadline, this long after it is set.
QUOTA_DEADLINE_S = 3600
#: Kinds whose metered output earns green certificates.
GREEN_KINDS = ("wind", "solar")
#: A listing smaller than this is not posted.
MIN_LISTING_WH = 1_000_000
#: Sellers (the first ones of the scenario) that take retailers' bids in mode 2.
MODE2_TAKERS = 4
#: Every node's float on top of its working funds (deviation charges).
FUNDS_FLOAT_FEN = 1_000_000
#: A confirmed surveillance report: bond slashed and reputation points deducted.
PENALTY_FEN, PENALTY_REPUTATION_POINTS = 500_000, 50
#: Relative noise of a meter against contracted energy, and the deviation abusers' excess.
METER_NOISE, ABUSE_SKEW = 0.03, 1.25
WH_PER_MWH = 1_000_000
BPS = 10_000


# -- onboarding --------------------------------------------------------------------------


def registry_side(p: Participant) -> Side:
    return Side.SELLER if p.side == "seller" else Side.BUYER


def day_value_fen(p: Participant) -> int:
    """What ``p``'s day of energy is worth at its reference price."""
    return sum(p.profile_wh) * p.price_fen_per_mwh // WH_PER_MWH


def extra_bond_fen(p: Participant) -> int:
    """Sellers back the exposure of a day's sales (10 % of value, twice over)."""
    return day_value_fen(p) // 5 if p.side == "seller" else 0


def working_funds_fen(p: Participant) -> int:
    """Buyers prepay a day's energy plus transmission (twice its value), sellers hold a
    tenth; everyone keeps a float for deviation charges."""
    value = day_value_fen(p)
    return (value // 10 if p.side == "seller" else value * 2) + FUNDS_FLOAT_FEN


# -- meters ------------------------------------------------------------------------------


def meter_count(p: Participant) -> int:
    return max(1, p.meters)


def meter_label(p: Participant, k: int) -> str:
    return f"MP-{p.index + 1:05d}-{k:03d}"


def meter_power_w(p: Participant) -> int:
    """Each of ``p``'s meters' registered capacity (its capacity shared, at least 1 kW)."""
    return max(1_000, p.capacity_kw * 1000 // meter_count(p))


# -- posting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    """A listing a participant posts: side, delivery block (index), energy, minimum take."""

    side: ListingSide
    block: int
    energy_wh: int
    min_take_wh: int


def block_energy_wh(profile_wh: Sequence[int], block: tuple[int, int]) -> int:
    return sum(profile_wh[block[0] : block[1] + 1])


def postings(
    p: Participant, profile_wh: Sequence[int], blocks: Sequence[tuple[int, int]]
) -> list[Posting]:
    """Sellers post 90 % of each block (mode 1, min take a fiftieth); retailers bid a third
    of their first block (mode 2, min take a tenth); nothing under :data:`MIN_LISTING_WH`."""
    out: list[Posting] = []
    if p.side == "seller":
        for b, block in enumerate(blocks):
            energy = block_energy_wh(profile_wh, block) * 9 // 10
            if energy >= MIN_LISTING_WH:
                out.append(Posting(ListingSide.SELL, b, energy, energy // 50))
    elif p.kind == "retailer":
        energy = block_energy_wh(profile_wh, blocks[0]) // 3
        if energy >= MIN_LISTING_WH:
            out.append(Posting(ListingSide.BUY, 0, energy, energy // 10))
    return out


# -- taking ------------------------------------------------------------------------------


def withholds(p: Participant) -> bool:
    """Withholders list big and delist before anyone can take (list-and-cancel)."""
    return p.violation == ViolationKind.WITHHOLDING


def mode2_takers(people: Iterable[Participant]) -> list[Participant]:
    """The sellers that take the retailers' bids."""
    return [p for p in people if p.side == "seller"][:MODE2_TAKERS]


def mode2_target_wh(profile_wh: Sequence[int], blocks: Sequence[tuple[int, int]]) -> int:
    """A mode-2 taker takes a quarter of its first block."""
    return block_energy_wh(profile_wh, blocks[0]) // 4


def mode1_takers(people: Iterable[Participant]) -> list[Participant]:
    return [p for p in people if p.side == "buyer"]


def mode1_target_wh(profile_wh: Sequence[int], block: tuple[int, int]) -> int:
    """Every buyer covers 80 % of each block's demand."""
    return block_energy_wh(profile_wh, block) * 4 // 5


def listing_side(mode: int) -> ListingSide:
    """The side of the listings a mode-``mode`` taker takes."""
    return ListingSide.SELL if mode == 1 else ListingSide.BUY


def listing_offer(
    *,
    listing_id: int,
    mode: int,
    available_wh: int,
    min_take_wh: int,
    price_fen_per_mwh: int,
    transmission_rate_fen_per_mwh: int,
    reputation: float,
    carbon_g_per_kwh: int,
    counterparty: str = "",
) -> ListingOffer:
    """A listing as the recommendation optimiser ranks it for a mode-``mode`` taker (the
    maker's carbon counts only for a buyer taking an offer, mode 1)."""
    return ListingOffer(
        listing_id=listing_id,
        mode=1 if mode == 1 else 2,
        counterparty=counterparty,
        available_wh=available_wh,
        min_take_wh=min_take_wh,
        price_fen_per_mwh=price_fen_per_mwh,
        transmission_rate_fen_per_mwh=transmission_rate_fen_per_mwh,
        reputation=reputation,
        carbon_g_per_kwh=float(carbon_g_per_kwh) if mode == 1 else 0.0,
    )


# -- delivery and metering ----------------------------------------------------------------


def spread_wh(energy_wh: int, first: int, last: int) -> list[tuple[int, int]]:
    """``energy_wh`` spread over intervals ``first..last``: (interval, share), the
    remainder one Wh each to the first intervals."""
    n = last - first + 1
    return [
        (k, energy_wh // n + (1 if k - first < energy_wh % n else 0))
        for k in range(first, last + 1)
    ]


def corridor_limits(
    scenario: Scenario, scaled: Callable[[int], int] = int
) -> dict[tuple[str, str], float]:
    """The dispatch center's security limits per corridor (MW), ``scaled`` by the schedule
    (a compact schedule delivers a longer stretch of the day in each interval: the
    corridors carry the same energy, so their limits scale with it)."""
    return {(str(c.a), str(c.b)): float(scaled(c.limit_mw)) for c in scenario.corridors}


def meter_skew(rng: random.Random, p: Participant) -> float:
    """A node's metered / contracted energy in one interval (noise; abusers over)."""
    skew = 1.0 + rng.gauss(0, METER_NOISE)
    if p.violation == ViolationKind.DEVIATION_ABUSE:
        skew *= ABUSE_SKEW
    return skew


def metered_per_meter_wh(net_wh: int, skew: float, meters: int, cap_wh: int) -> int:
    """What each of a node's ``meters`` reads in an interval of ``net_wh`` contracted
    energy (sold > 0, bought < 0), capped at a meter's ``cap_wh``."""
    return min(int(abs(net_wh) * skew) // meters, cap_wh)


def meter_cap_wh(power_w: int, interval_s: int) -> int:
    return power_w * interval_s // 3600


# -- ratings, surveillance, certificates ---------------------------------------------------


def rating_score(rng: random.Random, me: Participant, other: Participant) -> int:
    """``me``'s rating of ``other`` (rings praise each other, abusers get low)."""
    if me.violation == ViolationKind.RATING_RING:
        return 5 if other.ring == me.ring else 1
    if other.violation == ViolationKind.DEVIATION_ABUSE:
        return rng.choice([1, 2, 2, 3])
    return rng.choice([3, 4, 4, 5, 5, 5])


def rate_trades(
    rng: random.Random, trades: Iterable[tuple[int, Participant, Participant]]
) -> list[tuple[int, Participant, int]]:
    """Both parties of every (trade id, buyer, seller) rate each other, the buyer first:
    (trade id, rater, score) in trade order."""
    out: list[tuple[int, Participant, int]] = []
    for tid, buyer, seller in trades:
        for me, other in ((buyer, seller), (seller, buyer)):
            out.append((tid, me, rating_score(rng, me, other)))
    return out


def rating_rng(scenario: Scenario) -> random.Random:
    return random.Random(scenario.seed + 7)


def metering_rng(scenario: Scenario) -> random.Random:
    return random.Random(scenario.seed)


def penalty(confirmed: bool) -> tuple[int, int]:
    """(bond slashed in fen, reputation points) of a ruling (made from the report's evidence
    by :func:`scripts.day.surveillance.ruling`)."""
    return (PENALTY_FEN, PENALTY_REPUTATION_POINTS) if confirmed else (0, 0)


def green(people: Iterable[Participant]) -> list[Participant]:
    """The generators that earn green certificates."""
    return [p for p in people if p.kind in GREEN_KINDS]


def quota_obligation_wh(import_wh: int) -> int:
    return import_wh * QUOTA_WEIGHT_BPS // BPS


def certificates_to_buy(p: Participant, shortfall_wh: int) -> int:
    """Certificates (1 MWh each) a short buyer buys; violators are left to be fined."""
    need = -(-shortfall_wh // WH_PER_MWH)
    if need <= 0 or p.violation is not None:
        return 0
    return need


def certificate_takes(need: int, remaining: Sequence[int]) -> list[tuple[int, int]]:
    """A buyer's takes of ``need`` certificates from listings with ``remaining`` left, in
    listing order: (listing position, amount)."""
    out: list[tuple[int, int]] = []
    for i, left in enumerate(remaining):
        if need <= 0:
            break
        amount = min(need, left)
        if amount == 0:
            continue
        out.append((i, amount))
        need -= amount
    return out


# -- who takes part ------------------------------------------------------------------------


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
