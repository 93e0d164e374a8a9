"""The recommendation optimiser: which listings a taker should take, and how much of each.

A taker wants ``target_wh`` of energy. Each open listing i offers ``available_i`` Wh at
``price_i`` fen/MWh, with a minimum take ``min_i``. The plan is the exact optimum of a
mixed-integer linear programme (``scipy.optimize.milp``, HiGHS):

    variables   q_i  integer Wh taken from listing i,   0 <= q_i <= available_i
                y_i  binary, 1 when listing i is taken
    subject to  min_i * y_i <= q_i <= available_i * y_i          (minimum take)
                sum_i q_i  = target_wh                              (exact fill)
    minimise    sum_i q_i * unit_score_i

``unit_score_i`` (per Wh, dimensionless, >= 0) mixes, with the configurable ``Weights``:

* mode 1 (a buyer takes sell listings): the effective price, i.e. listing price plus the
  transmission stamp sum of the cheapest route from the seller's region to the taker's
  (formula 1), divided by the book's highest effective price; ``1 - reputation``; and the
  carbon intensity divided by the book's highest;
* mode 2 (a seller takes buy listings): ``1 - price / highest price`` (a higher bid is
  better; the buyer pays the transmission fee, so it does not enter) and ``1 - reputation``.

A short book: when no feasible plan fills the target exactly (too little energy, or the
minimum takes do not add up), ``recommend`` raises :class:`InfeasiblePlanError` unless
``allow_partial_fill`` is true; then it first maximises the filled energy (a MILP with the
same constraints, ``sum q_i <= target``) and, with the fill fixed at that maximum,
minimises the score as above. The optimiser is pure: the trading client feeds it listings
read from chain and executes the plan (``gridledger node take --plan FILE``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import Bounds, LinearConstraint, milp

from ledger.errors import GridLedgerError, ValidationError
from ledger.units import WH_PER_MWH, value_fen
from ledger.units import rate_to_cny_per_mwh_text as cny

PLAN_FORMAT: Literal["gridledger-plan/1"] = "gridledger-plan/1"

Mode = Literal[1, 2]


class InfeasiblePlanError(GridLedgerError):
    """No set of takes fills the target (and a partial fill was not allowed)."""


class ListingOffer(BaseModel):
    """One open listing as the optimiser sees it.

    Attributes:
        listing_id: The listing's on-chain id.
        mode: 1 for a sell listing (a buyer takes), 2 for a buy listing (a seller takes).
        counterparty: The listing owner's address.
        available_wh: Energy still open on the listing.
        min_take_wh: The smallest take the listing accepts (0: any).
        price_fen_per_mwh: The listing's price.
        transmission_rate_fen_per_mwh: The stamp sum of the cheapest route between the
            counterparty's region and the taker's (``TransmissionTariff.cheapestRoute``).
        reputation: The counterparty's reputation normalised to 0..1 (1 best); divide the
            on-chain score by its maximum.
        carbon_g_per_kwh: The seller's carbon intensity (mode 1 only).
    """

    model_config = ConfigDict(frozen=True)

    listing_id: int = Field(ge=0)
    mode: Mode = 1
    counterparty: str = ""
    available_wh: int = Field(ge=0)
    min_take_wh: int = Field(default=0, ge=0)
    price_fen_per_mwh: int = Field(ge=0)
    transmission_rate_fen_per_mwh: int = Field(default=0, ge=0)
    reputation: float = Field(default=1.0, ge=0.0, le=1.0)
    carbon_g_per_kwh: float = Field(default=0.0, ge=0.0)

    @property
    def effective_price_fen_per_mwh(self) -> int:
        """Price plus the transmission stamp sum (what a buyer pays per MWh)."""
        return self.price_fen_per_mwh + self.transmission_rate_fen_per_mwh


class Weights(BaseModel):
    """How much each criterion counts in the unit score (non-negative, not all zero)."""

    price: float = Field(default=1.0, ge=0.0)
    reputation: float = Field(default=0.3, ge=0.0)
    carbon: float = Field(default=0.2, ge=0.0, description="Ignored in mode 2.")

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.price == self.reputation == self.carbon == 0:
            raise ValueError("at least one weight must be positive")
        return self


class ScoreParts(BaseModel):
    """A listing's unit score and its weighted parts (each per Wh, dimensionless)."""

    price: float
    reputation: float
    carbon: float

    @property
    def total(self) -> float:
        return self.price + self.reputation + self.carbon


class PlannedTake(BaseModel):
    """One take of the plan."""

    listing_id: int
    counterparty: str
    quantity_wh: int
    available_wh: int
    min_take_wh: int
    price_fen_per_mwh: int
    transmission_rate_fen_per_mwh: int
    energy_fen: int
    transmission_fee_fen: int
    unit_score: float
    explanation: str


class SkippedListing(BaseModel):
    """A listing the plan does not take, and why."""

    listing_id: int
    unit_score: float
    reason: str


class PlanTotals(BaseModel):
    """Totals of a plan; amounts in fen, each take rounded down as on chain."""

    filled_wh: int
    energy_fen: int
    transmission_fee_fen: int
    total_fen: int
    score: float = Field(description="sum of quantity_wh x unit_score / 1e6 (per MWh).")


class Plan(BaseModel):
    """A recommendation; also the plan file ``gridledger node take --plan`` executes."""

    format: Literal["gridledger-plan/1"] = PLAN_FORMAT
    mode: Mode
    target_wh: int
    complete: bool = Field(description="True when the plan fills the whole target.")
    weights: Weights
    takes: list[PlannedTake]
    skipped: list[SkippedListing]
    totals: PlanTotals
    summary: str


def unit_scores(offers: Sequence[ListingOffer], mode: Mode, weights: Weights) -> list[ScoreParts]:
    """The weighted score parts of every offer, normalised over this book."""
    if mode == 1:
        top_price = max((o.effective_price_fen_per_mwh for o in offers), default=0)
        top_carbon = max((o.carbon_g_per_kwh for o in offers), default=0.0)
        return [
            ScoreParts(
                price=weights.price * _ratio(o.effective_price_fen_per_mwh, top_price),
                reputation=weights.reputation * (1.0 - o.reputation),
                carbon=weights.carbon * _ratio(o.carbon_g_per_kwh, top_carbon),
            )
            for o in offers
        ]
    top_bid = max((o.price_fen_per_mwh for o in offers), default=0)
    return [
        ScoreParts(
            price=weights.price * (1.0 - _ratio(o.price_fen_per_mwh, top_bid)),
            reputation=weights.reputation * (1.0 - o.reputation),
            carbon=0.0,
        )
        for o in offers
    ]


def _ratio(value: float, top: float) -> float:
    return value / top if top > 0 else 0.0


def recommend(
    offers: Sequence[ListingOffer],
    target_wh: int,
    mode: Mode,
    weights: Weights | None = None,
    *,
    allow_partial_fill: bool = False,
) -> Plan:
    """The optimal takes for ``target_wh`` (see the module docstring for the model).

    Raises:
        ValidationError: Bad input (a listing of the other mode, duplicate ids, target <= 0).
        InfeasiblePlanError: The target cannot be filled exactly and partial fills are off.
    """
    weights = weights or Weights()
    if target_wh <= 0:
        raise ValidationError(f"target_wh must be positive, got {target_wh}")
    wrong = [o.listing_id for o in offers if o.mode != mode]
    if wrong:
        raise ValidationError(f"listings {wrong} are not mode-{mode} listings")
    ids = [o.listing_id for o in offers]
    if len(set(ids)) != len(ids):
        raise ValidationError("the book lists a listing twice")
    parts = unit_scores(offers, mode, weights)
    scores = [p.total for p in parts]
    # Listings that cannot be taken at all stay out of the model.
    usable = [
        i
        for i, o in enumerate(offers)
        if o.available_wh > 0 and o.min_take_wh <= min(o.available_wh, target_wh)
    ]
    fill = target_wh
    quantities: dict[int, int] = {}
    solved = _solve([offers[i] for i in usable], [scores[i] for i in usable], target_wh)
    if solved is None:
        best_fill = _max_fill([offers[i] for i in usable], target_wh)
        if not allow_partial_fill:
            raise InfeasiblePlanError(
                f"no set of takes fills {target_wh:,} Wh exactly (the most the book can fill "
                f"within its minimum takes is {best_fill:,} Wh); allow a partial fill to take "
                "that"
            )
        fill = best_fill
        if fill > 0:
            solved = _solve([offers[i] for i in usable], [scores[i] for i in usable], fill)
            assert solved is not None  # the max-fill solution is feasible
    if solved is not None:
        quantities = {usable[k]: q for k, q in enumerate(solved) if q > 0}
    return _plan(offers, parts, quantities, target_wh, fill, mode, weights)


def _bounds(offers: Sequence[ListingOffer]) -> tuple[np.ndarray, LinearConstraint, Bounds]:
    n = len(offers)
    avail = np.array([o.available_wh for o in offers], dtype=float)
    mins = np.array([o.min_take_wh for o in offers], dtype=float)
    eye = np.eye(n)
    # q_i - min_i*y_i >= 0 and q_i - avail_i*y_i <= 0; variables are [q..., y...].
    link = LinearConstraint(
        np.vstack([np.hstack([eye, -np.diag(mins)]), np.hstack([eye, -np.diag(avail)])]),
        np.concatenate([np.zeros(n), np.full(n, -np.inf)]),
        np.concatenate([np.full(n, np.inf), np.zeros(n)]),
    )
    bounds = Bounds(np.zeros(2 * n), np.concatenate([avail, np.ones(n)]))
    return np.ones(2 * n), link, bounds


def _solve(
    offers: Sequence[ListingOffer], scores: Sequence[float], fill_wh: int
) -> list[int] | None:
    """Integer takes with ``sum == fill_wh`` of least score (None if infeasible)."""
    n = len(offers)
    if n == 0:
        return None
    integrality, link, bounds = _bounds(offers)
    total = LinearConstraint(np.concatenate([np.ones(n), np.zeros(n)])[None, :], fill_wh, fill_wh)
    cost = np.concatenate([np.asarray(scores, dtype=float), np.zeros(n)])
    result = milp(
        cost,
        constraints=[link, total],
        integrality=integrality,
        bounds=bounds,
        options={"mip_rel_gap": 0.0},
    )
    if result.status != 0 or result.x is None:
        return None
    return _checked(offers, result.x, fill_wh)


def _max_fill(offers: Sequence[ListingOffer], target_wh: int) -> int:
    """The most energy, at most ``target_wh``, the minimum takes allow."""
    n = len(offers)
    if n == 0:
        return 0
    integrality, link, bounds = _bounds(offers)
    total = LinearConstraint(np.concatenate([np.ones(n), np.zeros(n)])[None, :], 0, target_wh)
    result = milp(
        np.concatenate([-np.ones(n), np.zeros(n)]),
        constraints=[link, total],
        integrality=integrality,
        bounds=bounds,
        options={"mip_rel_gap": 0.0},
    )
    if result.status != 0 or result.x is None:
        return 0
    return sum(_checked(offers, result.x, None))


def _checked(offers: Sequence[ListingOffer], x: np.ndarray, fill_wh: int | None) -> list[int]:
    """Round the solver's takes to integers and re-check every constraint exactly."""
    takes = [round(float(v)) for v in x[: len(offers)]]
    for o, q in zip(offers, takes, strict=True):
        if q != 0 and not o.min_take_wh <= q <= o.available_wh:
            raise GridLedgerError(
                f"solver returned take {q} Wh of listing {o.listing_id} outside "
                f"[{o.min_take_wh}, {o.available_wh}]"
            )
    if fill_wh is not None and sum(takes) != fill_wh:
        raise GridLedgerError(f"solver returned {sum(takes)} Wh instead of {fill_wh}")
    return takes


def _plan(
    offers: Sequence[ListingOffer],
    parts: Sequence[ScoreParts],
    quantities: dict[int, int],
    target_wh: int,
    fill_wh: int,
    mode: Mode,
    weights: Weights,
) -> Plan:
    order = sorted(range(len(offers)), key=lambda i: (parts[i].total, offers[i].listing_id))
    rank = {i: r + 1 for r, i in enumerate(order)}
    chosen_scores = [parts[i].total for i in quantities]
    worst_chosen = max(chosen_scores, default=0.0)
    takes: list[PlannedTake] = []
    skipped: list[SkippedListing] = []
    for i in order:
        o, p = offers[i], parts[i]
        q = quantities.get(i, 0)
        if q:
            energy = value_fen(q, o.price_fen_per_mwh)
            fee = value_fen(q, o.transmission_rate_fen_per_mwh)
            takes.append(
                PlannedTake(
                    listing_id=o.listing_id,
                    counterparty=o.counterparty,
                    quantity_wh=q,
                    available_wh=o.available_wh,
                    min_take_wh=o.min_take_wh,
                    price_fen_per_mwh=o.price_fen_per_mwh,
                    transmission_rate_fen_per_mwh=o.transmission_rate_fen_per_mwh,
                    energy_fen=energy,
                    transmission_fee_fen=fee,
                    unit_score=p.total,
                    explanation=_explain_take(o, p, q, rank[i], len(offers), mode),
                )
            )
        else:
            skipped.append(
                SkippedListing(
                    listing_id=o.listing_id,
                    unit_score=p.total,
                    reason=_explain_skip(o, p, target_wh - fill_wh, target_wh, worst_chosen),
                )
            )
    energy_fen = sum(t.energy_fen for t in takes)
    fee_fen = sum(t.transmission_fee_fen for t in takes)
    score = sum(t.quantity_wh * t.unit_score for t in takes) / WH_PER_MWH
    complete = fill_wh == target_wh
    summary = (
        f"{'fills' if complete else 'partially fills'} {fill_wh:,} of {target_wh:,} Wh "
        f"with {len(takes)} take(s): energy {energy_fen:,} fen + transmission {fee_fen:,} fen"
        f" = {energy_fen + fee_fen:,} fen; score {score:.6f} "
        f"(weights price {weights.price:g}, reputation {weights.reputation:g}"
        + (f", carbon {weights.carbon:g})" if mode == 1 else ")")
    )
    return Plan(
        mode=mode,
        target_wh=target_wh,
        complete=complete,
        weights=weights,
        takes=takes,
        skipped=skipped,
        totals=PlanTotals(
            filled_wh=fill_wh,
            energy_fen=energy_fen,
            transmission_fee_fen=fee_fen,
            total_fen=energy_fen + fee_fen,
            score=score,
        ),
        summary=summary,
    )


def _explain_take(o: ListingOffer, p: ScoreParts, q: int, rank: int, n: int, mode: Mode) -> str:
    if q == o.available_wh:
        amount = f"all {q:,} Wh available"
    else:
        amount = f"{q:,} of {o.available_wh:,} Wh available"
        if o.min_take_wh:
            amount += f" (minimum take {o.min_take_wh:,})"
    if mode == 1:
        price = (
            f"effective price {cny(o.effective_price_fen_per_mwh)} CNY/MWh (price "
            f"{cny(o.price_fen_per_mwh)} + transmission {cny(o.transmission_rate_fen_per_mwh)})"
        )
        terms = f"price {p.price:.4f} + reputation {p.reputation:.4f} + carbon {p.carbon:.4f}"
        facts = f"reputation {o.reputation:.2f}, carbon {o.carbon_g_per_kwh:g} g/kWh"
    else:
        price = f"bid {cny(o.price_fen_per_mwh)} CNY/MWh"
        terms = f"price {p.price:.4f} + reputation {p.reputation:.4f}"
        facts = f"reputation {o.reputation:.2f}"
    return (
        f"take {amount} from listing {o.listing_id}: {price}, {facts}; unit score "
        f"{p.total:.4f} ({terms}), rank {rank} of {n}"
    )


def _explain_skip(
    o: ListingOffer, p: ScoreParts, unfilled_wh: int, target_wh: int, worst_chosen: float
) -> str:
    if o.available_wh == 0:
        return "nothing left on the listing"
    if o.min_take_wh > o.available_wh:
        return f"its minimum take {o.min_take_wh:,} Wh exceeds what is left ({o.available_wh:,})"
    if o.min_take_wh > target_wh:
        return f"its minimum take {o.min_take_wh:,} Wh exceeds the target {target_wh:,} Wh"
    if unfilled_wh and o.min_take_wh > unfilled_wh:
        return (
            f"its minimum take {o.min_take_wh:,} Wh exceeds the {unfilled_wh:,} Wh the plan "
            "leaves unfilled"
        )
    if p.total >= worst_chosen:
        return f"unit score {p.total:.4f} is no better than the listings taken"
    return (
        f"better unit score {p.total:.4f}, but its minimum take {o.min_take_wh:,} Wh does "
        "not fit a better combination"
        if o.min_take_wh
        else f"better unit score {p.total:.4f}, but the combination taken scores lower overall"
    )


def load_book(path: Path) -> list[ListingOffer]:
    """A JSON book file: a list of offers, or ``{"offers": [...]}``."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationError(f"cannot read book {path}: {exc}") from exc
    items = raw.get("offers") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ValidationError(f"book {path}: expected a list of offers")
    try:
        return [ListingOffer.model_validate(item) for item in items]
    except ValueError as exc:
        raise ValidationError(f"book {path}: {exc}") from exc


def save_plan(plan: Plan, path: Path) -> None:
    """Write ``plan`` as the plan file (JSON, format ``gridledger-plan/1``)."""
    path.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")


def load_plan(path: Path) -> Plan:
    """Read a plan file written by :func:`save_plan`.

    Raises:
        ValidationError: Unreadable, not JSON, another format, or inconsistent totals.
    """
    try:
        plan = Plan.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read plan {path}: {exc}") from exc
    if sum(t.quantity_wh for t in plan.takes) != plan.totals.filled_wh:
        raise ValidationError(f"plan {path}: takes do not add up to filled_wh")
    return plan
