// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";

/// @title TradingMarket
/// @notice Posted-offer trading in both modes with prepaid escrow (see ITradingMarket).
contract TradingMarket is ITradingMarket, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Wh per MWh: amountFen = energyWh x priceFenPerMwh / WH_PER_MWH.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Basis points of a whole.
    uint16 public constant BPS = 10_000;
    /// @notice The exposure rate at deployment: 10 % of the trade value.
    uint16 public constant DEFAULT_EXPOSURE_BPS = 1_000;

    INodeRegistry private immutable _registry;
    ITransmissionTariff private immutable _tariff;
    IERC20 private immutable _token;

    uint16 private _exposureBps;
    uint32 private _periodCount;
    mapping(uint32 periodId => Period) private _periods;

    uint256 private _listingCount;
    mapping(uint256 listingId => Listing) private _listings;
    uint256[] private _open;
    mapping(uint256 listingId => uint256 position) private _openPos; // index + 1; 0 = absent
    mapping(address maker => uint256[]) private _listingsOf;

    uint256 private _tradeCount;
    mapping(uint256 tradeId => Trade) private _trades;
    mapping(address node => uint256[]) private _tradesOf;
    mapping(uint32 periodId => uint256[]) private _periodTrades;
    uint256 private _totalEscrow;

    /// @param access_ The suite's access root.
    /// @param registry_ The node registry (eligibility, regions, bonds, obligations).
    /// @param tariff_ The transmission tariff (cheapest route and formula 1).
    /// @param token_ The settlement token escrows are held in.
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        ITransmissionTariff tariff_,
        IERC20 token_
    ) MarketAccessed(access_) {
        if (
            address(access_) == address(0) || address(registry_) == address(0)
                || address(tariff_) == address(0) || address(token_) == address(0)
        ) revert ZeroAddress();
        _registry = registry_;
        _tariff = tariff_;
        _token = token_;
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
        Period storage p = _period(periodId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < p.postingOpensAt || nowS >= p.takingClosesAt) {
            revert OutsidePostingWindow(periodId, nowS, p.postingOpensAt, p.takingClosesAt);
        }
        if (firstInterval > lastInterval || lastInterval >= p.intervals) {
            revert InvalidDeliveryWindow(periodId, firstInterval, lastInterval, p.intervals);
        }
        if (energyWh == 0) revert ZeroEnergy();
        if (priceFenPerMwh == 0) revert ZeroPrice();
        if (minTakeWh > energyWh) revert InvalidMinTake(minTakeWh, energyWh);
        if (expiresAt == 0) expiresAt = p.takingClosesAt;
        if (expiresAt <= nowS || expiresAt > p.takingClosesAt) {
            revert InvalidExpiry(expiresAt, nowS, p.takingClosesAt);
        }
        _registry.checkCanTrade(msg.sender);
        if (side == ListingSide.Sell) _checkSeller(msg.sender);

        listingId = ++_listingCount;
        Listing storage l = _listings[listingId];
        l.id = listingId;
        l.maker = msg.sender;
        l.side = side;
        l.status = ListingStatus.Open;
        l.region = _registry.regionOf(msg.sender);
        l.periodId = periodId;
        l.firstInterval = firstInterval;
        l.lastInterval = lastInterval;
        l.postedAt = nowS;
        l.expiresAt = expiresAt;
        l.energyWh = energyWh;
        l.remainingWh = energyWh;
        l.minTakeWh = minTakeWh;
        l.priceFenPerMwh = priceFenPerMwh;
        l.termsHash = termsHash;
        _open.push(listingId);
        _openPos[listingId] = _open.length;
        _listingsOf[msg.sender].push(listingId);
        _registry.addObligation(msg.sender);
        _emitPosted(l);
    }

    /// @inheritdoc ITradingMarket
    function amend(uint256 listingId, uint256 priceFenPerMwh, uint256 remainingWh) external {
        Listing storage l = _openListing(listingId);
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
        l.priceFenPerMwh = priceFenPerMwh;
        l.remainingWh = remainingWh;
        l.energyWh = l.takenWh + remainingWh;
        emit ListingAmended(
            listingId,
            msg.sender,
            priceFenPerMwh,
            remainingWh,
            l.energyWh,
            previousPrice,
            previousRemaining
        );
    }

    /// @inheritdoc ITradingMarket
    function cancel(uint256 listingId) external {
        Listing storage l = _openListing(listingId);
        if (l.maker != msg.sender) revert NotListingMaker(listingId, msg.sender);
        uint256 remaining = l.remainingWh;
        _closeListing(l, ListingStatus.Cancelled);
        emit ListingCancelled(listingId, msg.sender, remaining);
    }

    /// @inheritdoc ITradingMarket
    function expireListing(uint256 listingId) external {
        Listing storage l = _openListing(listingId);
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
        Listing storage l = _openListing(listingId);
        _checkTake(l, energyWh, limitPriceFenPerMwh);
        bool sellListing = l.side == ListingSide.Sell;
        address buyer = sellListing ? msg.sender : l.maker;
        address seller = sellListing ? l.maker : msg.sender;

        tradeId = ++_tradeCount;
        Trade storage t = _trades[tradeId];
        t.id = tradeId;
        t.listingId = listingId;
        t.buyer = buyer;
        t.seller = seller;
        t.periodId = l.periodId;
        t.firstInterval = l.firstInterval;
        t.lastInterval = l.lastInterval;
        t.status = TradeStatus.Formed;
        t.formedAt = uint64(block.timestamp);
        t.energyWh = energyWh;
        t.priceFenPerMwh = l.priceFenPerMwh;
        _price(t, _registry.regionOf(seller), _registry.regionOf(buyer));

        uint256 remaining = l.remainingWh - energyWh;
        l.remainingWh = remaining;
        l.takenWh += energyWh;
        if (remaining == 0) _closeListing(l, ListingStatus.Filled);

        _tradesOf[buyer].push(tradeId);
        _tradesOf[seller].push(tradeId);
        _periodTrades[t.periodId].push(tradeId);
        _totalEscrow += t.escrowFen;

        _registry.addObligation(buyer);
        _registry.addObligation(seller);
        if (t.exposureFen != 0) _registry.reserveBond(seller, t.exposureFen);
        _collect(buyer, t.escrowFen);

        emit TradeCreated(
            tradeId,
            listingId,
            t.periodId,
            buyer,
            seller,
            msg.sender,
            energyWh,
            t.priceFenPerMwh,
            t.escrowFen,
            remaining
        );
        emit TradeRouted(
            tradeId,
            t.firstInterval,
            t.lastInterval,
            t.route,
            t.sumRateFenPerMwh,
            t.feeFen,
            t.exposureFen
        );
    }

    // ================================================================ MARKET_CONTRACT

    /// @inheritdoc ITradingMarket
    function markDispatched(uint256 tradeId, uint256 executedWh, uint256 curtailedWh)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        Trade storage t = _trade(tradeId);
        if (t.status != TradeStatus.Formed) revert InvalidTradeStatus(tradeId, t.status);
        if (executedWh + curtailedWh > t.energyWh) {
            revert DispatchExceedsTrade(tradeId, executedWh, curtailedWh, t.energyWh);
        }
        t.executedWh = executedWh;
        t.curtailedWh = curtailedWh;
        t.status = TradeStatus.Dispatched;
        emit TradeDispatched(tradeId, executedWh, curtailedWh, msg.sender);
        emit TradeStatusChanged(tradeId, TradeStatus.Formed, TradeStatus.Dispatched, msg.sender);
    }

    /// @inheritdoc ITradingMarket
    function payOut(uint256 tradeId, address to, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        Trade storage t = _openTrade(tradeId);
        _payOut(t, to, amountFen);
    }

    /// @inheritdoc ITradingMarket
    function closeTrade(uint256 tradeId, TradeStatus status)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        if (status != TradeStatus.Settled && status != TradeStatus.Failed) {
            revert InvalidFinalStatus(status);
        }
        Trade storage t = _openTrade(tradeId);
        TradeStatus previous = t.status;
        t.status = status;
        uint256 left = t.escrowFen - t.paidOutFen;
        _registry.removeObligation(t.buyer);
        _registry.removeObligation(t.seller);
        if (t.exposureFen != 0) _registry.releaseBond(t.seller, t.exposureFen);
        emit TradeStatusChanged(tradeId, previous, status, msg.sender);
        if (left != 0) _payOut(t, t.buyer, left);
    }

    // ================================================================ views

    /// @inheritdoc ITradingMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ITradingMarket
    function tariff() external view returns (address) {
        return address(_tariff);
    }

    /// @inheritdoc ITradingMarket
    function settlementToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ITradingMarket
    function exposureBps() external view returns (uint16) {
        return _exposureBps;
    }

    /// @inheritdoc ITradingMarket
    function periodCount() external view returns (uint32) {
        return _periodCount;
    }

    /// @inheritdoc ITradingMarket
    function period(uint32 periodId) external view returns (Period memory) {
        return _period(periodId);
    }

    /// @inheritdoc ITradingMarket
    function listingCount() external view returns (uint256) {
        return _listingCount;
    }

    /// @inheritdoc ITradingMarket
    function listing(uint256 listingId) external view returns (Listing memory) {
        return _listing(listingId);
    }

    /// @inheritdoc ITradingMarket
    function openListingCount() external view returns (uint256) {
        return _open.length;
    }

    /// @inheritdoc ITradingMarket
    function openListings(uint256 offset, uint256 limit)
        external
        view
        returns (Listing[] memory page)
    {
        uint256 end = _pageEnd(offset, limit, _open.length);
        page = new Listing[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _listings[_open[i]];
        }
    }

    /// @inheritdoc ITradingMarket
    function listingCountOf(address maker) external view returns (uint256) {
        return _listingsOf[maker].length;
    }

    /// @inheritdoc ITradingMarket
    function listingsOf(address maker, uint256 offset, uint256 limit)
        external
        view
        returns (Listing[] memory page)
    {
        uint256[] storage ids = _listingsOf[maker];
        uint256 end = _pageEnd(offset, limit, ids.length);
        page = new Listing[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _listings[ids[i]];
        }
    }

    /// @inheritdoc ITradingMarket
    function quote(uint256 listingId, uint8 takerRegion, uint256 energyWh)
        external
        view
        returns (Quote memory q)
    {
        Listing storage l = _listing(listingId);
        bool sellListing = l.side == ListingSide.Sell;
        uint8 from = sellListing ? l.region : takerRegion;
        uint8 to = sellListing ? takerRegion : l.region;
        q.priceFenPerMwh = l.priceFenPerMwh;
        q.energyWh = energyWh;
        q.energyFen = energyWh * l.priceFenPerMwh / WH_PER_MWH;
        (q.feeFen, q.route, q.sumRateFenPerMwh) = _tariff.transmissionFeeFen(from, to, energyWh);
        q.escrowFen = q.energyFen + q.feeFen;
        q.exposureFen = _exposure(q.energyFen);
    }

    /// @inheritdoc ITradingMarket
    function tradeCount() external view returns (uint256) {
        return _tradeCount;
    }

    /// @inheritdoc ITradingMarket
    function trade(uint256 tradeId) external view returns (Trade memory) {
        return _trade(tradeId);
    }

    /// @inheritdoc ITradingMarket
    function tradeCountOf(address node) external view returns (uint256) {
        return _tradesOf[node].length;
    }

    /// @inheritdoc ITradingMarket
    function tradesOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (Trade[] memory)
    {
        return _tradePage(_tradesOf[node], offset, limit);
    }

    /// @inheritdoc ITradingMarket
    function periodTradeCount(uint32 periodId) external view returns (uint256) {
        return _periodTrades[periodId].length;
    }

    /// @inheritdoc ITradingMarket
    function periodTrades(uint32 periodId, uint256 offset, uint256 limit)
        external
        view
        returns (Trade[] memory)
    {
        return _tradePage(_periodTrades[periodId], offset, limit);
    }

    /// @inheritdoc ITradingMarket
    function escrowOf(uint256 tradeId) external view returns (uint256) {
        Trade storage t = _trade(tradeId);
        if (t.status == TradeStatus.Settled || t.status == TradeStatus.Failed) return 0;
        return t.escrowFen - t.paidOutFen;
    }

    /// @inheritdoc ITradingMarket
    function totalEscrowFen() external view returns (uint256) {
        return _totalEscrow;
    }

    // ================================================================ internals

    function _checkTake(Listing storage l, uint256 energyWh, uint256 limitPrice) private view {
        uint256 listingId = l.id;
        Period storage p = _periods[l.periodId];
        uint64 nowS = uint64(block.timestamp);
        if (nowS < p.takingOpensAt || nowS >= p.takingClosesAt) {
            revert OutsideTakingWindow(l.periodId, nowS, p.takingOpensAt, p.takingClosesAt);
        }
        if (nowS >= l.expiresAt) revert ListingHasExpired(listingId, l.expiresAt, nowS);
        if (msg.sender == l.maker) revert SelfTake(listingId, msg.sender);
        if (energyWh == 0) revert ZeroEnergy();
        uint256 remaining = l.remainingWh;
        if (energyWh > remaining) revert TakeExceedsRemaining(listingId, energyWh, remaining);
        if (energyWh < l.minTakeWh && energyWh != remaining) {
            revert TakeBelowMinimum(listingId, energyWh, l.minTakeWh);
        }
        uint256 price = l.priceFenPerMwh;
        if (limitPrice != 0) {
            bool sellListing = l.side == ListingSide.Sell;
            if (sellListing ? price > limitPrice : price < limitPrice) {
                revert PriceLimitExceeded(listingId, price, limitPrice);
            }
        }
        _registry.checkCanTrade(msg.sender);
        _registry.checkCanTrade(l.maker);
        if (l.side == ListingSide.Buy) _checkSeller(msg.sender);
    }

    /// @dev Route, fee, escrow and exposure of a new trade (energy, price already set).
    function _price(Trade storage t, uint8 sellerRegion, uint8 buyerRegion) private {
        (uint256 feeFen_, uint8[] memory route, uint256 sumRate) =
            _tariff.transmissionFeeFen(sellerRegion, buyerRegion, t.energyWh);
        uint256 energyFen = t.energyWh * t.priceFenPerMwh / WH_PER_MWH;
        t.energyFen = energyFen;
        t.route = route;
        t.sumRateFenPerMwh = sumRate;
        t.feeFen = feeFen_;
        t.escrowFen = energyFen + feeFen_;
        t.exposureFen = _exposure(energyFen);
    }

    /// @dev Pull the prepayment from the buyer, with readable errors when it cannot pay.
    function _collect(address buyer, uint256 amountFen) private {
        if (amountFen == 0) return;
        uint256 balance = _token.balanceOf(buyer);
        if (balance < amountFen) revert InsufficientBalance(buyer, balance, amountFen);
        uint256 allowance = _token.allowance(buyer, address(this));
        if (allowance < amountFen) revert InsufficientAllowance(buyer, allowance, amountFen);
        _token.safeTransferFrom(buyer, address(this), amountFen);
    }

    function _payOut(Trade storage t, address to, uint256 amountFen) private {
        uint256 left = t.escrowFen - t.paidOutFen;
        if (amountFen > left) revert EscrowExceeded(t.id, amountFen, left);
        t.paidOutFen += amountFen;
        _totalEscrow -= amountFen;
        emit EscrowPaidOut(t.id, to, amountFen, left - amountFen, msg.sender);
        _token.safeTransfer(to, amountFen);
    }

    function _exposure(uint256 energyFen) private view returns (uint256) {
        return (energyFen * _exposureBps + BPS - 1) / BPS;
    }

    function _checkSeller(address node) private view {
        if (_registry.sideOf(node) != INodeRegistry.Side.Seller) revert NotASeller(node);
    }

    /// @dev Leave the open set (swap and pop) and close the maker's listing obligation.
    function _closeListing(Listing storage l, ListingStatus status) private {
        uint256 id = l.id;
        l.status = status;
        uint256 position = _openPos[id];
        uint256 last = _open.length;
        if (position != last) {
            uint256 moved = _open[last - 1];
            _open[position - 1] = moved;
            _openPos[moved] = position;
        }
        _open.pop();
        delete _openPos[id];
        _registry.removeObligation(l.maker);
    }

    function _emitPosted(Listing storage l) private {
        emit ListingPosted(
            l.id,
            l.maker,
            l.periodId,
            l.side,
            l.region,
            l.firstInterval,
            l.lastInterval,
            l.energyWh,
            l.minTakeWh,
            l.priceFenPerMwh,
            l.expiresAt,
            l.termsHash
        );
    }

    function _period(uint32 periodId) private view returns (Period storage p) {
        p = _periods[periodId];
        if (p.id == 0) revert UnknownPeriod(periodId);
    }

    function _listing(uint256 listingId) private view returns (Listing storage l) {
        l = _listings[listingId];
        if (l.id == 0) revert UnknownListing(listingId);
    }

    function _openListing(uint256 listingId) private view returns (Listing storage l) {
        l = _listing(listingId);
        if (l.status != ListingStatus.Open) revert ListingNotOpen(listingId, l.status);
    }

    function _trade(uint256 tradeId) private view returns (Trade storage t) {
        t = _trades[tradeId];
        if (t.id == 0) revert UnknownTrade(tradeId);
    }

    function _openTrade(uint256 tradeId) private view returns (Trade storage t) {
        t = _trade(tradeId);
        if (t.status != TradeStatus.Formed && t.status != TradeStatus.Dispatched) {
            revert InvalidTradeStatus(tradeId, t.status);
        }
    }

    function _tradePage(uint256[] storage ids, uint256 offset, uint256 limit)
        private
        view
        returns (Trade[] memory page)
    {
        uint256 end = _pageEnd(offset, limit, ids.length);
        page = new Trade[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _trades[ids[i]];
        }
    }

    function _pageEnd(uint256 offset, uint256 limit, uint256 len) private pure returns (uint256) {
        if (offset >= len) return offset;
        uint256 remaining = len - offset;
        return offset + (limit < remaining ? limit : remaining);
    }
}
