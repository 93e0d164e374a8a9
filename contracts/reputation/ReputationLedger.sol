// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IReputationLedger} from "../interfaces/IReputationLedger.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";

/// @dev The one view of TradingMarket that rating reads (buyer, seller, status and the end
/// of the delivery window of a trade; reverts UnknownTrade for an unknown id).
interface IRatingTerms {
    function ratingTerms(uint256 tradeId)
        external
        view
        returns (
            address buyer,
            address seller,
            ITradingMarket.TradeStatus status,
            uint64 deliveryEndsAt
        );
}

/// @title ReputationLedger
/// @notice Mutual ratings, the reputation formula, thresholds, the high-reputation reward
/// and the external credit agency's levels with top-up deadlines (see IReputationLedger).
/// @dev Every function is O(1): decay is applied lazily per node with a bounded
/// exponentiation (at most 7 squarings), no list grows here (ratings are keyed by trade).
/// Storage (docs/gas.md "ReputationLedger"): a node's reputation record is two packed words
/// written whole (they also hold the credit flags `agencyRated` and `rewarded`, so a rating
/// reads no credit slot); a trade's scores and counted flag are one byte of a word shared
/// by 32 consecutive trade ids; when a rating was given is its RatingSubmitted event.
contract ReputationLedger is IReputationLedger, MarketAccessed {
    /// @notice 1.0 in the fixed point of every weight and share.
    uint256 public constant WAD = 1e18;
    /// @notice Every weight halves after this many days.
    uint256 public constant HALF_LIFE_DAYS = 90;
    /// @notice floor(2^(-1/90) x 1e18): the decay of one day.
    uint256 public constant DAY_DECAY_WAD = 992327946262943481;
    /// @notice Smoothing: the prior counts as 5 ratings of share 0.5 (weight 2.5 positive).
    uint256 public constant PRIOR_WEIGHT_WAD = 5e18;
    uint256 public constant PRIOR_POSITIVE_WAD = 2.5e18;
    /// @notice Activity A = T / (T + 10): half the activity credit at 10 (decayed) trades.
    uint256 public constant ACTIVITY_K_WAD = 10e18;
    /// @notice R = s x (700 + 300 x A) points.
    uint256 public constant QUALITY_POINTS = 700;
    uint256 public constant ACTIVITY_POINTS = 300;
    uint16 public constant MAX_REPUTATION = 1000;
    uint8 public constant CREDIT_LEVELS = 9;
    /// @notice Registry block reason of a missed top-up deadline.
    bytes32 public constant BOND_TOPUP = "BOND_TOPUP";
    /// @notice Registry removal reason below the removal threshold.
    bytes32 public constant LOW_REPUTATION = "LOW_REPUTATION";

    /// @dev A node's record, unpacked (see _load for the two stored words).
    struct Rep {
        uint96 positive;
        uint96 ratings;
        uint32 day;
        uint32 ratingCount;
        uint96 trades;
        uint96 penalty;
        uint32 tradeCount;
        bool warned;
        bool agencyRated;
        bool rewarded;
    }

    /// @dev Word a: positive | ratings << 96 | day << 192 | ratingCount << 224.
    /// Word b: trades | penalty << 96 | tradeCount << 192 | warned << 224
    /// | agencyRated << 225 | rewarded << 226.
    struct StoredRep {
        uint256 a;
        uint256 b;
    }

    /// @dev The rest of a node's credit state (its flags are in its StoredRep word b).
    struct Credit {
        uint8 agencyLevel;
        uint8 pendingLevel;
        bool hasPending;
        uint64 pendingEffectiveAt;
        uint8 topUpLevel;
        uint64 topUpDeadline;
        bool blocked;
    }

    uint256 private constant AGENCY_RATED_BIT = 1 << 225;
    uint256 private constant REWARDED_BIT = 1 << 226;
    /// @dev A trade's byte in its ratings word: buyer score (bits 0..2), seller score
    /// (bits 3..5), counted (bit 6).
    uint256 private constant SELLER_SHIFT = 3;
    uint256 private constant SCORE_MASK = 7;
    uint256 private constant COUNTED = 64;

    INodeRegistry private immutable _registry;
    ITradingMarket private immutable _market;

    uint64 private _ratingWindowS;
    uint64 private _topUpGraceS;
    uint16 private _warning;
    uint16 private _removal;
    uint16 private _reward;

    mapping(address node => StoredRep) private _reps;
    mapping(address node => Credit) private _credit;
    /// @dev Trade `id`'s byte is byte `id % 32` of word `id / 32`.
    mapping(uint256 word => uint256) private _ratingWords;
    mapping(uint256 tradeId => bytes32) private _buyerReason;
    mapping(uint256 tradeId => bytes32) private _sellerReason;

    /// @param access_ The suite's access root.
    /// @param registry_ The node registry (this contract needs CREDIT_AGENCY,
    /// MARKET_CONTRACT and REGULATOR there).
    /// @param market_ The trading market whose settled trades are rated.
    /// @param ratingWindowS_ Ratings close this long after the trade's delivery end.
    /// @param topUpGraceS_ Time given to top up after a level drop.
    /// @param warning_ Public warning below this reputation.
    /// @param removal_ Removal below this reputation.
    /// @param reward_ The reward from this reputation.
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        ITradingMarket market_,
        uint64 ratingWindowS_,
        uint64 topUpGraceS_,
        uint16 warning_,
        uint16 removal_,
        uint16 reward_
    ) MarketAccessed(access_) {
        if (address(registry_) == address(0) || address(market_) == address(0)) {
            revert ZeroAddress();
        }
        _registry = registry_;
        _market = market_;
        _setRatingWindow(ratingWindowS_);
        _setTopUpGrace(topUpGraceS_);
        _setThresholds(warning_, removal_, reward_);
    }

    // ================================================================ ratings

    /// @inheritdoc IReputationLedger
    function rate(uint256 tradeId, uint8 score, bytes32 reasonCode) external {
        if (score < 1 || score > 5) revert InvalidScore(score);
        (address buyer, address seller) = _ratableTrade(tradeId);
        bool isBuyer = msg.sender == buyer;
        if (!isBuyer && msg.sender != seller) revert NotTradeParty(tradeId, msg.sender);
        address ratee = isBuyer ? seller : buyer;
        if (ratee == msg.sender) revert SelfRating(tradeId, msg.sender);
        bool count = _recordRating(tradeId, isBuyer, score, reasonCode);
        Rep memory target = _decayed(ratee);
        target.positive += uint96((uint256(score) - 1) * WAD / 4);
        target.ratings += uint96(WAD);
        target.ratingCount += 1;
        Rep memory own;
        if (count) {
            target.trades += uint96(WAD);
            target.tradeCount += 1;
            own = _decayed(msg.sender);
            own.trades += uint96(WAD);
            own.tradeCount += 1;
        }
        emit RatingSubmitted(tradeId, msg.sender, ratee, score, reasonCode);
        if (count) emit TradeCounted(tradeId, buyer, seller, msg.sender);
        _commit(ratee, target);
        if (count) _commit(msg.sender, own);
    }

    /// @inheritdoc IReputationLedger
    function recordTrade(uint256 tradeId) external {
        (address buyer, address seller) = _ratableTrade(tradeId);
        (uint256 entry, uint256 shift, uint256 word) = _ratingEntry(tradeId);
        if (entry & COUNTED != 0) revert TradeAlreadyCounted(tradeId);
        _ratingWords[tradeId >> 5] = word | (COUNTED << shift);
        Rep memory b = _decayed(buyer);
        b.trades += uint96(WAD);
        b.tradeCount += 1;
        Rep memory s = _decayed(seller);
        s.trades += uint96(WAD);
        s.tradeCount += 1;
        emit TradeCounted(tradeId, buyer, seller, msg.sender);
        _commit(buyer, b);
        _commit(seller, s);
    }

    /// @inheritdoc IReputationLedger
    function refreshReputation(address node) external {
        if (node == address(0)) revert ZeroAddress();
        _commit(node, _decayed(node));
    }

    /// @inheritdoc IReputationLedger
    function penalize(address node, uint16 points, bytes32 reasonHash) external {
        if (!_hasRole(Roles.REGULATOR, msg.sender) && !_hasRole(Roles.MARKET_CONTRACT, msg.sender))
        {
            revert UnauthorizedPenalizer(msg.sender);
        }
        if (node == address(0)) revert ZeroAddress();
        if (points == 0 || points > MAX_REPUTATION) revert InvalidPoints(points);
        Rep memory r = _decayed(node);
        r.penalty += uint96(uint256(points) * WAD);
        emit ReputationPenalized(node, points, reasonHash, msg.sender);
        _commit(node, r);
    }

    // ================================================================ credit

    /// @inheritdoc IReputationLedger
    function postCreditLevel(address node, uint8 level, uint64 effectiveAt)
        external
        onlyRole(Roles.CREDIT_AGENCY)
    {
        if (level >= CREDIT_LEVELS) revert InvalidCreditLevel(level);
        if (node == address(0)) revert ZeroAddress();
        if (_registry.statusOf(node) == INodeRegistry.NodeStatus.None) revert NodeNotRegistered(node);
        Credit storage c = _credit[node];
        c.pendingLevel = level;
        c.pendingEffectiveAt = effectiveAt;
        c.hasPending = true;
        emit CreditLevelPosted(node, level, effectiveAt, msg.sender);
        if (effectiveAt <= block.timestamp) _applyPending(node, c);
    }

    /// @inheritdoc IReputationLedger
    function applyCreditLevel(address node) external {
        Credit storage c = _credit[node];
        if (!c.hasPending) revert NoPendingLevel(node);
        if (c.pendingEffectiveAt > block.timestamp) {
            revert LevelNotYetEffective(node, c.pendingEffectiveAt, uint64(block.timestamp));
        }
        _applyPending(node, c);
    }

    /// @inheritdoc IReputationLedger
    function enforceTopUp(address node) external {
        Credit storage c = _credit[node];
        uint64 deadline = c.topUpDeadline;
        if (deadline == 0) revert NoTopUpDue(node);
        if (block.timestamp < deadline) {
            revert TopUpDeadlineNotReached(node, deadline, uint64(block.timestamp));
        }
        uint8 level = c.topUpLevel;
        uint256 required = _registry.bondTable()[level];
        uint256 bond = _registry.bondOf(node);
        bool block_ = bond < required && !c.blocked;
        c.topUpDeadline = 0;
        if (block_) c.blocked = true;
        emit TopUpEnforced(node, level, required, bond, bond < required);
        _registry.setCreditLevel(node, level);
        if (block_) _registry.blockTrading(node, BOND_TOPUP);
    }

    /// @inheritdoc IReputationLedger
    function clearTopUp(address node) external {
        Credit storage c = _credit[node];
        uint256 bond = _registry.bondOf(node);
        if (c.topUpDeadline != 0) {
            uint8 level = c.topUpLevel;
            uint256 required = _registry.bondTable()[level];
            if (bond < required) revert BondStillShort(node, bond, required);
            c.topUpDeadline = 0;
            bool unblock = c.blocked;
            if (unblock) c.blocked = false;
            emit TopUpCleared(node, level, required, bond);
            _registry.setCreditLevel(node, level);
            if (unblock) _registry.unblockTrading(node, BOND_TOPUP);
        } else if (c.blocked) {
            uint256 required = _registry.requiredBondOf(node);
            if (bond < required) revert BondStillShort(node, bond, required);
            c.blocked = false;
            emit TopUpCleared(node, _registry.creditLevelOf(node), required, bond);
            _registry.unblockTrading(node, BOND_TOPUP);
        } else {
            revert NoTopUpDue(node);
        }
    }

    // ================================================================ configuration

    /// @inheritdoc IReputationLedger
    function setRatingWindow(uint64 windowS) external onlyRole(Roles.OPERATOR) {
        _setRatingWindow(windowS);
    }

    /// @inheritdoc IReputationLedger
    function setTopUpGrace(uint64 graceS) external onlyRole(Roles.OPERATOR) {
        _setTopUpGrace(graceS);
    }

    /// @inheritdoc IReputationLedger
    function setThresholds(uint16 warning, uint16 removal, uint16 reward)
        external
        onlyRole(Roles.REGULATOR)
    {
        _setThresholds(warning, removal, reward);
    }

    // ================================================================ views

    /// @inheritdoc IReputationLedger
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IReputationLedger
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IReputationLedger
    function ratingWindow() external view returns (uint64) {
        return _ratingWindowS;
    }

    /// @inheritdoc IReputationLedger
    function topUpGrace() external view returns (uint64) {
        return _topUpGraceS;
    }

    /// @inheritdoc IReputationLedger
    function thresholds() external view returns (uint16 warning, uint16 removal, uint16 reward) {
        return (_warning, _removal, _reward);
    }

    /// @inheritdoc IReputationLedger
    function reputationOf(address node) external view returns (uint16) {
        return _score(_decayed(node));
    }

    /// @inheritdoc IReputationLedger
    function reputationsOf(address[] calldata nodes) external view returns (uint16[] memory out) {
        out = new uint16[](nodes.length);
        for (uint256 i; i < nodes.length; ++i) {
            out[i] = _score(_decayed(nodes[i]));
        }
    }

    /// @inheritdoc IReputationLedger
    function reputationInfo(address node) external view returns (ReputationInfo memory info) {
        Rep memory r = _load(node);
        info = ReputationInfo({
            reputation: _score(_decayed(node)),
            positiveWad: r.positive,
            ratingsWad: r.ratings,
            tradesWad: r.trades,
            penaltyWad: r.penalty,
            updatedDay: r.day,
            ratingCount: r.ratingCount,
            tradeCount: r.tradeCount,
            warned: r.warned
        });
    }

    /// @inheritdoc IReputationLedger
    function isRewarded(address node) external view returns (bool) {
        return _reps[node].b & REWARDED_BIT != 0;
    }

    /// @inheritdoc IReputationLedger
    function tradeRatings(uint256 tradeId) external view returns (TradeRatings memory) {
        (uint256 entry,,) = _ratingEntry(tradeId);
        return TradeRatings({
            buyerScore: uint8(entry & SCORE_MASK),
            sellerScore: uint8((entry >> SELLER_SHIFT) & SCORE_MASK),
            counted: entry & COUNTED != 0,
            buyerReason: _buyerReason[tradeId],
            sellerReason: _sellerReason[tradeId]
        });
    }

    /// @inheritdoc IReputationLedger
    function ratingClosesAt(uint256 tradeId) external view returns (uint64) {
        (,,, uint64 deliveryEndsAt) = IRatingTerms(address(_market)).ratingTerms(tradeId);
        return deliveryEndsAt + _ratingWindowS;
    }

    /// @inheritdoc IReputationLedger
    function creditInfo(address node) external view returns (CreditInfo memory info) {
        Credit storage c = _credit[node];
        uint256 flags = _reps[node].b;
        bool agencyRated = flags & AGENCY_RATED_BIT != 0;
        bool rewarded = flags & REWARDED_BIT != 0;
        uint8 effective =
            agencyRated ? _target(c.agencyLevel, rewarded) : _registry.creditLevelOf(node);
        info = CreditInfo({
            agencyRated: agencyRated,
            agencyLevel: c.agencyLevel,
            hasPending: c.hasPending,
            pendingLevel: c.pendingLevel,
            pendingEffectiveAt: c.pendingEffectiveAt,
            rewarded: rewarded,
            effectiveLevel: effective,
            registryLevel: _registry.creditLevelOf(node),
            requiredBondFen: _registry.bondTable()[effective],
            bondFen: _registry.bondOf(node),
            topUpDeadline: c.topUpDeadline,
            topUpLevel: c.topUpLevel,
            blocked: c.blocked
        });
    }

    /// @inheritdoc IReputationLedger
    function decayFactorWad(uint256 daysElapsed) public pure returns (uint256) {
        uint256 halvings = daysElapsed / HALF_LIFE_DAYS;
        if (halvings >= 60) return 0;
        uint256 rest = daysElapsed % HALF_LIFE_DAYS;
        uint256 result = WAD;
        uint256 base = DAY_DECAY_WAD;
        while (rest != 0) {
            if (rest & 1 != 0) result = result * base / WAD;
            base = base * base / WAD;
            rest >>= 1;
        }
        return result >> halvings;
    }

    // ================================================================ internals

    /// @dev The buyer and seller of a settled trade whose rating window is open.
    function _ratableTrade(uint256 tradeId) private view returns (address buyer, address seller) {
        ITradingMarket.TradeStatus status;
        uint64 deliveryEndsAt;
        (buyer, seller, status, deliveryEndsAt) =
            IRatingTerms(address(_market)).ratingTerms(tradeId);
        if (status != ITradingMarket.TradeStatus.Settled) {
            revert TradeNotSettled(tradeId, uint8(status));
        }
        uint64 closesAt = deliveryEndsAt + _ratingWindowS;
        if (block.timestamp >= closesAt) {
            revert RatingWindowClosed(tradeId, closesAt, uint64(block.timestamp));
        }
    }

    /// @dev Store the caller's score (and reason) of trade `tradeId` and mark it counted;
    /// whether it was not counted yet. Reverts AlreadyRated on a second rating.
    function _recordRating(uint256 tradeId, bool isBuyer, uint8 score, bytes32 reasonCode)
        private
        returns (bool count)
    {
        (uint256 entry, uint256 shift, uint256 word) = _ratingEntry(tradeId);
        uint256 scoreShift = isBuyer ? 0 : SELLER_SHIFT;
        if ((entry >> scoreShift) & SCORE_MASK != 0) revert AlreadyRated(tradeId, msg.sender);
        count = entry & COUNTED == 0;
        _ratingWords[tradeId >> 5] = word | (((uint256(score) << scoreShift) | COUNTED) << shift);
        if (reasonCode != bytes32(0)) {
            if (isBuyer) _buyerReason[tradeId] = reasonCode;
            else _sellerReason[tradeId] = reasonCode;
        }
    }

    /// @dev Trade `tradeId`'s byte, its bit offset in its word and the word.
    function _ratingEntry(uint256 tradeId)
        private
        view
        returns (uint256 entry, uint256 shift, uint256 word)
    {
        word = _ratingWords[tradeId >> 5];
        shift = (tradeId & 31) * 8;
        entry = (word >> shift) & 0xff;
    }

    /// @dev `node`'s record as stored.
    function _load(address node) private view returns (Rep memory r) {
        StoredRep storage s = _reps[node];
        uint256 a = s.a;
        uint256 b = s.b;
        r.positive = uint96(a);
        r.ratings = uint96(a >> 96);
        r.day = uint32(a >> 192);
        r.ratingCount = uint32(a >> 224);
        r.trades = uint96(b);
        r.penalty = uint96(b >> 96);
        r.tradeCount = uint32(b >> 192);
        r.warned = (b >> 224) & 1 != 0;
        r.agencyRated = b & AGENCY_RATED_BIT != 0;
        r.rewarded = b & REWARDED_BIT != 0;
    }

    /// @dev Write `r` as `node`'s record: two whole words.
    function _store(address node, Rep memory r) private {
        StoredRep storage s = _reps[node];
        s.a = uint256(r.positive) | (uint256(r.ratings) << 96) | (uint256(r.day) << 192)
            | (uint256(r.ratingCount) << 224);
        s.b = uint256(r.trades) | (uint256(r.penalty) << 96) | (uint256(r.tradeCount) << 192)
            | (r.warned ? uint256(1) << 224 : 0) | (r.agencyRated ? AGENCY_RATED_BIT : 0)
            | (r.rewarded ? REWARDED_BIT : 0);
    }

    /// @dev `node`'s record with the decay up to today applied (a copy; storage untouched).
    function _decayed(address node) private view returns (Rep memory r) {
        r = _load(node);
        uint32 today = uint32(block.timestamp / 1 days);
        if (r.day < today) {
            if (r.ratings | r.trades | r.penalty != 0) {
                uint256 f = decayFactorWad(today - r.day);
                r.positive = uint96(uint256(r.positive) * f / WAD);
                r.ratings = uint96(uint256(r.ratings) * f / WAD);
                r.trades = uint96(uint256(r.trades) * f / WAD);
                r.penalty = uint96(uint256(r.penalty) * f / WAD);
            }
            r.day = today;
        }
    }

    /// @dev The formula: R = max(0, floor(1000 s (0.7 + 0.3 A)) - floor(D)).
    function _score(Rep memory r) private pure returns (uint16) {
        uint256 s = (uint256(r.positive) + PRIOR_POSITIVE_WAD) * WAD
            / (uint256(r.ratings) + PRIOR_WEIGHT_WAD);
        uint256 a = uint256(r.trades) * WAD / (uint256(r.trades) + ACTIVITY_K_WAD);
        uint256 points = s * (QUALITY_POINTS * WAD + ACTIVITY_POINTS * a) / (WAD * WAD);
        uint256 penalty = uint256(r.penalty) / WAD;
        return uint16(points > penalty ? points - penalty : 0);
    }

    /// @dev Store `r`, publish the new reputation and act on thresholds and the reward.
    function _commit(address node, Rep memory r) private {
        uint16 reputation = _score(r);
        (uint16 warning, uint16 removal) = (_warning, _removal);
        bool warn = reputation < warning;
        bool warnChanged = warn != r.warned;
        r.warned = warn;
        bool reward = r.agencyRated && reputation >= _reward;
        bool rewardChanged = reward != r.rewarded;
        r.rewarded = reward;
        _store(node, r);
        emit ReputationUpdated(
            node, reputation, r.positive, r.ratings, r.trades, r.penalty, r.day
        );
        if (warnChanged) {
            if (warn) emit PublicWarningIssued(node, reputation, warning);
            else emit PublicWarningLifted(node, reputation, warning);
        }
        if (rewardChanged) {
            emit ReputationRewardChanged(node, reward, reputation);
            _sync(node, _credit[node], reward);
        }
        if (reputation < removal) {
            INodeRegistry.NodeStatus status = _registry.statusOf(node);
            if (status == INodeRegistry.NodeStatus.Active || status == INodeRegistry.NodeStatus.Pending)
            {
                emit LowReputationRemoval(node, reputation, removal);
                _registry.removeNode(node, LOW_REPUTATION);
            }
        }
    }

    function _applyPending(address node, Credit storage c) private {
        c.agencyLevel = c.pendingLevel;
        c.hasPending = false;
        c.pendingEffectiveAt = 0;
        c.pendingLevel = 0;
        Rep memory r = _decayed(node);
        uint16 reputation = _score(r);
        bool reward = reputation >= _reward;
        // Only the flags change (the decay is not stored here).
        StoredRep storage s = _reps[node];
        s.b = (s.b & ~REWARDED_BIT) | AGENCY_RATED_BIT | (reward ? REWARDED_BIT : 0);
        if (reward != r.rewarded) emit ReputationRewardChanged(node, reward, reputation);
        _sync(node, c, reward);
    }

    /// @dev The level this contract wants in the registry.
    function _target(uint8 agencyLevel, bool rewarded) private pure returns (uint8) {
        return rewarded && agencyLevel > 0 ? agencyLevel - 1 : agencyLevel;
    }

    /// @dev Move the registry to the target level now when the bond covers it (or it asks
    /// for less than now); otherwise open (or retarget) the top-up deadline. Called only for
    /// an agency-rated node, with its reward flag.
    function _sync(address node, Credit storage c, bool rewarded) private {
        uint8 target = _target(c.agencyLevel, rewarded);
        uint256 required = _registry.bondTable()[target];
        uint256 bond = _registry.bondOf(node);
        if (required <= bond || required <= _registry.requiredBondOf(node)) {
            bool wasOpen = c.topUpDeadline != 0;
            c.topUpDeadline = 0;
            bool unblock = c.blocked && bond >= required;
            if (unblock) c.blocked = false;
            emit CreditLevelApplied(node, c.agencyLevel, target, rewarded, required);
            if (wasOpen || unblock) emit TopUpCleared(node, target, required, bond);
            if (_registry.creditLevelOf(node) != target) _registry.setCreditLevel(node, target);
            if (unblock) _registry.unblockTrading(node, BOND_TOPUP);
        } else {
            if (c.topUpDeadline == 0) c.topUpDeadline = uint64(block.timestamp) + _topUpGraceS;
            c.topUpLevel = target;
            emit TopUpRequired(node, target, required, bond, c.topUpDeadline);
        }
    }

    function _setRatingWindow(uint64 windowS) private {
        if (windowS == 0) revert InvalidDuration(windowS);
        _ratingWindowS = windowS;
        emit RatingWindowSet(windowS, msg.sender);
    }

    function _setTopUpGrace(uint64 graceS) private {
        if (graceS == 0) revert InvalidDuration(graceS);
        _topUpGraceS = graceS;
        emit TopUpGraceSet(graceS, msg.sender);
    }

    function _setThresholds(uint16 warning, uint16 removal, uint16 reward) private {
        if (!(removal < warning && warning < reward && reward <= MAX_REPUTATION)) {
            revert InvalidThresholds(warning, removal, reward);
        }
        _warning = warning;
        _removal = removal;
        _reward = reward;
        emit ThresholdsSet(warning, removal, reward, msg.sender);
    }
}
