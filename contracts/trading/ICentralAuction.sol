// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ICentralAuction
/// @notice The centralised auction (集中竞价): sealed book, cleared by price then time
/// priority into trades of the common trade store (TradingMarket.formVenueTrade). See
/// docs/auction.md for the rules and a worked example.
///
/// Auctions. The OPERATOR opens an auction for a delivery window [firstInterval,
/// lastInterval] of a trading period: an order window [opensAt, gateClosesAt), a minimum
/// lot, a clearing rule and a fee cap (the highest route rate a bid escrows for). The
/// price floor and cap are the REGULATOR's (setPriceLimits), copied into the auction when
/// it opens. Auction ids are 1, 2, 3, ...
///
/// Orders. A bid (node registered Buyer) escrows energyFen(qty, limit) + fee(qty, fee cap)
/// from its token balance (allowance to this contract); an offer (node registered Seller)
/// reserves ceil(energyFen(qty, price cap) x exposureBps / 10000) on its bond. Order ids
/// are global; each order carries a sequence number (time priority) from one global
/// counter. Amend and cancel until the gate: an amendment that changes the price or raises
/// the quantity takes a new sequence number; lowering the quantity alone keeps it.
///
/// Clearing (after the gate, anyone, bounded steps). 1. rank: the caller submits the live
/// orders in priority order (bids price descending, offers price ascending, then sequence
/// ascending), any number per call; the contract checks each is live, of the auction and
/// strictly after the previous one of its side, so once the ranked counts equal the live
/// counts the queues are the complete, unique priority order. 2. clear(maxSteps): match
/// the heads of the queues (one pair per step) while the bid's limit >= the offer's; then
/// form each matched pair as a trade (one per step) at the rule's price; then refund every
/// order's unused escrow / release its unused reservation (one order per step). Each step
/// is O(1) in the book size. A pair the trade store refuses (a node blocked since, a fee
/// above the cap, a bond short of rounding fen) is skipped (PairFailed) and refunded.
interface ICentralAuction {
    /// @notice (a) Uniform: every pair at floor((b + o) / 2) of the last matched pair's
    /// limits (the marginal pair); (b) PairAverage: each pair at floor((b + o) / 2) of its
    /// own limits (high-low matching).
    enum ClearingRule {
        Uniform,
        PairAverage
    }

    enum OrderSide {
        Bid,
        Offer
    }

    enum OrderStatus {
        None,
        Live,
        Cancelled,
        Settled
    }

    /// @notice Open: orders (before the gate) and ranking (after); then the clearing steps.
    enum Phase {
        None,
        Open,
        Matching,
        Forming,
        Refunding,
        Cleared
    }

    /// @notice An auction as stored (one per id).
    struct Auction {
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint64 opensAt;
        uint64 gateClosesAt;
        uint48 minLotWh;
        ClearingRule rule;
        Phase phase;
        uint32 floorFenPerMwh;
        uint32 capFenPerMwh;
        uint32 feeCapFenPerMwh;
        uint32 liveBids;
        uint32 liveOffers;
        uint32 rankedBids;
        uint32 rankedOffers;
        uint32 bidPos;
        uint32 offerPos;
        uint32 pairCount;
        uint32 formPos;
        uint32 refundPos;
        uint32 lastBidPriceFenPerMwh;
        uint32 lastOfferPriceFenPerMwh;
        uint64 lastRankedBid;
        uint64 lastRankedOffer;
        uint64 matchedWh;
        uint64 tradedWh;
        uint32 tradeCount;
    }

    /// @notice An order. `heldFen` is the bid's escrow still held or the offer's bond
    /// reservation still held; `matchedWh` what clearing matched of it, `tradedWh` what
    /// became trades (less than matched only where the trade store refused a pair).
    struct Order {
        address node;
        uint32 auctionId;
        OrderSide side;
        OrderStatus status;
        uint64 seq;
        uint48 energyWh;
        uint32 priceFenPerMwh;
        uint48 matchedWh;
        uint48 tradedWh;
        uint128 heldFen;
    }

    /// @notice A matched pair of clearing (pair indexes 0, 1, ... per auction).
    struct Pair {
        uint64 bidId;
        uint64 offerId;
        uint48 energyWh;
    }

    // ------------------------------------------------------------------ events

    /// @notice The REGULATOR set the price floor and cap of auctions opened from now on.
    event PriceLimitsSet(uint256 floorFenPerMwh, uint256 capFenPerMwh, address regulator);
    /// @notice The OPERATOR opened auction `auctionId`.
    event AuctionOpened(
        uint32 indexed auctionId,
        uint32 indexed periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint64 opensAt,
        uint64 gateClosesAt,
        uint256 minLotWh,
        ClearingRule rule,
        uint256 floorFenPerMwh,
        uint256 capFenPerMwh,
        uint256 feeCapFenPerMwh,
        address operator
    );
    /// @notice `node` placed order `orderId` with sequence number `seq`; `heldFen` is its
    /// escrow (bid) or bond reservation (offer).
    event OrderPlaced(
        uint256 indexed orderId,
        uint32 indexed auctionId,
        address indexed node,
        OrderSide side,
        uint64 seq,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        uint256 heldFen
    );
    /// @notice The node amended its order; `seq` is new when the price changed or the
    /// quantity rose.
    event OrderAmended(
        uint256 indexed orderId,
        uint32 indexed auctionId,
        address indexed node,
        uint64 seq,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        uint256 heldFen
    );
    /// @notice The node cancelled its order; `releasedFen` was refunded or released.
    event OrderCancelled(
        uint256 indexed orderId, uint32 indexed auctionId, address indexed node, uint256 releasedFen
    );
    /// @notice A rank call checked orders into the queues (the counts so far).
    event OrdersRanked(uint32 indexed auctionId, uint256 rankedBids, uint256 rankedOffers, address by);
    /// @notice Matching ended: `matchedWh` in `pairCount` pairs; `uniformPriceFenPerMwh` is
    /// the uniform rule's price (0 under PairAverage or without a match).
    event AuctionMatched(
        uint32 indexed auctionId, uint256 matchedWh, uint256 pairCount, uint256 uniformPriceFenPerMwh
    );
    /// @notice Pair `pairIndex` became trade `tradeId` of the trade store.
    event PairTraded(
        uint32 indexed auctionId,
        uint256 pairIndex,
        uint256 indexed bidId,
        uint256 indexed offerId,
        uint256 tradeId,
        uint256 energyWh,
        uint256 priceFenPerMwh
    );
    /// @notice The trade store refused pair `pairIndex` (`reason` its revert data).
    event PairFailed(
        uint32 indexed auctionId,
        uint256 pairIndex,
        uint256 indexed bidId,
        uint256 indexed offerId,
        bytes reason
    );
    /// @notice Clearing closed order `orderId`: `tradedWh` traded, `releasedFen` refunded
    /// (bid) or released (offer).
    event OrderSettled(
        uint256 indexed orderId,
        uint32 indexed auctionId,
        address indexed node,
        uint256 tradedWh,
        uint256 releasedFen
    );
    /// @notice The last clearing step ran.
    event AuctionCleared(uint32 indexed auctionId, uint256 tradedWh, uint256 tradeCount, address by);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice Floor must be positive and at most the cap.
    error InvalidPriceLimits(uint256 floorFenPerMwh, uint256 capFenPerMwh);
    /// @notice The REGULATOR has not set a price cap yet.
    error PriceLimitsNotSet();
    /// @notice now < gateClosesAt, opensAt < gateClosesAt <= the period's delivery start.
    error InvalidAuctionWindows(uint64 opensAt, uint64 gateClosesAt, uint64 deliveryStart, uint64 nowS);
    /// @notice The delivery window must satisfy firstInterval <= lastInterval < intervals.
    error InvalidDeliveryWindow(uint32 periodId, uint16 firstInterval, uint16 lastInterval, uint16 intervals);
    /// @notice The minimum lot must be positive.
    error ZeroMinLot();
    /// @notice No auction with this id.
    error UnknownAuction(uint32 auctionId);
    /// @notice The order window [opensAt, gateClosesAt) is not open at `nowS`.
    error OutsideOrderWindow(uint32 auctionId, uint64 nowS, uint64 opensAt, uint64 gateClosesAt);
    /// @notice The quantity is below the auction's minimum lot.
    error BelowMinimumLot(uint32 auctionId, uint256 energyWh, uint256 minLotWh);
    /// @notice The limit price lies outside [floor, cap].
    error PriceOutsideLimits(uint32 auctionId, uint256 priceFenPerMwh, uint256 floorFenPerMwh, uint256 capFenPerMwh);
    /// @notice Bids are for nodes registered Buyer, offers for Sellers.
    error WrongSideForOrder(address node, OrderSide side);
    /// @notice The bidder's token balance does not cover the escrow.
    error InsufficientBalance(address buyer, uint256 balanceFen, uint256 neededFen);
    /// @notice The bidder's allowance to this contract does not cover the escrow.
    error InsufficientAllowance(address buyer, uint256 allowanceFen, uint256 neededFen);
    /// @notice No order with this id.
    error UnknownOrder(uint256 orderId);
    /// @notice Only the order's node may amend or cancel it.
    error NotOrderOwner(uint256 orderId, address caller, address node);
    /// @notice The order is not live (cancelled or settled).
    error OrderNotLive(uint256 orderId, OrderStatus status);
    /// @notice Clearing starts only once the gate closed at `gateClosesAt`.
    error GateNotClosed(uint32 auctionId, uint64 nowS, uint64 gateClosesAt);
    /// @notice Ranking is over (or clearing has moved on).
    error NotRanking(uint32 auctionId, Phase phase);
    /// @notice The order is not in priority order after the last ranked order of its side.
    error OutOfPriorityOrder(uint32 auctionId, uint256 orderId, uint256 previousOrderId);
    /// @notice The order belongs to another auction.
    error WrongAuction(uint256 orderId, uint32 auctionId, uint32 orderAuctionId);
    /// @notice Not every live order is ranked yet.
    error RankingIncomplete(uint32 auctionId, uint256 rankedBids, uint256 liveBids, uint256 rankedOffers, uint256 liveOffers);
    /// @notice The auction is cleared already.
    error AlreadyCleared(uint32 auctionId);
    /// @notice The trade store failed pair `pairIndex` without an error (out of gas): the
    /// step reverts rather than skip the pair.
    error PairNotFormed(uint32 auctionId, uint256 pairIndex);
    /// @notice A step count must be positive.
    error ZeroSteps();

    // ------------------------------------------------------------------ functions

    /// @notice Set the price floor and cap copied into auctions opened from now on (REGULATOR).
    function setPriceLimits(uint256 floorFenPerMwh, uint256 capFenPerMwh) external;

    /// @notice Open an auction (OPERATOR); the period must exist in the trade store.
    function openAuction(
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint64 opensAt,
        uint64 gateClosesAt,
        uint256 minLotWh,
        ClearingRule rule,
        uint256 feeCapFenPerMwh
    ) external returns (uint32 auctionId);

    /// @notice Place a bid or an offer (an eligible node, inside the order window).
    function placeOrder(uint32 auctionId, OrderSide side, uint256 energyWh, uint256 priceFenPerMwh)
        external
        returns (uint256 orderId);

    /// @notice Place a bid or an offer for `node` (ORDER_INTAKE: the order intake contract,
    /// which checked the node's signature); the same checks, escrow and reservation as
    /// placeOrder, taken from `node`.
    function placeOrderFor(
        address node,
        uint32 auctionId,
        OrderSide side,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) external returns (uint256 orderId);

    /// @notice Change an own live order's quantity and price before the gate.
    function amendOrder(uint256 orderId, uint256 energyWh, uint256 priceFenPerMwh) external;

    /// @notice Cancel an own live order before the gate (escrow refunded, bond released).
    function cancelOrder(uint256 orderId) external;

    /// @notice Check `orderIds` into the priority queues (anyone, after the gate).
    function rank(uint32 auctionId, uint256[] calldata orderIds) external;

    /// @notice Run up to `maxSteps` clearing steps (anyone, once ranking is complete).
    function clear(uint32 auctionId, uint256 maxSteps) external returns (Phase phase);

    /// @notice The auction.
    function auction(uint32 auctionId) external view returns (Auction memory);

    /// @notice The number of auctions opened.
    function auctionCount() external view returns (uint32);

    /// @notice The order.
    function order(uint256 orderId) external view returns (Order memory);

    /// @notice The number of orders placed (all auctions).
    function orderCount() external view returns (uint256);

    /// @notice Matched pair `pairIndex` of the auction.
    function pair(uint32 auctionId, uint256 pairIndex) external view returns (Pair memory);

    /// @notice The price floor and cap auctions open with now.
    function priceLimits() external view returns (uint256 floorFenPerMwh, uint256 capFenPerMwh);
}
