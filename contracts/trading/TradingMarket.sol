// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";

/// @title TradingMarket
/// @notice Posted-offer trading in both modes with prepaid escrow (see ITradingMarket).
/// @dev Storage is packed (layout in docs/gas.md): a listing is 2 slots (+1 for a non-zero
/// terms hash; listing energy in uint48 Wh, its price in uint32 fen/MWh), a trade 1 slot
/// at formation (+1 once dispatched or paid out; energy and price as the listing's, the
/// taker and the (route, rate sum, exposure rate) terms interned), money in uint128 fen,
/// all converted with SafeCast. There is no
/// on-chain open set: the open listings are read from the events (ledger/clients). The derived amounts (energyFen, feeFen, escrowFen, exposureFen, a
/// listing's energyWh) are recomputed by the views with the same rounding as at take.
contract TradingMarket is ITradingMarket, ISettlementMarket, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @dev A listing as stored; energyWh = takenWh + remainingWh (amend keeps it so).
    struct StoredListing {
        address maker; // slot 0
        ListingSide side;
        ListingStatus status;
        uint8 region;
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint48 remainingWh; // slot 1
        uint48 takenWh;
        uint48 minTakeWh;
        uint32 priceFenPerMwh;
        uint40 postedAt;
        uint40 expiresAt;
        bytes32 termsHash; // slot 2, written only when non-zero
    }

    /// @dev A trade as stored: 1 slot at formation, written with one sstore (_storeTrade).
    /// Period, delivery window and the maker (the buyer of a Buy listing, the seller of a
    /// Sell listing) are the listing's, which never change; the taker is interned
    /// (_interned), the route, rate sum and exposure rate at take are interned together
    /// as one word (_interned); escrow, fee, energyFen and exposure are derived.
    struct StoredTrade {
        uint32 takerId; // slot 0; into _interned, 0 = no trade
        uint56 listingId;
        bool paidWhileFormed; // payOut of a Formed trade wrote slot 1 (see settleTrade)
        TradeStatus status;
        uint48 energyWh; // <= the listing's remainingWh, a uint48
        uint32 priceFenPerMwh; // the listing's, a uint32
        uint40 formedAt;
        uint32 termsId; // into _interned
        uint64 executedWh; // slot 1, written at dispatch / payout
        uint64 curtailedWh;
        uint128 paidOutFen;
    }

    /// @notice Wh per MWh: amountFen = energyWh x priceFenPerMwh / WH_PER_MWH.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Basis points of a whole.
    uint16 public constant BPS = 10_000;
    /// @notice The exposure rate at deployment: 10 % of the trade value.
    uint16 public constant DEFAULT_EXPOSURE_BPS = 1_000;

    /// @dev The access root's DEFAULT_ADMIN_ROLE (setDispatchResults).
    bytes32 private constant ADMIN_ROLE = 0x00;

    INodeRegistry private immutable _registry;
    ITransmissionTariff private immutable _tariff;
    IERC20 private immutable _token;

    // One slot: the counters and the escrow total a take updates together.
    uint64 private _tradeCount;
    uint16 private _exposureBps;
    uint128 private _totalEscrow;
    // One slot.
    uint64 private _listingCount;
    uint32 private _periodCount;
    uint32 private _internCount;
    mapping(uint32 periodId => Period) private _periods;

    mapping(uint256 listingId => StoredListing) private _listings;

    mapping(uint256 tradeId => StoredTrade) private _trades;
    /// @dev Trades per (node, period), as buyer or seller (bits 0..223): read by the
    /// settlement engine. Bits 224..255 hold the node's intern id once it has taken in the
    /// period, so a node's later takes of the period read its id from the counter's slot.
    mapping(address node => mapping(uint32 periodId => uint256)) private _tradesIn;
    /// @dev Interned words, ids from 1: a trade's taker (its address) and its terms (the
    /// route packed as ITransmissionTariff.cachedRoute in bits 0..167, the rate sum in
    /// fen/MWh in bits 168..231, the exposure rate in bps in bits 232..247, at take). A
    /// word is one id whatever it stands for; the trade field says how to read it.
    mapping(uint32 id => uint256 word) private _interned;
    mapping(uint256 word => uint32 id) private _internIds;
    /// @dev Named once by the ADMIN (setDispatchResults): where `trade` reads the executed
    /// and curtailed energy of a trade settleTrade closed without writing its slot 1.
    IDispatchResults private _dispatchResults;

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

    // ================================================================ MARKET_CONTRACT

    /// @inheritdoc ITradingMarket
    function markDispatched(uint256 tradeId, uint256 executedWh, uint256 curtailedWh)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        StoredTrade storage t = _trade(tradeId);
        if (t.status != TradeStatus.Formed) revert InvalidTradeStatus(tradeId, t.status);
        _markDispatched(t, tradeId, executedWh, curtailedWh);
    }

    /// @inheritdoc ITradingMarket
    function dispatchAndPayOut(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 amountFen
    ) external onlyRole(Roles.MARKET_CONTRACT) nonReentrant {
        StoredTrade storage t = _openTrade(tradeId);
        if (t.status == TradeStatus.Formed) _markDispatched(t, tradeId, executedWh, curtailedWh);
        if (amountFen != 0) _payOut(t, tradeId, msg.sender, amountFen);
    }

    function _markDispatched(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) private {
        _recordExecution(t, tradeId, executedWh, curtailedWh);
        t.status = TradeStatus.Dispatched;
        emit TradeDispatched(tradeId, executedWh, curtailedWh, msg.sender);
        emit TradeStatusChanged(tradeId, TradeStatus.Formed, TradeStatus.Dispatched, msg.sender);
    }

    /// @dev The executed and curtailed energy of `t` (DispatchExceedsTrade past its energy).
    function _recordExecution(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) private {
        _checkExecution(t, tradeId, executedWh, curtailedWh);
        t.executedWh = uint64(executedWh); // both <= energyWh, a uint64
        t.curtailedWh = uint64(curtailedWh);
    }

    /// @inheritdoc ITradingMarket
    function payOut(uint256 tradeId, address to, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        StoredTrade storage t = _openTrade(tradeId);
        _payOut(t, tradeId, to, amountFen);
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
        _close(_openTrade(tradeId), tradeId, status);
    }

    /// @inheritdoc ISettlementMarket
    function settleTrade(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 amountFen,
        bool failed
    ) external onlyRole(Roles.MARKET_CONTRACT) nonReentrant returns (uint256 refundFen) {
        StoredTrade storage t = _openTrade(tradeId);
        // a Formed trade goes straight to its end (no TradeDispatched: the engine's
        // TradeSettled and DispatchResultRecorded carry the energies)
        if (t.status == TradeStatus.Formed) {
            // slot 1 of a Formed trade is empty unless payOut wrote it (not read here)
            if (!t.paidWhileFormed) {
                _checkExecution(t, tradeId, executedWh, curtailedWh);
                return _settleFormed(t, tradeId, amountFen, failed);
            }
            _recordExecution(t, tradeId, executedWh, curtailedWh);
        }
        if (amountFen != 0) _payOut(t, tradeId, msg.sender, amountFen);
        refundFen = _close(t, tradeId, failed ? TradeStatus.Failed : TradeStatus.Settled);
    }

    function _checkExecution(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) private view {
        if (executedWh + curtailedWh > t.energyWh) {
            revert DispatchExceedsTrade(tradeId, executedWh, curtailedWh, t.energyWh);
        }
    }

    /// @dev settleTrade of a Formed trade with an empty slot 1: payOut(amountFen) to the
    /// caller and _close, with the same checks, events and transfers in the same order,
    /// writing only the status (the paid-out amount of a closed trade is its whole escrow;
    /// its energies are DispatchResults' record, which `trade` reads).
    function _settleFormed(StoredTrade storage t, uint256 tradeId, uint256 amountFen, bool failed)
        private
        returns (uint256 left)
    {
        uint256 energyFen = _energyFen(t);
        uint256 escrowFen = energyFen + _feeFen(t);
        if (amountFen > escrowFen) revert EscrowExceeded(tradeId, amountFen, escrowFen);
        left = escrowFen - amountFen;
        _totalEscrow -= uint128(escrowFen);
        if (amountFen != 0) _transferOut(tradeId, msg.sender, amountFen, left);
        TradeStatus status = failed ? TradeStatus.Failed : TradeStatus.Settled;
        t.status = status;
        (address buyer, address seller) = _parties(t);
        uint256 exposureFen = _exposure(energyFen, _exposureBpsOf(t));
        if (exposureFen != 0) _registry.releaseBond(seller, exposureFen);
        emit TradeStatusChanged(tradeId, TradeStatus.Formed, status, msg.sender);
        if (left != 0) _transferOut(tradeId, buyer, left, 0);
    }

    function _transferOut(uint256 tradeId, address to, uint256 amountFen, uint256 remainingFen)
        private
    {
        emit EscrowPaidOut(tradeId, to, amountFen, remainingFen, msg.sender);
        _token.safeTransfer(to, amountFen);
    }

    /// @dev Close: release the obligations and exposure, refund the rest of the escrow.
    function _close(StoredTrade storage t, uint256 tradeId, TradeStatus status)
        private
        returns (uint256 left)
    {
        TradeStatus previous = t.status;
        t.status = status;
        uint256 energyFen = _energyFen(t);
        left = energyFen + _feeFen(t) - t.paidOutFen;
        uint256 exposureFen = _exposure(energyFen, _exposureBpsOf(t));
        (address buyer, address seller) = _parties(t);
        // the parties' obligations of the period are released when their deviation of the
        // period settles (SettlementEngine.settleDeviation); the exposure here
        if (exposureFen != 0) _registry.releaseBond(seller, exposureFen);
        emit TradeStatusChanged(tradeId, previous, status, msg.sender);
        if (left != 0) _payOut(t, tradeId, buyer, left);
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
        return _toListing(listingId, _listing(listingId));
    }

    /// @inheritdoc ITradingMarket
    function listingsByIds(uint256[] calldata listingIds)
        external
        view
        returns (Listing[] memory page)
    {
        page = new Listing[](listingIds.length);
        for (uint256 i = 0; i < listingIds.length; ++i) {
            page[i] = _toListing(listingIds[i], _listing(listingIds[i]));
        }
    }

    /// @inheritdoc ITradingMarket
    function quote(uint256 listingId, uint8 takerRegion, uint256 energyWh)
        external
        view
        returns (Quote memory q)
    {
        StoredListing storage l = _listing(listingId);
        bool sellListing = l.side == ListingSide.Sell;
        uint8 from = sellListing ? l.region : takerRegion;
        uint8 to = sellListing ? takerRegion : l.region;
        q.priceFenPerMwh = l.priceFenPerMwh;
        q.energyWh = energyWh;
        q.energyFen = energyWh * l.priceFenPerMwh / WH_PER_MWH;
        (q.feeFen, q.route, q.sumRateFenPerMwh) = _tariff.transmissionFeeFen(from, to, energyWh);
        q.escrowFen = q.energyFen + q.feeFen;
        q.exposureFen = _exposure(q.energyFen, _exposureBps);
    }

    /// @inheritdoc ITradingMarket
    function tradeCount() external view returns (uint256) {
        return _tradeCount;
    }

    /// @inheritdoc ITradingMarket
    function trade(uint256 tradeId) external view returns (Trade memory) {
        return _toTrade(tradeId, _trade(tradeId));
    }

    /// @inheritdoc ISettlementMarket
    function settlementTrade(uint256 tradeId) external view returns (SettlementTrade memory out) {
        StoredTrade storage t = _trade(tradeId);
        out.status = t.status;
        (out.buyer, out.seller) = _parties(t);
        out.periodId = _listings[t.listingId].periodId;
        out.energyWh = t.energyWh;
        out.priceFenPerMwh = t.priceFenPerMwh;
        out.sumRateFenPerMwh = _sumRateOf(t);
        out.formedAt = t.formedAt;
        out.packedRoute = _routeOf(t);
    }

    /// @inheritdoc ISettlementMarket
    function dispatchTerms(uint256 tradeId)
        external
        view
        returns (TradeStatus status, uint32 periodId, uint64 energyWh)
    {
        StoredTrade storage t = _trade(tradeId);
        return (t.status, _listings[t.listingId].periodId, t.energyWh);
    }

    /// @inheritdoc ITradingMarket
    function tradeCountIn(address node, uint32 periodId) external view returns (uint256) {
        return uint224(_tradesIn[node][periodId]);
    }

    /// @inheritdoc ITradingMarket
    function tradesByIds(uint256[] calldata tradeIds) external view returns (Trade[] memory page) {
        page = new Trade[](tradeIds.length);
        for (uint256 i = 0; i < tradeIds.length; ++i) {
            page[i] = _toTrade(tradeIds[i], _trade(tradeIds[i]));
        }
    }

    /// @inheritdoc ITradingMarket
    function escrowOf(uint256 tradeId) external view returns (uint256) {
        StoredTrade storage t = _trade(tradeId);
        if (t.status == TradeStatus.Settled || t.status == TradeStatus.Failed) return 0;
        return _energyFen(t) + _feeFen(t) - t.paidOutFen;
    }

    /// @inheritdoc ITradingMarket
    function totalEscrowFen() external view returns (uint256) {
        return _totalEscrow;
    }

    // ================================================================ internals

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
        private
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
    function _expiry(Period storage p, uint64 expiresAt) private view returns (uint64) {
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
    ) private view returns (uint256 regions) {
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
    ) private returns (uint256 tradeId, Priced memory q) {
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
    ) private returns (uint256 tradeId, Priced memory q) {
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
    ) private {
        uint256 word = uint256(_countTaker(taker, periodId)) | uint256(listingId.toUint56()) << 32
            | uint256(TradeStatus.Formed) << 96 | energyWh << 104 | price << 152
            | uint256(uint40(block.timestamp)) << 184 | uint256(_intern(terms)) << 224;
        assembly ("memory-safe") {
            sstore(t.slot, word)
        }
    }

    /// @dev The slot of _tradeCount (bits 0..63), _exposureBps (64..79) and _totalEscrow
    /// (80..207), read once per take.
    function _countersWord() private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(_tradeCount.slot)
        }
    }

    /// @dev A take's update of that slot, one sstore: the next trade id (uint64, checked
    /// as ++_tradeCount was) and the escrow total plus `escrowFen` (SafeCast to uint128).
    function _storeCounters(uint256 counters, uint256 escrowFen) private returns (uint64 id) {
        id = uint64(counters) + 1;
        uint256 escrow = SafeCast.toUint128(uint256(uint128(counters >> 80)) + escrowFen);
        uint256 word = counters >> 208 << 208 | escrow << 80 | (counters >> 64 & 0xffff) << 64 | id;
        assembly ("memory-safe") {
            sstore(_tradeCount.slot, word)
        }
    }

    /// @dev Slots 0 and 1 of a listing (StoredListing order, low bits first).
    function _listingWords(StoredListing storage l)
        private
        view
        returns (uint256 head, uint256 amounts)
    {
        assembly ("memory-safe") {
            head := sload(l.slot)
            amounts := sload(add(l.slot, 1))
        }
    }

    /// @dev Slot 1 of a listing after a take of `energyWh`: remainingWh `remaining`,
    /// takenWh + energyWh (SafeCast), one sstore.
    function _storeTaken(
        StoredListing storage l,
        uint256 amounts,
        uint256 remaining,
        uint256 energyWh
    ) private {
        uint256 taken = SafeCast.toUint48(uint256(uint48(amounts >> 48)) + energyWh);
        uint256 word = amounts >> 96 << 96 | taken << 48 | remaining;
        assembly ("memory-safe") {
            sstore(add(l.slot, 1), word)
        }
    }

    /// @dev A period's taking window (one read of its second slot).
    function _takingWindow(Period storage p)
        private
        view
        returns (uint64 opensAt, uint64 closesAt)
    {
        return (p.takingOpensAt, p.takingClosesAt);
    }

    /// @dev Buyer and seller of a trade: the taker and its listing's maker.
    function _parties(StoredTrade storage t) private view returns (address buyer, address seller) {
        StoredListing storage l = _listings[t.listingId];
        address taker = address(uint160(_interned[t.takerId]));
        return l.side == ListingSide.Sell ? (taker, l.maker) : (l.maker, taker);
    }

    /// @dev Count a trade of `taker` in `periodId` and return the taker's intern id, kept
    /// in the count's slot (_tradesIn) after its first take of the period.
    function _countTaker(address taker, uint32 periodId) private returns (uint32 id) {
        uint256 count = _tradesIn[taker][periodId];
        id = uint32(count >> 224);
        if (id == 0) id = _intern(uint160(taker));
        // the count (a few per trade id, below 2^64) never reaches bit 224
        _tradesIn[taker][periodId] = uint224(count) + 1 | uint256(id) << 224;
    }

    /// @dev The registry obligations of a new trade (its counts already bumped): one per
    /// party and period, added with the party's first trade of the period (removed when
    /// its deviation of the period settles), and the seller's exposure reserved.
    function _openObligations(Priced memory q, uint32 periodId) private {
        bool buyerFirst = uint224(_tradesIn[q.buyer][periodId]) == 1;
        bool sellerFirst = uint224(_tradesIn[q.seller][periodId]) == 1;
        if (buyerFirst && sellerFirst) {
            _registry.openTradeObligations(q.buyer, q.seller, q.exposureFen);
            return;
        }
        if (buyerFirst) _registry.addObligation(q.buyer);
        if (sellerFirst) _registry.addObligation(q.seller);
        if (q.exposureFen != 0) _registry.reserveBond(q.seller, q.exposureFen);
    }

    /// @dev The id of `word` in _interned, given on first use (the 2^32-th id reverts).
    function _intern(uint256 word) private returns (uint32 id) {
        id = _internIds[word];
        if (id == 0) {
            id = ++_internCount;
            _internIds[word] = id;
            _interned[id] = word;
        }
    }

    /// @dev The packed route of a trade's terms (see _interned).
    function _routeOf(StoredTrade storage t) private view returns (uint256) {
        return _interned[t.termsId] & type(uint168).max;
    }

    /// @dev The rate sum (fen/MWh) of a trade's terms.
    function _sumRateOf(StoredTrade storage t) private view returns (uint64) {
        return uint64(_interned[t.termsId] >> 168);
    }

    /// @dev The exposure rate (bps) of a trade's terms.
    function _exposureBpsOf(StoredTrade storage t) private view returns (uint16) {
        return uint16(_interned[t.termsId] >> 232);
    }

    /// @dev The route packed by ITransmissionTariff.cachedRoute, as a list of regions.
    function _unpack(uint256 packed) private pure returns (uint8[] memory route) {
        uint256 n = packed & 0xff;
        route = new uint8[](n);
        for (uint256 k = 0; k < n; ++k) {
            route[k] = uint8((packed >> (8 + 5 * k)) & 0x1f);
        }
    }

    /// @dev Pull the prepayment from the buyer, with readable errors when it cannot pay
    /// (balance and allowance are read only after a failed transfer).
    function _collect(address buyer, uint256 amountFen) private {
        if (amountFen == 0) return;
        if (_token.trySafeTransferFrom(buyer, address(this), amountFen)) return;
        uint256 balance = _token.balanceOf(buyer);
        if (balance < amountFen) revert InsufficientBalance(buyer, balance, amountFen);
        uint256 allowance = _token.allowance(buyer, address(this));
        if (allowance < amountFen) revert InsufficientAllowance(buyer, allowance, amountFen);
        _token.safeTransferFrom(buyer, address(this), amountFen);
    }

    function _payOut(StoredTrade storage t, uint256 tradeId, address to, uint256 amountFen)
        private
    {
        uint256 paid = t.paidOutFen;
        uint256 left = _energyFen(t) + _feeFen(t) - paid;
        if (amountFen > left) revert EscrowExceeded(tradeId, amountFen, left);
        if (t.status == TradeStatus.Formed) t.paidWhileFormed = true;
        t.paidOutFen = uint128(paid + amountFen); // <= escrow, below 2^128
        _totalEscrow -= uint128(amountFen);
        _transferOut(tradeId, to, amountFen, left - amountFen);
    }

    function _energyFen(StoredTrade storage t) private view returns (uint256) {
        return uint256(t.energyWh) * t.priceFenPerMwh / WH_PER_MWH;
    }

    function _feeFen(StoredTrade storage t) private view returns (uint256) {
        return uint256(t.energyWh) * _sumRateOf(t) / WH_PER_MWH;
    }

    function _exposure(uint256 energyFen, uint16 bps) private pure returns (uint256) {
        return (energyFen * bps + BPS - 1) / BPS;
    }

    function _checkSeller(address node, INodeRegistry.Side side) private pure {
        if (side != INodeRegistry.Side.Seller) revert NotASeller(node);
    }

    /// @dev Close a listing and the maker's listing obligation.
    function _closeListing(StoredListing storage l, ListingStatus status) private {
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
    ) private view returns (uint256) {
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
    ) private view returns (uint256) {
        return uint256(energyWh.toUint48()) | minTakeWh << 96 // minTakeWh <= energyWh
            | uint256(priceFenPerMwh.toUint32()) << 144
            | uint256(uint40(block.timestamp)) << 176
            | uint256(uint256(expiresAt).toUint40()) << 216;
    }

    /// @dev One write per slot of a new listing (a field-by-field write re-reads the slot).
    function _storeListing(StoredListing storage l, uint256 head, uint256 amounts) private {
        assembly ("memory-safe") {
            sstore(l.slot, head)
            sstore(add(l.slot, 1), amounts)
        }
    }

    function _emitPosted(uint256 listingId, StoredListing storage l, bytes32 termsHash) private {
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

    function _toListing(uint256 listingId, StoredListing storage l)
        private
        view
        returns (Listing memory out)
    {
        out.id = listingId;
        out.maker = l.maker;
        out.side = l.side;
        out.status = l.status;
        out.region = l.region;
        out.periodId = l.periodId;
        out.firstInterval = l.firstInterval;
        out.lastInterval = l.lastInterval;
        out.postedAt = l.postedAt;
        out.expiresAt = l.expiresAt;
        out.remainingWh = l.remainingWh;
        out.takenWh = l.takenWh;
        out.energyWh = out.takenWh + out.remainingWh;
        out.minTakeWh = l.minTakeWh;
        out.priceFenPerMwh = l.priceFenPerMwh;
        out.termsHash = l.termsHash;
    }

    function _toTrade(uint256 tradeId, StoredTrade storage t)
        private
        view
        returns (Trade memory out)
    {
        out.id = tradeId;
        out.listingId = t.listingId;
        (out.buyer, out.seller) = _parties(t);
        StoredListing storage l = _listings[t.listingId];
        out.periodId = l.periodId;
        out.firstInterval = l.firstInterval;
        out.lastInterval = l.lastInterval;
        out.status = t.status;
        out.formedAt = t.formedAt;
        out.energyWh = t.energyWh;
        out.priceFenPerMwh = t.priceFenPerMwh;
        out.energyFen = _energyFen(t);
        out.route = _unpack(_routeOf(t));
        out.sumRateFenPerMwh = _sumRateOf(t);
        out.feeFen = _feeFen(t);
        out.escrowFen = out.energyFen + out.feeFen;
        out.exposureFen = _exposure(out.energyFen, _exposureBpsOf(t));
        bool closed = out.status == TradeStatus.Settled || out.status == TradeStatus.Failed;
        if (!closed || _slot1(t) != 0) {
            out.executedWh = t.executedWh;
            out.curtailedWh = t.curtailedWh;
            out.paidOutFen = t.paidOutFen;
            return out;
        }
        // closed by settleTrade from Formed (_settleFormed): nothing stored in slot 1
        out.paidOutFen = out.escrowFen;
        IDispatchResults results = _dispatchResults;
        if (address(results) != address(0)) {
            IDispatchResults.Execution memory e = results.executionOf(tradeId);
            (out.executedWh, out.curtailedWh) = (e.executedWh, e.curtailedWh);
        }
    }

    /// @inheritdoc ISettlementMarket
    function dispatchResults() external view returns (address) {
        return address(_dispatchResults);
    }

    function _period(uint32 periodId) private view returns (Period storage p) {
        p = _periods[periodId];
        if (p.id == 0) revert UnknownPeriod(periodId);
    }

    function _listing(uint256 listingId) private view returns (StoredListing storage l) {
        l = _listings[listingId];
        if (l.maker == address(0)) revert UnknownListing(listingId);
    }

    function _openListing(uint256 listingId) private view returns (StoredListing storage l) {
        l = _listing(listingId);
        if (l.status != ListingStatus.Open) revert ListingNotOpen(listingId, l.status);
    }

    function _trade(uint256 tradeId) private view returns (StoredTrade storage t) {
        t = _trades[tradeId];
        if (t.takerId == 0) revert UnknownTrade(tradeId);
    }

    function _openTrade(uint256 tradeId) private view returns (StoredTrade storage t) {
        t = _trade(tradeId);
        if (t.status != TradeStatus.Formed && t.status != TradeStatus.Dispatched) {
            revert InvalidTradeStatus(tradeId, t.status);
        }
    }

    /// @notice What ReputationLedger reads of a trade to rate it, in one call: its buyer,
    /// seller and status and the end of its delivery window (deliveryStart + intervalS x
    /// intervals of its period). Reverts UnknownTrade as `trade` does.
    function ratingTerms(uint256 tradeId)
        external
        view
        returns (address buyer, address seller, TradeStatus status, uint64 deliveryEndsAt)
    {
        // Each slot is read once (StoredTrade slot 0, StoredListing slot 0, Period slot 0;
        // the layouts of docs/gas.md), the taker's intern word once.
        uint256 word = _slot0(_trades[tradeId]);
        uint32 takerId = uint32(word);
        if (takerId == 0) revert UnknownTrade(tradeId);
        status = TradeStatus(uint8(word >> 96));
        uint256 head = _slot0(_listings[uint56(word >> 32)]);
        address maker = address(uint160(head));
        address taker = address(uint160(_interned[takerId]));
        (buyer, seller) =
            ListingSide(uint8(head >> 160)) == ListingSide.Sell ? (taker, maker) : (maker, taker);
        uint256 p = _slot0(_periods[uint32(head >> 184)]);
        deliveryEndsAt = uint64(p >> 32) + uint64(uint32(p >> 96)) * uint16(p >> 128);
    }

    /// @dev The first word of a stored struct (one sload for its packed fields).
    function _slot0(StoredTrade storage t) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(t.slot)
        }
    }

    /// @dev The second word of a trade (executedWh, curtailedWh, paidOutFen).
    function _slot1(StoredTrade storage t) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(add(t.slot, 1))
        }
    }

    function _slot0(StoredListing storage l) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(l.slot)
        }
    }

    function _slot0(Period storage p) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(p.slot)
        }
    }
}
