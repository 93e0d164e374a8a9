"""Client of ``ReputationLedger`` (contracts/interfaces/IReputationLedger.sol) and an exact
integer mirror of its reputation formula.

Formula (all sums 1e18 fixed point, "WAD"; docs/reputation.md has the derivation)::

    s = (P + 2.5) / (N + 5)                     smoothed share of positive ratings
    A = T / (T + 10)                            activity, diminishing returns
    R = max(0, floor(1000 s (0.7 + 0.3 A)) - floor(D))

``P`` (positive weight: a score k adds (k - 1) / 4), ``N`` (ratings), ``T`` (settled
trades) and ``D`` (penalty points) halve every 90 days, applied lazily in whole UTC days.
:func:`reputation_points` and :func:`decay` reproduce the contract bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from web3.types import TxReceipt

from ledger.addresses import checksum_address as _addr
from ledger.clients.base import ContractClient
from ledger.clients.base import model_from_values as _model
from ledger.clients.registry import code
from ledger.errors import ValidationError

WAD = 10**18
HALF_LIFE_DAYS = 90
#: floor(2^(-1/90) * 1e18), the decay of one day.
DAY_DECAY_WAD = 992_327_946_262_943_481
PRIOR_WEIGHT_WAD = 5 * WAD
PRIOR_POSITIVE_WAD = 5 * WAD // 2
ACTIVITY_K_WAD = 10 * WAD
QUALITY_POINTS = 700
ACTIVITY_POINTS = 300
MAX_REPUTATION = 1000
DAY_S = 86_400
#: The registry block reason of a missed top-up deadline.
BOND_TOPUP = code("BOND_TOPUP")
#: The registry removal reason below the removal threshold.
LOW_REPUTATION = code("LOW_REPUTATION")


def decay_factor_wad(days: int) -> int:
    """``decayFactorWad``: ``powWad(DAY_DECAY_WAD, days % 90) >> (days // 90)``."""
    halvings, rest = divmod(days, HALF_LIFE_DAYS)
    if halvings >= 60:
        return 0
    result, base = WAD, DAY_DECAY_WAD
    while rest:
        if rest & 1:
            result = result * base // WAD
        base = base * base // WAD
        rest >>= 1
    return result >> halvings


def positive_weight_wad(score: int) -> int:
    """What a rating of ``score`` (1..5) adds to the positive weight P."""
    if not 1 <= score <= 5:
        raise ValidationError(f"a score is 1..5, not {score}")
    return (score - 1) * WAD // 4


class ReputationState(BaseModel):
    """The stored sums of one node (WAD) and the UTC day they were decayed to."""

    model_config = ConfigDict(frozen=True)

    positive_wad: int = 0
    ratings_wad: int = 0
    trades_wad: int = 0
    penalty_wad: int = 0
    day: int = 0

    def decayed(self, today: int) -> ReputationState:
        """The contract's lazy decay up to UTC day ``today``."""
        if self.day >= today:
            return self
        if self.ratings_wad | self.trades_wad | self.penalty_wad == 0:
            return self.model_copy(update={"day": today})
        f = decay_factor_wad(today - self.day)
        return ReputationState(
            positive_wad=self.positive_wad * f // WAD,
            ratings_wad=self.ratings_wad * f // WAD,
            trades_wad=self.trades_wad * f // WAD,
            penalty_wad=self.penalty_wad * f // WAD,
            day=today,
        )

    def rated(self, score: int) -> ReputationState:
        return self.model_copy(
            update={
                "positive_wad": self.positive_wad + positive_weight_wad(score),
                "ratings_wad": self.ratings_wad + WAD,
            }
        )

    def traded(self) -> ReputationState:
        return self.model_copy(update={"trades_wad": self.trades_wad + WAD})

    def penalized(self, points: int) -> ReputationState:
        return self.model_copy(update={"penalty_wad": self.penalty_wad + points * WAD})

    @property
    def reputation(self) -> int:
        return reputation_points(
            self.positive_wad, self.ratings_wad, self.trades_wad, self.penalty_wad
        )


def reputation_points(
    positive_wad: int, ratings_wad: int, trades_wad: int, penalty_wad: int
) -> int:
    """The contract's ``_score``: reputation 0..1000 from the (decayed) sums."""
    s = (positive_wad + PRIOR_POSITIVE_WAD) * WAD // (ratings_wad + PRIOR_WEIGHT_WAD)
    a = trades_wad * WAD // (trades_wad + ACTIVITY_K_WAD)
    points = s * (QUALITY_POINTS * WAD + ACTIVITY_POINTS * a) // (WAD * WAD)
    penalty = penalty_wad // WAD
    return points - penalty if points > penalty else 0


class TradeScores(BaseModel):
    """``IReputationLedger.TradeRatings`` as the contract returns it: the buyer's score of
    the seller and back (0 = not rated), whether the trade was counted, the reasons."""

    model_config = ConfigDict(frozen=True)

    buyer_score: int
    seller_score: int
    counted: bool
    buyer_reason: bytes
    seller_reason: bytes


class TradeRatings(BaseModel):
    """The buyer's rating of the seller and back, with when each was given (0 = not
    rated; the block time of its ``RatingSubmitted`` event)."""

    model_config = ConfigDict(frozen=True)

    buyer_score: int
    seller_score: int
    buyer_rated_at: int
    seller_rated_at: int
    counted: bool
    buyer_reason: bytes
    seller_reason: bytes


class ReputationInfo(BaseModel):
    """``IReputationLedger.ReputationInfo`` (``reputation`` decayed to now)."""

    model_config = ConfigDict(frozen=True)

    reputation: int
    positive_wad: int
    ratings_wad: int
    trades_wad: int
    penalty_wad: int
    updated_day: int
    rating_count: int
    trade_count: int
    warned: bool

    @property
    def state(self) -> ReputationState:
        return ReputationState(
            positive_wad=self.positive_wad,
            ratings_wad=self.ratings_wad,
            trades_wad=self.trades_wad,
            penalty_wad=self.penalty_wad,
            day=self.updated_day,
        )


class CreditInfo(BaseModel):
    """``IReputationLedger.CreditInfo``."""

    model_config = ConfigDict(frozen=True)

    agency_rated: bool
    agency_level: int
    has_pending: bool
    pending_level: int
    pending_effective_at: int
    rewarded: bool
    effective_level: int
    registry_level: int
    required_bond_fen: int
    bond_fen: int
    top_up_deadline: int
    top_up_level: int
    blocked: bool


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True)

    warning: int
    removal: int
    reward: int


class ReputationLedgerClient(ContractClient):
    """Ratings, reputation, penalties and the credit agency's levels."""

    ARTIFACT = "ReputationLedger"

    # ---------------------------------------------------------------- writes
    def rate(self, trade_id: int, score: int, reason: bytes = b"\x00" * 32) -> TxReceipt:
        return self._transact("rate", trade_id, score, reason)

    def record_trade(self, trade_id: int) -> TxReceipt:
        return self._transact("recordTrade", trade_id)

    def refresh_reputation(self, node: str) -> TxReceipt:
        return self._transact("refreshReputation", _addr(node))

    def penalize(self, node: str, points: int, reason_hash: bytes) -> TxReceipt:
        return self._transact("penalize", _addr(node), points, reason_hash)

    def post_credit_level(self, node: str, level: int, effective_at: int) -> TxReceipt:
        return self._transact("postCreditLevel", _addr(node), level, effective_at)

    def apply_credit_level(self, node: str) -> TxReceipt:
        return self._transact("applyCreditLevel", _addr(node))

    def enforce_top_up(self, node: str) -> TxReceipt:
        return self._transact("enforceTopUp", _addr(node))

    def clear_top_up(self, node: str) -> TxReceipt:
        return self._transact("clearTopUp", _addr(node))

    def set_rating_window(self, window_s: int) -> TxReceipt:
        return self._transact("setRatingWindow", window_s)

    def set_top_up_grace(self, grace_s: int) -> TxReceipt:
        return self._transact("setTopUpGrace", grace_s)

    def set_thresholds(self, warning: int, removal: int, reward: int) -> TxReceipt:
        return self._transact("setThresholds", warning, removal, reward)

    # ---------------------------------------------------------------- views
    def registry(self) -> str:
        return str(self._call("registry"))

    def market(self) -> str:
        return str(self._call("market"))

    def rating_window(self) -> int:
        return int(self._call("ratingWindow"))

    def top_up_grace(self) -> int:
        return int(self._call("topUpGrace"))

    def thresholds(self) -> Thresholds:
        return _model(Thresholds, self._call("thresholds"))

    def reputation_of(self, node: str) -> int:
        return int(self._call("reputationOf", _addr(node)))

    def reputations_of(self, nodes: Sequence[str]) -> list[int]:
        return [int(x) for x in self._call("reputationsOf", [_addr(n) for n in nodes])]

    def reputation_info(self, node: str) -> ReputationInfo:
        return _model(ReputationInfo, self._call("reputationInfo", _addr(node)))

    def is_rewarded(self, node: str) -> bool:
        return bool(self._call("isRewarded", _addr(node)))

    def trade_scores(self, trade_id: int) -> TradeScores:
        """Both scores of ``trade_id`` (one call; no rating times)."""
        return _model(TradeScores, self._call("tradeRatings", trade_id))

    def trade_ratings(self, trade_id: int) -> TradeRatings:
        """Both ratings of ``trade_id``; when each was given is the block time of its
        ``RatingSubmitted`` event (the contract stores only the scores)."""
        s = self.trade_scores(trade_id)
        buyer_at, seller_at = self._rated_at(trade_id, bool(s.buyer_score), bool(s.seller_score))
        return TradeRatings(
            buyer_score=s.buyer_score,
            seller_score=s.seller_score,
            buyer_rated_at=buyer_at,
            seller_rated_at=seller_at,
            counted=s.counted,
            buyer_reason=s.buyer_reason,
            seller_reason=s.seller_reason,
        )

    def _rated_at(self, trade_id: int, buyer_rated: bool, seller_rated: bool) -> tuple[int, int]:
        """Block times of the buyer's and the seller's ``RatingSubmitted`` of ``trade_id``."""
        if not (buyer_rated or seller_rated):
            return 0, 0
        events = self._contract.events
        ratings = events["RatingSubmitted"]().get_logs(
            from_block=0, argument_filters={"tradeId": trade_id}
        )
        eth = self.sender.w3.eth
        times = {
            str(e["args"]["rater"]): int(eth.get_block(e["blockNumber"])["timestamp"])
            for e in ratings
        }
        if not (buyer_rated and seller_rated):
            at = next(iter(times.values()), 0)
            return (at, 0) if buyer_rated else (0, at)
        (counted,) = events["TradeCounted"]().get_logs(
            from_block=0, argument_filters={"tradeId": trade_id}
        )
        buyer = str(counted["args"]["buyer"])
        seller = str(counted["args"]["seller"])
        return times.get(buyer, 0), times.get(seller, 0)

    def rating_closes_at(self, trade_id: int) -> int:
        return int(self._call("ratingClosesAt", trade_id))

    def credit_info(self, node: str) -> CreditInfo:
        return _model(CreditInfo, self._call("creditInfo", _addr(node)))

    def decay_factor(self, days: int) -> int:
        return int(self._call("decayFactorWad", days))
