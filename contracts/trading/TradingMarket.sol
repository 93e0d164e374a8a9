// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";
import {TradingMarketEscrow} from "./TradingMarketEscrow.sol";
import {TradingMarketStorage} from "./TradingMarketStorage.sol";
import {TradingMarketTakes} from "./TradingMarketTakes.sol";
import {TradingMarketViews} from "./TradingMarketViews.sol";

/// @title TradingMarket
/// @notice Posted-offer trading in both modes with prepaid escrow (see ITradingMarket).
/// @dev Storage is packed (layout in docs/gas.md): a listing is 2 slots (+1 for a non-zero
/// terms hash; listing energy in uint48 Wh, its price in uint32 fen/MWh), a trade 1 slot
/// at formation (+1 once dispatched or paid out; energy and price as the listing's, the
/// taker and the (route, rate sum, exposure rate) terms interned), money in uint128 fen,
/// all converted with SafeCast. There is no
/// on-chain open set: the open listings are read from the events (ledger/clients). The derived amounts (energyFen, feeFen, escrowFen, exposureFen, a
/// listing's energyWh) are recomputed by the views with the same rounding as at take.
/// This file holds the periods and settings (OPERATOR, ADMIN), posting, amending and
/// taking listings (nodes) and venue trades (VENUE); the state and its helpers are
/// TradingMarketStorage, the checks and packed words of posts and takes
/// TradingMarketTakes, dispatch, payout and settlement of trades (MARKET_CONTRACT)
/// TradingMarketEscrow, the views TradingMarketViews.
contract TradingMarket is TradingMarketTakes, TradingMarketEscrow, TradingMarketViews {
    using SafeCast for uint256;

    /// @param access_ The suite's access root.
    /// @param registry_ The node registry (eligibility, regions, bonds, obligations).
    /// @param tariff_ The transmission tariff (cheapest route and formula 1).
    /// @param token_ The settlement token escrows are held in.
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        ITransmissionTariff tariff_,
        IERC20 token_
    ) MarketAccessed(access_) TradingMarketStorage(registry_, tariff_, token_) {
        if (
            address(access_) == address(0) || address(registry_) == address(0)
                || address(tariff_) == address(0) || address(token_) == address(0)
        ) revert ZeroAddress();
        _exposureBps = DEFAULT_EXPOSURE_BPS;
        emit ExposureRateSet(DEFAULT_EXPOSURE_BPS, msg.sender);
    }

    // ================================================================ OPERATOR

    /// @inheritdoc ITradingMarket
    function openPeriod(
        uint64 deliveryStart,
        uint32 intervalS,
        uint16 intervals,
        uint64 postingOpensAt,
        uint64 takingOpensAt,
        uint64 takingClosesAt
    ) external onlyRole(Roles.OPERATOR) returns (uint32 periodId) {
        if (intervalS == 0 || intervals == 0) revert InvalidPeriodLength(intervalS, intervals);
        uint64 nowS = uint64(block.timestamp);
        if (
            !(nowS < takingClosesAt && postingOpensAt <= takingOpensAt
                    && takingOpensAt < takingClosesAt && takingClosesAt <= deliveryStart)
        ) {
            revert InvalidPeriodWindows(
                postingOpensAt, takingOpensAt, takingClosesAt, deliveryStart, nowS
            );
        }
        periodId = ++_periodCount;
        _periods[periodId] = Period({
            id: periodId,
            deliveryStart: deliveryStart,
            intervalS: intervalS,
            intervals: intervals,
            postingOpensAt: postingOpensAt,
            takingOpensAt: takingOpensAt,
            takingClosesAt: takingClosesAt
        });
        emit PeriodOpened(
            periodId,
            deliveryStart,
            intervalS,
            intervals,
            postingOpensAt,
            takingOpensAt,
            takingClosesAt,
            msg.sender
        );
    }

    /// @inheritdoc ISettlementMarket
    function setDispatchResults(address dispatchResults_) external onlyRole(ADMIN_ROLE) {
        if (dispatchResults_ == address(0)) revert ZeroAddress();
        address current = address(_dispatchResults);
        if (current != address(0)) revert DispatchResultsAlreadySet(current);
        _dispatchResults = IDispatchResults(dispatchResults_);
        emit DispatchResultsSet(dispatchResults_, msg.sender);
    }

    /// @inheritdoc ITradingMarket
    function setExposureBps(uint16 exposureBps_) external onlyRole(Roles.OPERATOR) {
        if (exposureBps_ > BPS) revert InvalidExposureRate(exposureBps_);
        _exposureBps = exposureBps_;
        emit ExposureRateSet(exposureBps_, msg.sender);
    }

    // ================================================================ nodes

    /// @inheritdoc ITradingMarket
    function post(
        ListingSide side,
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        uint256 minTakeWh,
        uint64 expiresAt,
        bytes32 termsHash
    ) external returns (uint256 listingId) {
        Period storage p = _checkPostWindows(periodId, firstInterval, lastInterval);
        if (energyWh == 0) revert ZeroEnergy();
        if (priceFenPerMwh == 0) revert ZeroPrice();
        if (minTakeWh > energyWh) revert InvalidMinTake(minTakeWh, energyWh);
        expiresAt = _expiry(p, expiresAt);
        uint256 head;
        {
            (INodeRegistry.Side makerSide, uint8 region) = _registry.checkCanTrade(msg.sender);
            if (side == ListingSide.Sell) _checkSeller(msg.sender, makerSide);
            head = _listingHead(side, region, periodId, firstInterval, lastInterval);
        }
        listingId = ++_listingCount;
        StoredListing storage l = _listings[listingId];
        _storeListing(l, head, _listingAmounts(energyWh, minTakeWh, priceFenPerMwh, expiresAt));
        if (termsHash != bytes32(0)) l.termsHash = termsHash;
        _registry.addObligation(msg.sender);
        _emitPosted(listingId, l, termsHash);
    }

    /// @inheritdoc ITradingMarket
    function amend(uint256 listingId, uint256 priceFenPerMwh, uint256 remainingWh) external {
        StoredListing storage l = _openListing(listingId);
        if (l.maker != msg.sender) revert NotListingMaker(listingId, msg.sender);
        uint64 nowS = uint64(block.timestamp);
        Period storage p = _periods[l.periodId];
        if (nowS >= p.takingClosesAt) {
            revert OutsidePostingWindow(l.periodId, nowS, p.postingOpensAt, p.takingClosesAt);
        }
        if (nowS >= l.expiresAt) revert ListingHasExpired(listingId, l.expiresAt, nowS);
        if (remainingWh == 0) revert ZeroEnergy();
        if (priceFenPerMwh == 0) revert ZeroPrice();
        uint256 previousPrice = l.priceFenPerMwh;
        uint256 previousRemaining = l.remainingWh;
        l.priceFenPerMwh = priceFenPerMwh.toUint32();
        l.remainingWh = remainingWh.toUint48();
        emit ListingAmended(
            listingId,
            msg.sender,
            priceFenPerMwh,
            remainingWh,
            l.takenWh + remainingWh,
            previousPrice,
            previousRemaining
        );
    }

    /// @inheritdoc ITradingMarket
    function cancel(uint256 listingId) external {
        StoredListing storage l = _openListing(listingId);
        if (l.maker != msg.sender) revert NotListingMaker(listingId, msg.sender);
        uint256 remaining = l.remainingWh;
        _closeListing(l, ListingStatus.Cancelled);
        emit ListingCancelled(listingId, msg.sender, remaining);
    }

    /// @inheritdoc ITradingMarket
    function expireListing(uint256 listingId) external {
        StoredListing storage l = _openListing(listingId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < l.expiresAt) revert ListingNotExpired(listingId, l.expiresAt, nowS);
        uint256 remaining = l.remainingWh;
        _closeListing(l, ListingStatus.Expired);
        emit ListingExpired(listingId, l.maker, remaining, msg.sender);
    }

    /// @inheritdoc ITradingMarket
    function take(uint256 listingId, uint256 energyWh, uint256 limitPriceFenPerMwh)
        external
        nonReentrant
        returns (uint256 tradeId)
    {
        StoredListing storage l = _listings[listingId];
        // The listing's two packed slots are read once here (StoredListing layout); the
        // checks of _openListing on them.
        (uint256 head, uint256 amounts) = _listingWords(l);
        if (uint160(head) == 0) revert UnknownListing(listingId);
        if (ListingStatus(uint8(head >> 168)) != ListingStatus.Open) {
            revert ListingNotOpen(listingId, ListingStatus(uint8(head >> 168)));
        }
        Priced memory q;
        (tradeId, q) = _checkAndNewTrade(head, amounts, listingId, energyWh, limitPriceFenPerMwh);
        uint256 remaining = uint48(amounts) - energyWh; // energyWh <= remainingWh: checked
        _storeTaken(l, amounts, remaining, energyWh);
        if (remaining == 0) _closeListing(l, ListingStatus.Filled);

        // the taker's count: _countTaker
        ++_tradesIn[address(uint160(head))][uint32(head >> 184)];

        _openObligations(q, uint32(head >> 184));
        _collect(q.buyer, q.energyFen + q.feeFen);

        emit TradeCreated(
            tradeId,
            listingId,
            uint32(head >> 184),
            q.buyer,
            q.seller,
            msg.sender,
            energyWh,
            uint32(amounts >> 144),
            q.energyFen + q.feeFen,
            remaining
        );
        emit TradeRouted(
            tradeId,
            uint16(head >> 216),
            uint16(head >> 232),
            _unpack(q.packedRoute),
            q.sumRateFenPerMwh,
            q.feeFen,
            q.exposureFen
        );
    }

    // ================================================================ VENUE

    /// @inheritdoc ITradingMarket
    function formVenueTrade(
        address seller,
        address buyer,
        address payer,
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) external onlyRole(Roles.VENUE) nonReentrant returns (uint256 tradeId) {
        return _formVenueTrade(
            VenueTerms(
                seller, buyer, payer, periodId, firstInterval, lastInterval, energyWh, priceFenPerMwh
            )
        );
    }

    /// @dev The arguments of formVenueTrade (one memory word on the stack).
    struct VenueTerms {
        address seller;
        address buyer;
        address payer;
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint256 energyWh;
        uint256 priceFenPerMwh;
    }

    function _formVenueTrade(VenueTerms memory v) private returns (uint256 tradeId) {
        if (v.payer == address(0)) revert ZeroAddress();
        if (v.energyWh == 0) revert ZeroEnergy();
        if (v.priceFenPerMwh == 0) revert ZeroPrice();
        uint256 listingId = _venueListing(v);
        ++_tradesIn[v.seller][v.periodId]; // the seller's count (the buyer's: _countTaker)
        Priced memory q;
        (tradeId, q) = _newTrade(
            v.periodId,
            listingId,
            v.energyWh,
            v.priceFenPerMwh,
            _venueRoute(v.seller, v.buyer),
            v.buyer
        );
        q.buyer = v.buyer;
        q.seller = v.seller;
        _openObligations(q, v.periodId);
        _collect(v.payer, q.energyFen + q.feeFen);
        emit TradeCreated(
            tradeId,
            listingId,
            v.periodId,
            v.buyer,
            v.seller,
            v.buyer,
            v.energyWh,
            v.priceFenPerMwh,
            q.energyFen + q.feeFen,
            0
        );
        emit TradeRouted(
            tradeId,
            v.firstInterval,
            v.lastInterval,
            _unpack(q.packedRoute),
            q.sumRateFenPerMwh,
            q.feeFen,
            q.exposureFen
        );
        emit VenueTradeFormed(tradeId, listingId, msg.sender, v.payer);
    }

    /// @dev The synthetic listing a venue trade refers to for its parties, period and
    /// window: maker = seller, side Sell, status Filled, nothing remaining, posted and
    /// expired now (no ListingPosted: it never was open). Checks the period exists, the
    /// window lies inside it and delivery has not started.
    function _venueListing(VenueTerms memory v) private returns (uint256 listingId) {
        Period storage p = _period(v.periodId);
        if (v.firstInterval > v.lastInterval || v.lastInterval >= p.intervals) {
            revert InvalidDeliveryWindow(v.periodId, v.firstInterval, v.lastInterval, p.intervals);
        }
        uint64 nowS = uint64(block.timestamp);
        if (nowS >= p.deliveryStart) revert DeliveryStarted(v.periodId, p.deliveryStart, nowS);
        if (v.seller == v.buyer) revert SelfTrade(v.seller);
        listingId = ++_listingCount;
        StoredListing storage l = _listings[listingId];
        l.maker = v.seller;
        l.side = ListingSide.Sell;
        l.status = ListingStatus.Filled;
        l.region = _registry.regionOf(v.seller);
        l.periodId = v.periodId;
        l.firstInterval = v.firstInterval;
        l.lastInterval = v.lastInterval;
        l.takenWh = v.energyWh.toUint48();
        l.priceFenPerMwh = v.priceFenPerMwh.toUint32();
        l.postedAt = uint40(nowS);
        l.expiresAt = uint40(nowS);
    }

    /// @dev Both parties can trade now, the seller registered as Seller; the route key
    /// (seller's region << 8 | buyer's region), as a take's.
    function _venueRoute(address seller, address buyer) private view returns (uint256) {
        (INodeRegistry.Side sellerSide, uint8 sellerRegion) = _registry.checkCanTrade(seller);
        _checkSeller(seller, sellerSide);
        (, uint8 buyerRegion) = _registry.checkCanTrade(buyer);
        return uint256(sellerRegion) << 8 | buyerRegion;
    }
}
