// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IReputationLedger
/// @notice Mechanism 5, two-level credit. Inside: after a trade settles each party may rate
/// the other once (1..5, optional reason code) within the rating window; every node's
/// reputation (0..1000) is updated in O(1) and published. Outside: the CREDIT_AGENCY posts
/// composite credit levels (0 = AAA .. 8 = C) with an effective time; applied, a level sets
/// the node's bond through the registry's table. A level drop the bond does not cover
/// opens a top-up deadline; after it the node is blocked ("BOND_TOPUP") until it tops up.
///
/// Reputation (all values 1e18 fixed point, "WAD"; see docs/reputation.md):
///   P, N, T, D  time-decayed positive weight, rating count, settled-trade count and
///               penalty points; each halves every 90 days (decay applied lazily at UTC
///               day granularity: factor = powWad(DAY_DECAY_WAD, d % 90) >> (d / 90)).
///   a rating of score k adds (k - 1) / 4 to P and 1 to N; a settled trade adds 1 to both
///   parties' T (once per trade, at its first rating or `recordTrade`).
///   s = (P + 5 x 0.5) / (N + 5)        Bayesian-smoothed share of positive ratings
///   A = T / (T + 10)                    activity, diminishing returns
///   R = max(0, floor(1000 x s x (0.7 + 0.3 x A)) - floor(D))
///
/// Thresholds (REGULATOR): below `warningThreshold` a PublicWarningIssued event; below
/// `removalThreshold` the node is removed through the registry (this contract holds
/// REGULATOR for that). Reward: at or above `rewardThreshold` an agency-rated node's
/// effective credit level is one notch better than the agency's (AAA stays AAA), so its
/// required bond follows the registry's table one row up. This contract holds
/// CREDIT_AGENCY (to set the effective level in the registry) and MARKET_CONTRACT (to
/// block and unblock trading).
interface IReputationLedger {
    /// @notice Both ratings of one trade: the buyer's of the seller and the seller's of the
    /// buyer (score 0 = not rated yet). When each was given is its RatingSubmitted event's
    /// block (not stored; the client's `trade_ratings` reads it from there).
    struct TradeRatings {
        uint8 buyerScore;
        uint8 sellerScore;
        bool counted;
        bytes32 buyerReason;
        bytes32 sellerReason;
    }

    /// @notice A node's reputation state; `reputation` is decayed to now, the WAD sums as
    /// stored at `updatedDay` (UTC day number).
    struct ReputationInfo {
        uint16 reputation;
        uint256 positiveWad;
        uint256 ratingsWad;
        uint256 tradesWad;
        uint256 penaltyWad;
        uint32 updatedDay;
        uint32 ratingCount;
        uint32 tradeCount;
        bool warned;
    }

    /// @notice A node's credit state. `effectiveLevel` is the level this contract wants in
    /// the registry (agency level, one better with the reward); `registryLevel` is the
    /// registry's current level; `requiredBondFen` the bond `effectiveLevel` requires.
    struct CreditInfo {
        bool agencyRated;
        uint8 agencyLevel;
        bool hasPending;
        uint8 pendingLevel;
        uint64 pendingEffectiveAt;
        bool rewarded;
        uint8 effectiveLevel;
        uint8 registryLevel;
        uint256 requiredBondFen;
        uint256 bondFen;
        uint64 topUpDeadline;
        uint8 topUpLevel;
        bool blocked;
    }

    // ------------------------------------------------------------------ events

    /// @notice `rater` rated `ratee` `score` (1..5) for trade `tradeId`.
    event RatingSubmitted(
        uint256 indexed tradeId,
        address indexed rater,
        address indexed ratee,
        uint8 score,
        bytes32 reasonCode
    );
    /// @notice Settled trade `tradeId` counted once as activity of both parties.
    event TradeCounted(uint256 indexed tradeId, address buyer, address seller, address by);
    /// @notice `node`'s reputation is now `reputation` (0..1000); the WAD sums as stored.
    event ReputationUpdated(
        address indexed node,
        uint16 reputation,
        uint256 positiveWad,
        uint256 ratingsWad,
        uint256 tradesWad,
        uint256 penaltyWad,
        uint32 updatedDay
    );
    /// @notice `points` reputation points were deducted from `node` (ruling, violation).
    event ReputationPenalized(
        address indexed node, uint16 points, bytes32 reasonHash, address by
    );
    /// @notice Public warning: `node`'s reputation fell below `threshold`.
    event PublicWarningIssued(address indexed node, uint16 reputation, uint16 threshold);
    /// @notice `node`'s reputation is back at or above the warning threshold.
    event PublicWarningLifted(address indexed node, uint16 reputation, uint16 threshold);
    /// @notice `node`'s reputation fell below `threshold`; it was removed via the registry.
    event LowReputationRemoval(address indexed node, uint16 reputation, uint16 threshold);
    /// @notice `node` gained (or lost) the high-reputation reward (one credit notch).
    event ReputationRewardChanged(address indexed node, bool rewarded, uint16 reputation);

    /// @notice The CREDIT_AGENCY posted `level` for `node`, effective from `effectiveAt`.
    event CreditLevelPosted(
        address indexed node, uint8 level, uint64 effectiveAt, address agency
    );
    /// @notice The agency level `agencyLevel` took effect; the registry now holds
    /// `effectiveLevel` (requirement `requiredBondFen`).
    event CreditLevelApplied(
        address indexed node,
        uint8 agencyLevel,
        uint8 effectiveLevel,
        bool rewarded,
        uint256 requiredBondFen
    );
    /// @notice `node` must raise its bond to `requiredBondFen` by `deadline`, when
    /// `level` takes effect in the registry.
    event TopUpRequired(
        address indexed node,
        uint8 level,
        uint256 requiredBondFen,
        uint256 bondFen,
        uint64 deadline
    );
    /// @notice The deadline passed: `level` was set in the registry; `blocked` tells if
    /// the bond fell short and trading was blocked ("BOND_TOPUP").
    event TopUpEnforced(
        address indexed node, uint8 level, uint256 requiredBondFen, uint256 bondFen, bool blocked
    );
    /// @notice `node`'s bond covers its requirement again (open deadline or block cleared).
    event TopUpCleared(address indexed node, uint8 level, uint256 requiredBondFen, uint256 bondFen);

    /// @notice The OPERATOR set the rating window (seconds after the delivery end).
    event RatingWindowSet(uint64 windowS, address operator);
    /// @notice The OPERATOR set the top-up grace period.
    event TopUpGraceSet(uint64 graceS, address operator);
    /// @notice The REGULATOR set the warning, removal and reward thresholds.
    event ThresholdsSet(uint16 warning, uint16 removal, uint16 reward, address regulator);

    // ------------------------------------------------------------------ errors

    error ZeroAddress();
    /// @notice Scores are 1..5.
    error InvalidScore(uint8 score);
    /// @notice The trade is not settled (ratings and activity need a settled trade).
    error TradeNotSettled(uint256 tradeId, uint8 status);
    /// @notice Only the trade's buyer or seller may rate it.
    error NotTradeParty(uint256 tradeId, address caller);
    /// @notice A node cannot rate itself.
    error SelfRating(uint256 tradeId, address node);
    /// @notice `rater` already rated trade `tradeId`.
    error AlreadyRated(uint256 tradeId, address rater);
    /// @notice The rating window of the trade closed at `closesAt`.
    error RatingWindowClosed(uint256 tradeId, uint64 closesAt, uint64 nowS);
    /// @notice The trade was already counted as activity.
    error TradeAlreadyCounted(uint256 tradeId);
    /// @notice Penalties are 1..1000 points.
    error InvalidPoints(uint16 points);
    /// @notice The caller is neither the REGULATOR nor a MARKET_CONTRACT.
    error UnauthorizedPenalizer(address account);
    /// @notice Thresholds need removal < warning < reward <= 1000.
    error InvalidThresholds(uint16 warning, uint16 removal, uint16 reward);
    /// @notice Windows and grace periods must be positive.
    error InvalidDuration(uint64 durationS);
    /// @notice Credit levels are 0 (AAA) .. 8 (C).
    error InvalidCreditLevel(uint8 level);
    /// @notice `node` is not known to the registry.
    error NodeNotRegistered(address node);
    /// @notice No posted level awaits `node`.
    error NoPendingLevel(address node);
    /// @notice The posted level takes effect only at `effectiveAt`.
    error LevelNotYetEffective(address node, uint64 effectiveAt, uint64 nowS);
    /// @notice `node` has no open top-up deadline or top-up block.
    error NoTopUpDue(address node);
    /// @notice The top-up deadline is `deadline`.
    error TopUpDeadlineNotReached(address node, uint64 deadline, uint64 nowS);
    /// @notice The bond `bondFen` is still below `requiredFen`.
    error BondStillShort(address node, uint256 bondFen, uint256 requiredFen);

    // ------------------------------------------------------------------ nodes

    /// @notice Rate the other party of settled trade `tradeId` (once, within the window).
    /// Counts the trade as activity of both parties if not counted yet.
    function rate(uint256 tradeId, uint8 score, bytes32 reasonCode) external;

    /// @notice Count settled trade `tradeId` as activity of both parties (anyone, once,
    /// within the rating window).
    function recordTrade(uint256 tradeId) external;

    /// @notice Apply the decay up to today to `node` and re-check thresholds and reward
    /// (anyone).
    function refreshReputation(address node) external;

    // ------------------------------------------------------------------ REGULATOR / MARKET_CONTRACT

    /// @notice Deduct `points` (1..1000) from `node`'s reputation (decaying like the rest).
    function penalize(address node, uint16 points, bytes32 reasonHash) external;

    // ------------------------------------------------------------------ CREDIT_AGENCY

    /// @notice Post `node`'s composite credit level, effective from `effectiveAt` (applied
    /// at once when `effectiveAt` <= now, else by `applyCreditLevel`). Replaces a level
    /// still pending.
    function postCreditLevel(address node, uint8 level, uint64 effectiveAt) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Apply `node`'s posted level once it is effective.
    function applyCreditLevel(address node) external;

    /// @notice After the top-up deadline: set the pending level in the registry and block
    /// trading ("BOND_TOPUP") if the bond is still short.
    function enforceTopUp(address node) external;

    /// @notice The bond covers the requirement again: apply the pending level before the
    /// deadline, or lift the "BOND_TOPUP" block.
    function clearTopUp(address node) external;

    // ------------------------------------------------------------------ configuration

    function setRatingWindow(uint64 windowS) external;
    function setTopUpGrace(uint64 graceS) external;
    function setThresholds(uint16 warning, uint16 removal, uint16 reward) external;

    // ------------------------------------------------------------------ views

    function registry() external view returns (address);
    function market() external view returns (address);
    function ratingWindow() external view returns (uint64);
    function topUpGrace() external view returns (uint64);
    function thresholds() external view returns (uint16 warning, uint16 removal, uint16 reward);

    /// @notice `node`'s reputation 0..1000, decayed to now (500 x 0.7 = 350 with no history).
    function reputationOf(address node) external view returns (uint16);
    function reputationInfo(address node) external view returns (ReputationInfo memory);
    /// @notice Reputations of `nodes` (for listings and the optimiser), decayed to now.
    function reputationsOf(address[] calldata nodes) external view returns (uint16[] memory);
    /// @notice Whether `node` holds the high-reputation reward (one credit notch).
    function isRewarded(address node) external view returns (bool);
    function tradeRatings(uint256 tradeId) external view returns (TradeRatings memory);
    /// @notice When trade `tradeId`'s rating window closes (its period's delivery end plus
    /// the window).
    function ratingClosesAt(uint256 tradeId) external view returns (uint64);
    function creditInfo(address node) external view returns (CreditInfo memory);

    /// @notice The decay factor (WAD) after `daysElapsed` whole days.
    function decayFactorWad(uint256 daysElapsed) external pure returns (uint256);
}
