// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ICentralAuction} from "./ICentralAuction.sol";

/// @title CentralAuction
/// @notice The centralised auction (集中竞价): orders with escrow and bond reservations,
/// clearing by price then time priority in bounded steps (see ICentralAuction).
/// @dev Holds VENUE (forms trades in the TradingMarket, paying escrows from the bids'
/// escrow it holds) and MARKET_CONTRACT (reserves offer exposure on bonds and counts open
/// orders as registry obligations). No function loops over the book.
contract CentralAuction is ICentralAuction, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Wh per MWh: amountFen = energyWh x priceFenPerMwh / WH_PER_MWH.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Basis points of a whole.
    uint256 public constant BPS = 10_000;

    INodeRegistry private immutable _registry;
    ITradingMarket private immutable _market;
    IERC20 private immutable _token;

    uint32 private _floorFenPerMwh;
    uint32 private _capFenPerMwh;
    uint32 private _auctionCount;
    uint64 private _orderCount;
    uint64 private _seqCount;

    mapping(uint32 auctionId => Auction) private _auctions;
    mapping(uint256 orderId => Order) private _orders;
    mapping(uint32 auctionId => mapping(uint256 index => uint64 orderId)) private _bidQueue;
    mapping(uint32 auctionId => mapping(uint256 index => uint64 orderId)) private _offerQueue;
    mapping(uint32 auctionId => mapping(uint256 index => Pair)) private _pairs;

    /// @param access_ The suite's access root.
    /// @param registry_ The node registry (eligibility, bonds, obligations).
    /// @param market_ The trade store (TradingMarket) trades are formed in.
    /// @param token_ The settlement token bids escrow.
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        ITradingMarket market_,
        IERC20 token_
    ) MarketAccessed(access_) {
        if (
            address(access_) == address(0) || address(registry_) == address(0)
                || address(market_) == address(0) || address(token_) == address(0)
        ) revert ZeroAddress();
        _registry = registry_;
        _market = market_;
        _token = token_;
    }

    // ================================================================ REGULATOR, OPERATOR

    /// @inheritdoc ICentralAuction
    function setPriceLimits(uint256 floorFenPerMwh, uint256 capFenPerMwh)
        external
        onlyRole(Roles.REGULATOR)
    {
        if (floorFenPerMwh == 0 || floorFenPerMwh > capFenPerMwh) {
            revert InvalidPriceLimits(floorFenPerMwh, capFenPerMwh);
        }
        _floorFenPerMwh = floorFenPerMwh.toUint32();
        _capFenPerMwh = capFenPerMwh.toUint32();
        emit PriceLimitsSet(floorFenPerMwh, capFenPerMwh, msg.sender);
    }

    /// @inheritdoc ICentralAuction
    function openAuction(
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint64 opensAt,
        uint64 gateClosesAt,
        uint256 minLotWh,
        ClearingRule rule,
        uint256 feeCapFenPerMwh
    ) external onlyRole(Roles.OPERATOR) returns (uint32 auctionId) {
        if (_capFenPerMwh == 0) revert PriceLimitsNotSet();
        if (minLotWh == 0) revert ZeroMinLot();
        ITradingMarket.Period memory p = _market.period(periodId);
        if (firstInterval > lastInterval || lastInterval >= p.intervals) {
            revert InvalidDeliveryWindow(periodId, firstInterval, lastInterval, p.intervals);
        }
        uint64 nowS = uint64(block.timestamp);
        if (!(nowS < gateClosesAt && opensAt < gateClosesAt && gateClosesAt <= p.deliveryStart)) {
            revert InvalidAuctionWindows(opensAt, gateClosesAt, p.deliveryStart, nowS);
        }
        auctionId = ++_auctionCount;
        Auction storage a = _auctions[auctionId];
        a.periodId = periodId;
        a.firstInterval = firstInterval;
        a.lastInterval = lastInterval;
        a.opensAt = opensAt;
        a.gateClosesAt = gateClosesAt;
        a.minLotWh = minLotWh.toUint48();
        a.rule = rule;
        a.phase = Phase.Open;
        a.floorFenPerMwh = _floorFenPerMwh;
        a.capFenPerMwh = _capFenPerMwh;
        a.feeCapFenPerMwh = feeCapFenPerMwh.toUint32();
        _emitOpened(auctionId, a);
    }

    function _emitOpened(uint32 auctionId, Auction storage a) private {
        emit AuctionOpened(
            auctionId,
            a.periodId,
            a.firstInterval,
            a.lastInterval,
            a.opensAt,
            a.gateClosesAt,
            a.minLotWh,
            a.rule,
            a.floorFenPerMwh,
            a.capFenPerMwh,
            a.feeCapFenPerMwh,
            msg.sender
        );
    }

    // ================================================================ nodes

    /// @inheritdoc ICentralAuction
    function placeOrder(uint32 auctionId, OrderSide side, uint256 energyWh, uint256 priceFenPerMwh)
        external
        nonReentrant
        returns (uint256 orderId)
    {
        return _place(msg.sender, auctionId, side, energyWh, priceFenPerMwh);
    }

    /// @inheritdoc ICentralAuction
    function placeOrderFor(
        address node,
        uint32 auctionId,
        OrderSide side,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) external nonReentrant onlyRole(Roles.ORDER_INTAKE) returns (uint256 orderId) {
        return _place(node, auctionId, side, energyWh, priceFenPerMwh);
    }

    function _place(
        address node,
        uint32 auctionId,
        OrderSide side,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) private returns (uint256 orderId) {
        Auction storage a = _openForOrders(auctionId);
        _checkTerms(a, auctionId, energyWh, priceFenPerMwh);
        (INodeRegistry.Side nodeSide,) = _registry.checkCanTrade(node);
        if ((side == OrderSide.Bid) != (nodeSide == INodeRegistry.Side.Buyer)) {
            revert WrongSideForOrder(node, side);
        }
        orderId = ++_orderCount;
        uint64 seq = ++_seqCount;
        uint256 held = _held(a, side, energyWh, priceFenPerMwh);
        _orders[orderId] = Order({
            node: node,
            auctionId: auctionId,
            side: side,
            status: OrderStatus.Live,
            seq: seq,
            energyWh: energyWh.toUint48(),
            priceFenPerMwh: priceFenPerMwh.toUint32(),
            matchedWh: 0,
            tradedWh: 0,
            heldFen: held.toUint128()
        });
        if (side == OrderSide.Bid) ++a.liveBids;
        else ++a.liveOffers;
        _registry.addObligation(node);
        _hold(side, node, held);
        emit OrderPlaced(orderId, auctionId, node, side, seq, energyWh, priceFenPerMwh, held);
    }

    /// @inheritdoc ICentralAuction
    function amendOrder(uint256 orderId, uint256 energyWh, uint256 priceFenPerMwh)
        external
        nonReentrant
    {
        Order storage o = _ownLiveOrder(orderId);
        Auction storage a = _openForOrders(o.auctionId);
        _checkTerms(a, o.auctionId, energyWh, priceFenPerMwh);
        if (priceFenPerMwh != o.priceFenPerMwh || energyWh > o.energyWh) o.seq = ++_seqCount;
        uint256 before = o.heldFen;
        uint256 held = _held(a, o.side, energyWh, priceFenPerMwh);
        o.energyWh = energyWh.toUint48();
        o.priceFenPerMwh = priceFenPerMwh.toUint32();
        o.heldFen = held.toUint128();
        if (held > before) _hold(o.side, msg.sender, held - before);
        else if (held < before) _release(o.side, msg.sender, before - held);
        emit OrderAmended(orderId, o.auctionId, msg.sender, o.seq, energyWh, priceFenPerMwh, held);
    }

    /// @inheritdoc ICentralAuction
    function cancelOrder(uint256 orderId) external nonReentrant {
        Order storage o = _ownLiveOrder(orderId);
        Auction storage a = _openForOrders(o.auctionId);
        if (o.side == OrderSide.Bid) --a.liveBids;
        else --a.liveOffers;
        uint256 held = o.heldFen;
        o.heldFen = 0;
        o.status = OrderStatus.Cancelled;
        _registry.removeObligation(msg.sender);
        _release(o.side, msg.sender, held);
        emit OrderCancelled(orderId, o.auctionId, msg.sender, held);
    }

    // ================================================================ clearing (anyone)

    /// @inheritdoc ICentralAuction
    function rank(uint32 auctionId, uint256[] calldata orderIds) external {
        Auction storage a = _gateClosed(auctionId);
        if (a.phase != Phase.Open) revert NotRanking(auctionId, a.phase);
        for (uint256 k = 0; k < orderIds.length; ++k) {
            _rankOne(a, auctionId, orderIds[k]);
        }
        if (a.rankedBids == a.liveBids && a.rankedOffers == a.liveOffers) a.phase = Phase.Matching;
        emit OrdersRanked(auctionId, a.rankedBids, a.rankedOffers, msg.sender);
    }

    /// @inheritdoc ICentralAuction
    function clear(uint32 auctionId, uint256 maxSteps) external nonReentrant returns (Phase) {
        Auction storage a = _gateClosed(auctionId);
        if (maxSteps == 0) revert ZeroSteps();
        if (a.phase == Phase.Cleared) revert AlreadyCleared(auctionId);
        if (a.phase == Phase.Open) {
            if (a.rankedBids != a.liveBids || a.rankedOffers != a.liveOffers) {
                revert RankingIncomplete(
                    auctionId, a.rankedBids, a.liveBids, a.rankedOffers, a.liveOffers
                );
            }
            a.phase = Phase.Matching;
        }
        for (uint256 step = 0; step < maxSteps && a.phase != Phase.Cleared; ++step) {
            if (a.phase == Phase.Matching) _matchStep(a, auctionId);
            else if (a.phase == Phase.Forming) _formStep(a, auctionId);
            else _refundStep(a, auctionId);
        }
        return a.phase;
    }

    // ================================================================ views

    /// @inheritdoc ICentralAuction
    function auction(uint32 auctionId) external view returns (Auction memory) {
        return _auction(auctionId);
    }

    /// @inheritdoc ICentralAuction
    function auctionCount() external view returns (uint32) {
        return _auctionCount;
    }

    /// @inheritdoc ICentralAuction
    function order(uint256 orderId) external view returns (Order memory) {
        return _order(orderId);
    }

    /// @inheritdoc ICentralAuction
    function orderCount() external view returns (uint256) {
        return _orderCount;
    }

    /// @inheritdoc ICentralAuction
    function pair(uint32 auctionId, uint256 pairIndex) external view returns (Pair memory) {
        return _pairs[auctionId][pairIndex];
    }

    /// @inheritdoc ICentralAuction
    function priceLimits() external view returns (uint256, uint256) {
        return (_floorFenPerMwh, _capFenPerMwh);
    }

    // ================================================================ internals: orders

    function _checkTerms(
        Auction storage a,
        uint32 auctionId,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) private view {
        if (energyWh < a.minLotWh) revert BelowMinimumLot(auctionId, energyWh, a.minLotWh);
        if (priceFenPerMwh < a.floorFenPerMwh || priceFenPerMwh > a.capFenPerMwh) {
            revert PriceOutsideLimits(
                auctionId, priceFenPerMwh, a.floorFenPerMwh, a.capFenPerMwh
            );
        }
    }

    /// @dev What an order holds: a bid's escrow (energy at its limit plus the fee at the
    /// auction's fee cap), an offer's bond reservation (exposure of the energy at the cap).
    function _held(Auction storage a, OrderSide side, uint256 energyWh, uint256 priceFenPerMwh)
        private
        view
        returns (uint256)
    {
        if (side == OrderSide.Bid) {
            return energyWh * priceFenPerMwh / WH_PER_MWH
                + energyWh * a.feeCapFenPerMwh / WH_PER_MWH;
        }
        return _exposureFen(energyWh * a.capFenPerMwh / WH_PER_MWH);
    }

    function _exposureFen(uint256 energyFen) private view returns (uint256) {
        return (energyFen * _market.exposureBps() + BPS - 1) / BPS;
    }

    /// @dev Take a bid's escrow from `node` or reserve an offer's exposure on its bond.
    function _hold(OrderSide side, address node, uint256 amountFen) private {
        if (amountFen == 0) return;
        if (side == OrderSide.Offer) {
            _registry.reserveBond(node, amountFen);
            return;
        }
        if (_token.trySafeTransferFrom(node, address(this), amountFen)) return;
        uint256 balance = _token.balanceOf(node);
        if (balance < amountFen) revert InsufficientBalance(node, balance, amountFen);
        uint256 allowance = _token.allowance(node, address(this));
        if (allowance < amountFen) revert InsufficientAllowance(node, allowance, amountFen);
        _token.safeTransferFrom(node, address(this), amountFen);
    }

    /// @dev Refund a bid's escrow to `node` or release an offer's reservation.
    function _release(OrderSide side, address node, uint256 amountFen) private {
        if (amountFen == 0) return;
        if (side == OrderSide.Offer) _registry.releaseBond(node, amountFen);
        else _token.safeTransfer(node, amountFen);
    }

    // ================================================================ internals: clearing

    /// @dev Append one order to its side's queue, checked strictly after the last one.
    function _rankOne(Auction storage a, uint32 auctionId, uint256 orderId) private {
        Order storage o = _order(orderId);
        if (o.auctionId != auctionId) revert WrongAuction(orderId, auctionId, o.auctionId);
        if (o.status != OrderStatus.Live) revert OrderNotLive(orderId, o.status);
        bool bid = o.side == OrderSide.Bid;
        uint64 previous = bid ? a.lastRankedBid : a.lastRankedOffer;
        if (previous != 0 && !_before(_orders[previous], o, bid)) {
            revert OutOfPriorityOrder(auctionId, orderId, previous);
        }
        if (bid) {
            _bidQueue[auctionId][a.rankedBids++] = uint64(orderId);
            a.lastRankedBid = uint64(orderId);
        } else {
            _offerQueue[auctionId][a.rankedOffers++] = uint64(orderId);
            a.lastRankedOffer = uint64(orderId);
        }
    }

    /// @dev Whether `x` has strictly higher priority than `y` (same side).
    function _before(Order storage x, Order storage y, bool bid) private view returns (bool) {
        if (x.priceFenPerMwh != y.priceFenPerMwh) {
            return bid ? x.priceFenPerMwh > y.priceFenPerMwh : x.priceFenPerMwh < y.priceFenPerMwh;
        }
        return x.seq < y.seq;
    }

    /// @dev One pair from the queue heads, or the end of matching.
    function _matchStep(Auction storage a, uint32 auctionId) private {
        if (a.bidPos < a.rankedBids && a.offerPos < a.rankedOffers) {
            uint64 bidId = _bidQueue[auctionId][a.bidPos];
            uint64 offerId = _offerQueue[auctionId][a.offerPos];
            Order storage b = _orders[bidId];
            Order storage s = _orders[offerId];
            if (b.priceFenPerMwh >= s.priceFenPerMwh) {
                uint256 bidLeft = b.energyWh - b.matchedWh;
                uint256 offerLeft = s.energyWh - s.matchedWh;
                uint256 q = bidLeft < offerLeft ? bidLeft : offerLeft;
                _pairs[auctionId][a.pairCount++] = Pair(bidId, offerId, uint48(q));
                b.matchedWh += uint48(q);
                s.matchedWh += uint48(q);
                a.matchedWh += uint64(q);
                a.lastBidPriceFenPerMwh = b.priceFenPerMwh;
                a.lastOfferPriceFenPerMwh = s.priceFenPerMwh;
                if (q == bidLeft) ++a.bidPos;
                if (q == offerLeft) ++a.offerPos;
                return;
            }
        }
        a.phase = Phase.Forming;
        emit AuctionMatched(auctionId, a.matchedWh, a.pairCount, _uniformPrice(a));
    }

    function _uniformPrice(Auction storage a) private view returns (uint256) {
        if (a.rule != ClearingRule.Uniform || a.pairCount == 0) return 0;
        return (uint256(a.lastBidPriceFenPerMwh) + a.lastOfferPriceFenPerMwh) / 2;
    }

    /// @dev Form one matched pair as a trade (or skip it, PairFailed), or end forming.
    function _formStep(Auction storage a, uint32 auctionId) private {
        if (a.formPos == a.pairCount) {
            a.phase = Phase.Refunding;
            return;
        }
        uint256 index = a.formPos++;
        Pair memory p = _pairs[auctionId][index];
        Order storage b = _orders[p.bidId];
        Order storage s = _orders[p.offerId];
        uint256 price = a.rule == ClearingRule.Uniform
            ? _uniformPrice(a)
            : (uint256(b.priceFenPerMwh) + s.priceFenPerMwh) / 2;
        // Release the pair's share of the offer's reservation before the trade reserves
        // its exposure; the store may pull at most the bid's escrow still held.
        uint256 released = _exposureFen(uint256(p.energyWh) * price / WH_PER_MWH);
        if (released > s.heldFen) released = s.heldFen;
        if (released != 0) _registry.releaseBond(s.node, released);
        _token.forceApprove(address(_market), b.heldFen);
        try _market.formVenueTrade(
            s.node,
            b.node,
            address(this),
            a.periodId,
            a.firstInterval,
            a.lastInterval,
            p.energyWh,
            price
        ) returns (uint256 tradeId) {
            s.heldFen -= uint128(released);
            b.heldFen -= uint128(_market.escrowOf(tradeId)); // <= the approval
            b.tradedWh += p.energyWh;
            s.tradedWh += p.energyWh;
            a.tradedWh += p.energyWh;
            ++a.tradeCount;
            emit PairTraded(auctionId, index, p.bidId, p.offerId, tradeId, p.energyWh, price);
        } catch (bytes memory reason) {
            // Every refusal of the store carries a custom error; empty data is an
            // out-of-gas (a crank short of gas must not turn pairs into refunds).
            if (reason.length == 0) revert PairNotFormed(auctionId, index);
            if (released != 0) _registry.reserveBond(s.node, released);
            emit PairFailed(auctionId, index, p.bidId, p.offerId, reason);
        }
        _token.forceApprove(address(_market), 0);
    }

    /// @dev Close one live order (bids first, then offers): refund or release what it
    /// still holds and end its obligation; then the auction is cleared.
    function _refundStep(Auction storage a, uint32 auctionId) private {
        uint256 pos = a.refundPos++;
        uint64 orderId;
        if (pos < a.rankedBids) orderId = _bidQueue[auctionId][pos];
        else if (pos < uint256(a.rankedBids) + a.rankedOffers) {
            orderId = _offerQueue[auctionId][pos - a.rankedBids];
        } else {
            a.phase = Phase.Cleared;
            emit AuctionCleared(auctionId, a.tradedWh, a.tradeCount, msg.sender);
            return;
        }
        Order storage o = _orders[orderId];
        uint256 held = o.heldFen;
        o.heldFen = 0;
        o.status = OrderStatus.Settled;
        _registry.removeObligation(o.node);
        _release(o.side, o.node, held);
        emit OrderSettled(orderId, auctionId, o.node, o.tradedWh, held);
    }

    // ================================================================ internals: lookups

    function _auction(uint32 auctionId) private view returns (Auction storage a) {
        a = _auctions[auctionId];
        if (a.phase == Phase.None) revert UnknownAuction(auctionId);
    }

    function _openForOrders(uint32 auctionId) private view returns (Auction storage a) {
        a = _auction(auctionId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < a.opensAt || nowS >= a.gateClosesAt) {
            revert OutsideOrderWindow(auctionId, nowS, a.opensAt, a.gateClosesAt);
        }
    }

    function _gateClosed(uint32 auctionId) private view returns (Auction storage a) {
        a = _auction(auctionId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < a.gateClosesAt) revert GateNotClosed(auctionId, nowS, a.gateClosesAt);
    }

    function _order(uint256 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.status == OrderStatus.None) revert UnknownOrder(orderId);
    }

    function _ownLiveOrder(uint256 orderId) private view returns (Order storage o) {
        o = _order(orderId);
        if (o.node != msg.sender) revert NotOrderOwner(orderId, msg.sender, o.node);
        if (o.status != OrderStatus.Live) revert OrderNotLive(orderId, o.status);
    }
}
