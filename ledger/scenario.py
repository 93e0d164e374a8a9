"""Seeded, reproducible market scenarios of the Jibei (north Hebei) grid.

The participant mix follows the market figures of ``docs/spec/README.md`` (mid-2024):
29 coal generators with 66 units (14,223 MW); 255 renewable generators owning 293 wind
projects (26,926 MW) and 160 PV projects (12,842 MW); 480 retailers; 2,749 consumers with
11,903 metering points, 694 of them in the clean-heating mechanism. ``jibei`` is that market;
``jibei-mini`` is the same mix scaled to about 60 nodes. Profiles are 96 quarter-hours of
one delivery day: consumer load with morning and evening peaks (clean-heating consumers
peak at night), wind as a mean-reverting capacity factor, PV as a clear-sky bell with
cloud noise, coal as a flat must-run share.

A few violators of each kind are injected and labelled, for the surveillance classifier.

The generator lives in ``ledger`` so role apps (the surveillance simulator) may use it; its
command line (``gridledger scenario``) is :mod:`scripts.scenario_cli`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

INTERVALS_PER_DAY = 96
INTERVAL_S = 900


class Region(BaseModel):
    """A pricing region of the postage-stamp tariff."""

    id: int
    name: str
    stamp_rate_fen_per_mwh: int


class Corridor(BaseModel):
    """An inter-region line with its security limit."""

    a: int
    b: int
    limit_mw: int


class ViolationKind(StrEnum):
    WASH_TRADING = "wash_trading"
    PRICE_MANIPULATION = "price_manipulation"
    WITHHOLDING = "withholding"
    DEVIATION_ABUSE = "deviation_abuse"
    RATING_RING = "rating_ring"


class Participant(BaseModel):
    """One market node of the scenario."""

    index: int
    name: str
    kind: str
    side: str
    region: int
    capacity_kw: int
    carbon_g_per_kwh: int
    meters: int
    credit_level: str
    clean_heating: bool = False
    violation: ViolationKind | None = None
    ring: int | None = None
    """Violators acting together (wash trading, rating rings) share a ring number."""
    profile_wh: list[int] = Field(default_factory=list)
    """Per quarter-hour: expected generation (sellers) or consumption (buyers), Wh."""
    price_fen_per_mwh: int = 0
    """The node's reference offer (sellers) or bid (buyers) price."""


class Scenario(BaseModel):
    """A whole market day."""

    preset: str
    seed: int
    regions: list[Region]
    corridors: list[Corridor]
    participants: list[Participant]

    def by_kind(self, *kinds: str) -> list[Participant]:
        return [p for p in self.participants if p.kind in kinds]

    @property
    def meter_count(self) -> int:
        return sum(p.meters for p in self.participants)


#: Tangshan, Zhangjiakou, Qinhuangdao, Chengde, Langfang, and the neighbours Beijing and
#: Tianjin. Stamp rates in fen/MWh (e.g. 3,200 fen/MWh = 32 yuan/MWh = 0.032 yuan/kWh).
REGIONS = [
    Region(id=0, name="Tangshan", stamp_rate_fen_per_mwh=3200),
    Region(id=1, name="Zhangjiakou", stamp_rate_fen_per_mwh=2600),
    Region(id=2, name="Qinhuangdao", stamp_rate_fen_per_mwh=3000),
    Region(id=3, name="Chengde", stamp_rate_fen_per_mwh=2400),
    Region(id=4, name="Langfang", stamp_rate_fen_per_mwh=3500),
    Region(id=5, name="Beijing", stamp_rate_fen_per_mwh=4800),
    Region(id=6, name="Tianjin", stamp_rate_fen_per_mwh=4200),
]
CORRIDORS = [
    Corridor(a=1, b=3, limit_mw=3000),
    Corridor(a=1, b=5, limit_mw=4000),
    Corridor(a=3, b=5, limit_mw=2500),
    Corridor(a=3, b=0, limit_mw=3000),
    Corridor(a=3, b=2, limit_mw=1500),
    Corridor(a=0, b=2, limit_mw=2500),
    Corridor(a=0, b=6, limit_mw=3500),
    Corridor(a=0, b=4, limit_mw=2000),
    Corridor(a=4, b=5, limit_mw=3000),
    Corridor(a=4, b=6, limit_mw=2000),
]


class Mix(BaseModel):
    """How many of each participant a preset has."""

    coal: int
    coal_mw: int
    renewable_companies: int
    wind_projects: int
    wind_mw: int
    pv_projects: int
    pv_mw: int
    retailers: int
    consumers: int
    metering_points: int
    clean_heating: int
    violators_per_kind: int
    corridor_scale: float = 1.0
    """Corridor limits scaled with the load (the mini market's flows are ~1/50 of the full)."""


PRESETS: dict[str, Mix] = {
    "jibei": Mix(
        coal=29,
        coal_mw=14_223,
        renewable_companies=255,
        wind_projects=293,
        wind_mw=26_926,
        pv_projects=160,
        pv_mw=12_842,
        retailers=480,
        consumers=2_749,
        metering_points=11_903,
        clean_heating=694,
        violators_per_kind=6,
    ),
    # The same mix scaled to about 60 nodes; generation capacity scaled to the smaller load
    # so that supply still exceeds demand by about a third, as in the full market's trading.
    "jibei-mini": Mix(
        coal=2,
        coal_mw=300,
        renewable_companies=6,
        wind_projects=7,
        wind_mw=250,
        pv_projects=4,
        pv_mw=120,
        retailers=10,
        consumers=42,
        metering_points=182,
        clean_heating=11,
        violators_per_kind=1,
        corridor_scale=0.01,
    ),
}

CREDIT_LEVELS = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
# Where each kind tends to sit (region weights in REGIONS order).
_REGION_WEIGHTS = {
    "coal": [0.45, 0.1, 0.2, 0.1, 0.15, 0.0, 0.0],
    "wind": [0.05, 0.55, 0.05, 0.35, 0.0, 0.0, 0.0],
    "solar": [0.15, 0.4, 0.1, 0.3, 0.05, 0.0, 0.0],
    "load": [0.3, 0.12, 0.12, 0.08, 0.18, 0.12, 0.08],
}


def _split(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` positive integers summing to it exactly."""
    if parts == 0:
        return []
    weights = rng.dirichlet(np.full(parts, 2.0))
    raw = np.floor(weights * (total - parts)).astype(int) + 1
    raw[: total - int(raw.sum())] += 1
    return [int(x) for x in raw]


def _region(rng: np.random.Generator, key: str) -> int:
    weights = np.array(_REGION_WEIGHTS[key])
    return int(rng.choice(len(REGIONS), p=weights / weights.sum()))


def _hours() -> np.ndarray:
    return np.arange(INTERVALS_PER_DAY) / 4.0


def load_shape(rng: np.random.Generator, clean_heating: bool) -> np.ndarray:
    """Relative consumption per quarter-hour (mean about 1)."""
    h = _hours()
    if clean_heating:
        base = 1.0 + 0.6 * np.cos((h - 2.0) / 24 * 2 * np.pi)
    else:
        base = (
            0.7
            + 0.35 * np.exp(-(((h - 10.5) / 2.5) ** 2))
            + 0.45 * np.exp(-(((h - 19.0) / 2.0) ** 2))
        )
    noise = rng.normal(1.0, 0.04, INTERVALS_PER_DAY)
    shape = base * noise
    return np.asarray(shape / shape.mean())


def wind_factor(rng: np.random.Generator) -> np.ndarray:
    """Capacity factor per quarter-hour: mean-reverting around 0.32, clipped to [0, 0.95]."""
    x = np.empty(INTERVALS_PER_DAY)
    level = rng.uniform(0.15, 0.5)
    for i in range(INTERVALS_PER_DAY):
        level += 0.08 * (0.32 - level) + rng.normal(0, 0.04)
        x[i] = level
    return np.clip(x, 0.0, 0.95)


def solar_factor(rng: np.random.Generator) -> np.ndarray:
    """Clear-sky bell between 06:00 and 18:00 times a cloud factor."""
    h = _hours()
    bell = np.clip(np.sin((h - 6.0) / 12.0 * np.pi), 0.0, None) * 0.85
    clouds = np.clip(rng.normal(0.85, 0.12, INTERVALS_PER_DAY), 0.2, 1.0)
    return np.asarray(bell * clouds)


def _coal_factor(rng: np.random.Generator) -> np.ndarray:
    """A must-run share around 55 % of capacity."""
    return np.clip(rng.normal(0.55, 0.05, INTERVALS_PER_DAY), 0.3, 0.9)


def _energy_wh(capacity_kw: int, factor: np.ndarray) -> list[int]:
    # kW x h x 1000 = Wh; a quarter-hour is 0.25 h. Rounded down to the Wh.
    return [int(v) for v in np.floor(capacity_kw * factor * 250.0)]


#: Buyers' draws per kind: credit levels (best first), load scale, price mean and spread.
_BUYERS = {"consumer": (7, 0.45, 39_000, 1_500), "retailer": (6, 0.5, 38_500, 1_200)}


def _buyer(
    rng: np.random.Generator, name: str, kind: str, cap: int, meters: int, clean_heating: bool
) -> dict[str, object]:
    """A buyer's fields (its draws in this order: region, credit, load, price)."""
    levels, scale, price, spread = _BUYERS[kind]
    return {
        "name": name,
        "kind": kind,
        "side": "buyer",
        "region": _region(rng, "load"),
        "capacity_kw": cap,
        "carbon_g_per_kwh": 0,
        "meters": meters,
        "credit_level": str(rng.choice(CREDIT_LEVELS[:levels])),
        "clean_heating": clean_heating,
        "profile_wh": _energy_wh(cap, scale * load_shape(rng, clean_heating)),
        "price_fen_per_mwh": int(rng.normal(price, spread)),
    }


def generate(preset: str, seed: int) -> Scenario:
    """The scenario ``preset`` for ``seed``: same inputs, same scenario, byte for byte."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: one of {', '.join(PRESETS)}")
    mix = PRESETS[preset]
    rng = np.random.default_rng(seed)
    people: list[Participant] = []

    def add(**fields: object) -> Participant:
        p = Participant.model_validate({"index": len(people), **fields})
        people.append(p)
        return p

    for i, mw in enumerate(_split(rng, mix.coal_mw, mix.coal)):
        cap = mw * 1000
        add(
            name=f"coal-{i + 1:03d}",
            kind="coal",
            side="seller",
            region=_region(rng, "coal"),
            capacity_kw=cap,
            carbon_g_per_kwh=int(rng.integers(800, 920)),
            meters=int(rng.integers(2, 4)),
            credit_level=str(rng.choice(CREDIT_LEVELS[:4])),
            profile_wh=_energy_wh(
                cap, np.clip(rng.normal(0.55, 0.05, INTERVALS_PER_DAY), 0.3, 0.9)
            ),
            price_fen_per_mwh=int(rng.normal(37_200, 1_200)),
        )
    # Renewable companies own one or more wind or PV projects.
    wind_caps = _split(rng, mix.wind_mw * 1000, mix.wind_projects)
    pv_caps = _split(rng, mix.pv_mw * 1000, mix.pv_projects)
    wind_companies = round(
        mix.renewable_companies * mix.wind_projects / (mix.wind_projects + mix.pv_projects)
    )
    pv_companies = mix.renewable_companies - wind_companies
    for kind, caps, companies, shape_fn in (
        ("wind", wind_caps, wind_companies, wind_factor),
        ("solar", pv_caps, pv_companies, solar_factor),
    ):
        owners = [i % companies for i in range(len(caps))]
        for c in range(companies):
            cap = sum(cap for cap, o in zip(caps, owners, strict=True) if o == c)
            projects = owners.count(c)
            add(
                name=f"{kind}-{c + 1:03d}",
                kind=kind,
                side="seller",
                region=_region(rng, kind),
                capacity_kw=cap,
                carbon_g_per_kwh=0,
                meters=projects,
                credit_level=str(rng.choice(CREDIT_LEVELS[:5])),
                profile_wh=_energy_wh(cap, shape_fn(rng)),
                price_fen_per_mwh=int(rng.normal(33_000, 1_500)),
            )
    # Consumers: metering points split over them (at least one each).
    meters = _split(rng, mix.metering_points, mix.consumers)
    heating = set(rng.choice(mix.consumers, size=mix.clean_heating, replace=False).tolist())
    for i in range(mix.consumers):
        cap = int(rng.lognormal(np.log(2_500), 0.9)) + 100
        add(**_buyer(rng, f"consumer-{i + 1:04d}", "consumer", cap, meters[i], i in heating))
    for i in range(mix.retailers):
        cap = int(rng.lognormal(np.log(20_000), 0.8)) + 1_000
        add(**_buyer(rng, f"retailer-{i + 1:03d}", "retailer", cap, 1, False))
    _inject_violators(rng, people, mix.violators_per_kind)
    return Scenario(
        preset=preset,
        seed=seed,
        regions=REGIONS,
        corridors=[
            c.model_copy(update={"limit_mw": max(10, round(c.limit_mw * mix.corridor_scale))})
            for c in CORRIDORS
        ],
        participants=people,
    )


def _inject_violators(rng: np.random.Generator, people: list[Participant], per_kind: int) -> None:
    """Label ``per_kind`` violators of each kind among ordinary participants."""
    sellers = [p for p in people if p.side == "seller" and p.violation is None]
    buyers = [p for p in people if p.side == "buyer" and p.violation is None]
    ring = 0

    def pick(pool: list[Participant]) -> Participant:
        free = [p for p in pool if p.violation is None]
        return free[int(rng.integers(0, len(free)))]

    for _ in range(per_kind):
        ring += 1
        seller, buyer = pick(sellers), pick(buyers)
        for p in (seller, buyer):
            p.violation, p.ring = ViolationKind.WASH_TRADING, ring
        s = pick(sellers)
        s.violation = ViolationKind.PRICE_MANIPULATION
        s.price_fen_per_mwh = int(s.price_fen_per_mwh * rng.uniform(1.6, 2.2))
        pick(sellers).violation = ViolationKind.WITHHOLDING
        pick(buyers).violation = ViolationKind.DEVIATION_ABUSE
        ring += 1
        for p in (pick(sellers), pick(buyers), pick(buyers)):
            p.violation, p.ring = ViolationKind.RATING_RING, ring


def summarize(scenario: Scenario) -> dict[str, object]:
    """Counts, capacities and energy of a scenario."""
    kinds: dict[str, int] = {}
    for p in scenario.participants:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1

    def mw(*k: str) -> int:
        return sum(p.capacity_kw for p in scenario.by_kind(*k)) // 1000

    return {
        "preset": scenario.preset,
        "seed": scenario.seed,
        "participants": len(scenario.participants),
        "by_kind": kinds,
        "coal_mw": mw("coal"),
        "wind_mw": mw("wind"),
        "solar_mw": mw("solar"),
        "metering_points": scenario.meter_count,
        "consumer_metering_points": sum(p.meters for p in scenario.by_kind("consumer")),
        "clean_heating": sum(p.clean_heating for p in scenario.participants),
        "violators": sum(p.violation is not None for p in scenario.participants),
        "demand_mwh": sum(sum(p.profile_wh) for p in scenario.participants if p.side == "buyer")
        // 1_000_000,
        "supply_mwh": sum(sum(p.profile_wh) for p in scenario.participants if p.side == "seller")
        // 1_000_000,
    }


def load(path: Path) -> Scenario:
    """Read a scenario written by ``generate --out``."""
    return Scenario.model_validate(json.loads(path.read_text()))
