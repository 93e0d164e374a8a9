// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {TradingMarketStorage} from "./TradingMarketStorage.sol";

/// @title TradingMarketTakes
/// @notice How listings and trades are formed: the checks of a post and of a take, the
/// new listing's and trade's packed words, the parties' registry obligations and the
/// buyer's prepayment.
/// @dev No state of its own (TradingMarketStorage).
abstract contract TradingMarketTakes is TradingMarketStorage {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev The amounts of a new trade; escrow = energyFen + feeFen.
    struct Priced {
        uint256 energyFen;
        uint256 feeFen;
        uint256 sumRateFenPerMwh;
        uint256 exposureFen;
        uint256 packedRoute;
        address buyer;
        address seller;
    }

    /// @dev The period of a post, checked open for posting and holding the delivery window.
    function _checkPostWindows(uint32 periodId, uint16 firstInterval, uint16 lastInterval)
        internal
        view
        returns (Period storage p)
    {
        p = _period(periodId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < p.postingOpensAt || nowS >= p.takingClosesAt) {
            revert OutsidePostingWindow(periodId, nowS, p.postingOpensAt, p.takingClosesAt);
        }
        if (firstInterval > lastInterval || lastInterval >= p.intervals) {
            revert InvalidDeliveryWindow(periodId, firstInterval, lastInterval, p.intervals);
        }
    }

    /// @dev A post's expiry, checked (0 = the end of taking).
    function _expiry(Period storage p, uint64 expiresAt) internal view returns (uint64) {
        uint64 nowS = uint64(block.timestamp);
        if (expiresAt == 0) expiresAt = p.takingClosesAt;
        if (expiresAt <= nowS || expiresAt > p.takingClosesAt) {
            revert InvalidExpiry(expiresAt, nowS, p.takingClosesAt);
        }
        return expiresAt;
    }

    /// @dev The checks of a take on the listing's words `head` and `amounts` (slots 0 and
    /// 1 of StoredListing), in the order of the errors; the route's regions.
    function _checkTake(
        uint256 head,
        uint256 amounts,
        uint256 listingId,
        uint256 energyWh,
        uint256 limitPrice
    ) internal view returns (uint256 regions) {
        {
            uint32 periodId = uint32(head >> 184);
            (uint64 opensAt, uint64 closesAt) = _takingWindow(_periods[periodId]);
            uint64 nowS = uint64(block.timestamp);
            if (nowS < opensAt || nowS >= closesAt) {
                revert OutsideTakingWindow(periodId, nowS, opensAt, closesAt);
            }
            uint64 expiresAt = uint40(amounts >> 216);
            if (nowS >= expiresAt) revert ListingHasExpired(listingId, expiresAt, nowS);
        }
        address maker = address(uint160(head));
        if (msg.sender == maker) revert SelfTake(listingId, msg.sender);
        if (energyWh == 0) revert ZeroEnergy();
        uint256 remaining = uint48(amounts);
        if (energyWh > remaining) revert TakeExceedsRemaining(listingId, energyWh, remaining);
        if (energyWh < uint48(amounts >> 96) && energyWh != remaining) {
            revert TakeBelowMinimum(listingId, energyWh, uint48(amounts >> 96));
        }
        uint256 price = uint32(amounts >> 144);
        bool sellListing = ListingSide(uint8(head >> 160)) == ListingSide.Sell;
        if (limitPrice != 0 && (sellListing ? price > limitPrice : price < limitPrice)) {
            revert PriceLimitExceeded(listingId, price, limitPrice);
        }
        (INodeRegistry.Side takerSide, uint8 takerRegion, uint8 makerRegion) =
            _registry.checkCanTradePair(msg.sender, maker);
        if (!sellListing) _checkSeller(msg.sender, takerSide);
        // The route runs from the seller's region to the buyer's (as registered now),
        // packed as from << 8 | to.
        return sellListing
            ? uint256(makerRegion) << 8 | takerRegion
            : uint256(takerRegion) << 8 | makerRegion;
    }

    /// @dev The checks of a take (_checkTake), then store the new trade: route and rate sum
    /// (memoised by the tariff), fee, exposure.
    function _checkAndNewTrade(
        uint256 head,
        uint256 amounts,
        uint256 listingId,
        uint256 energyWh,
        uint256 limitPrice
    ) internal returns (uint256 tradeId, Priced memory q) {
        uint256 regions = _checkTake(head, amounts, listingId, energyWh, limitPrice);
        (tradeId, q) = _newTrade(
            uint32(head >> 184), listingId, energyWh, uint32(amounts >> 144), regions, msg.sender
        );
        (q.buyer, q.seller) = ListingSide(uint8(head >> 160)) == ListingSide.Sell
            ? (msg.sender, address(uint160(head)))
            : (address(uint160(head)), msg.sender);
    }

    /// @dev Store a new trade of `taker` on a listing: route and rate sum of `regions`
    /// (from << 8 | to, memoised by the tariff), fee, exposure (take and venue trades).
    /// The counters slot is read and written once (_countersWord, _storeCounters).
    function _newTrade(
        uint32 periodId,
        uint256 listingId,
        uint256 energyWh,
        uint256 price,
        uint256 regions,
        address taker
    ) internal returns (uint256 tradeId, Priced memory q) {
        (q.packedRoute, q.sumRateFenPerMwh) =
            _tariff.cachedRoute(uint8(regions >> 8), uint8(regions));
        uint16 bps;
        {
            uint256 counters = _countersWord();
            bps = uint16(counters >> 64);
            q.energyFen = energyWh * price / WH_PER_MWH;
            q.feeFen = energyWh * q.sumRateFenPerMwh / WH_PER_MWH;
            q.exposureFen = _exposure(q.energyFen, bps);
            tradeId = _storeCounters(counters, q.energyFen + q.feeFen);
        }
        uint256 terms = uint256(q.packedRoute.toUint168())
            | uint256(q.sumRateFenPerMwh.toUint64()) << 168 | uint256(bps) << 232;
        _storeTrade(_trades[tradeId], periodId, listingId, energyWh, price, terms, taker);
    }

    /// @dev Slot 0 of a new trade (StoredTrade order, low bits first), one sstore:
    /// listingId <= _listingCount (SafeCast to uint56: a listing id past 2^56 reverts
    /// SafeCastOverflowedUintDowncast), paidWhileFormed false, energyWh <= the listing's
    /// remainingWh (a uint48), price the listing's uint32; the taker (counted in its
    /// period) and the terms interned.
    function _storeTrade(
        StoredTrade storage t,
        uint32 periodId,
        uint256 listingId,
        uint256 energyWh,
        uint256 price,
        uint256 terms,
        address taker
    ) internal {
        uint256 word = uint256(_countTaker(taker, periodId)) | uint256(listingId.toUint56()) << 32
            | uint256(TradeStatus.Formed) << 96 | energyWh << 104 | price << 152
            | uint256(uint40(block.timestamp)) << 184 | uint256(_intern(terms)) << 224;
        assembly ("memory-safe") {
            sstore(t.slot, word)
        }
    }

    /// @dev Count a trade of `taker` in `periodId` and return the taker's intern id, kept
    /// in the count's slot (_tradesIn) after its first take of the period.
    function _countTaker(address taker, uint32 periodId) internal returns (uint32 id) {
        uint256 count = _tradesIn[taker][periodId];
        id = uint32(count >> 224);
        if (id == 0) id = _intern(uint160(taker));
        // the count (a few per trade id, below 2^64) never reaches bit 64; the settled
        // totals above it are kept
        _tradesIn[taker][periodId] = uint224(count) + 1 | uint256(id) << 224;
    }

    /// @dev The registry obligations of a new trade (its counts already bumped): one per
    /// party and period, added with the party's first trade of the period (removed when
    /// its deviation of the period settles), and the seller's exposure reserved.
    function _openObligations(Priced memory q, uint32 periodId) internal {
        bool buyerFirst = uint64(_tradesIn[q.buyer][periodId]) == 1;
        bool sellerFirst = uint64(_tradesIn[q.seller][periodId]) == 1;
        if (buyerFirst && sellerFirst) {
            _registry.openTradeObligations(q.buyer, q.seller, q.exposureFen);
            return;
        }
        if (buyerFirst) _registry.addObligation(q.buyer);
        if (sellerFirst) _registry.addObligation(q.seller);
        if (q.exposureFen != 0) _registry.reserveBond(q.seller, q.exposureFen);
    }

    /// @dev Pull the prepayment from the buyer, with readable errors when it cannot pay
    /// (balance and allowance are read only after a failed transfer).
    function _collect(address buyer, uint256 amountFen) internal {
        if (amountFen == 0) return;
        if (_token.trySafeTransferFrom(buyer, address(this), amountFen)) return;
        uint256 balance = _token.balanceOf(buyer);
        if (balance < amountFen) revert InsufficientBalance(buyer, balance, amountFen);
        uint256 allowance = _token.allowance(buyer, address(this));
        if (allowance < amountFen) revert InsufficientAllowance(buyer, allowance, amountFen);
        _token.safeTransferFrom(buyer, address(this), amountFen);
    }

    function _checkSeller(address node, INodeRegistry.Side side) internal pure {
        if (side != INodeRegistry.Side.Seller) revert NotASeller(node);
    }

    /// @dev Close a listing and the maker's listing obligation.
    function _closeListing(StoredListing storage l, ListingStatus status) internal {
        l.status = status;
        _registry.removeObligation(l.maker);
    }

    /// @dev Slot 0 of a new listing (StoredListing order, low bits first): maker, side,
    /// status Open, region, periodId, firstInterval, lastInterval.
    function _listingHead(
        ListingSide side,
        uint8 region,
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval
    ) internal view returns (uint256) {
        return uint256(uint160(msg.sender)) | uint256(side) << 160
            | uint256(ListingStatus.Open) << 168 | uint256(region) << 176
            | uint256(periodId) << 184 | uint256(firstInterval) << 216
            | uint256(lastInterval) << 232;
    }

    /// @dev Slot 1 of a new listing: remainingWh (all of it), takenWh 0, minTakeWh,
    /// priceFenPerMwh, postedAt now, expiresAt (SafeCast in that order).
    function _listingAmounts(
        uint256 energyWh,
        uint256 minTakeWh,
        uint256 priceFenPerMwh,
        uint64 expiresAt
    ) internal view returns (uint256) {
        return uint256(energyWh.toUint48()) | minTakeWh << 96 // minTakeWh <= energyWh
            | uint256(priceFenPerMwh.toUint32()) << 144
            | uint256(uint40(block.timestamp)) << 176
            | uint256(uint256(expiresAt).toUint40()) << 216;
    }

    /// @dev One write per slot of a new listing (a field-by-field write re-reads the slot).
    function _storeListing(StoredListing storage l, uint256 head, uint256 amounts) internal {
        assembly ("memory-safe") {
            sstore(l.slot, head)
            sstore(add(l.slot, 1), amounts)
        }
    }

    function _emitPosted(uint256 listingId, StoredListing storage l, bytes32 termsHash) internal {
        emit ListingPosted(
            listingId,
            l.maker,
            l.periodId,
            l.side,
            l.region,
            l.firstInterval,
            l.lastInterval,
            l.remainingWh,
            l.minTakeWh,
            l.priceFenPerMwh,
            l.expiresAt,
            termsHash
        );
    }
}
