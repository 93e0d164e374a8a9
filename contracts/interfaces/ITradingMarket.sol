// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITradingMarket
/// @notice Posted-offer trading (挂牌/摘牌) in both modes, with prepaid escrow and
/// postage-stamp transmission fees on the cheapest path (see docs/trading.md).
///
/// Periods. The OPERATOR opens delivery periods: `intervals` intervals of `intervalS`
/// seconds from `deliveryStart` (a delivery day in 15-minute intervals by default), a
/// posting window [postingOpensAt, takingClosesAt) and a taking window
/// [takingOpensAt, takingClosesAt), all in block time, closing no later than the delivery
/// starts. Period ids are 1, 2, 3, ...
///
/// Listings. Side Sell is mode 1 (a seller posts, buyers take), side Buy is mode 2 (a buyer
/// posts, sellers take). A listing offers `energyWh` in total over its delivery window
/// [firstInterval, lastInterval] of one period, delivered evenly over those intervals, at
/// `priceFenPerMwh`. Listing ids are sequence numbers in posting (time) order, from 1. A take
/// takes at least `minTakeWh` unless it takes the whole remainder, only inside the taking
/// window and before the listing's expiry, only by an eligible node of the other side
/// (registry.checkCanTrade; the selling party must be registered as Seller), never by the
/// poster. The poster may amend price and remaining quantity, and cancel, while untaken
/// energy remains. Anyone may expire a listing after its expiry (it leaves the open set).
///
/// Escrow. A take forms a trade. The buyer prepays
/// `escrowFen = floor(energyWh x priceFenPerMwh / 1e6) + feeFen` into this contract, where
/// `feeFen = floor(energyWh x sumRateFenPerMwh / 1e6)` on the cheapest route from the
/// seller's region to the buyer's (formula 1, ITransmissionTariff) at take time. Mode 1:
/// the taker pays; mode 2: the poster pays (it must have given allowance). The seller's
/// exposure `ceil(energyFen x exposureBps / 10000)` is reserved on its bond until the trade
/// closes. Open listings and open trades count as registry obligations of their nodes, so
/// neither can exit while they are open.
///
/// Settlement (a MARKET_CONTRACT) moves a trade Formed -> Dispatched, pays out of its
/// escrow and closes it Settled or Failed; closing refunds what is left to the buyer,
/// releases the exposure and the obligations.
/// @dev No function loops over listings or trades: the open set is swap-and-pop; a node's
/// trades per period are a counter (tradeCountIn, read by the settlement engine); a
/// maker's listings and a period's trades are found by the indexed topics of
/// ListingPosted and TradeCreated (listingsByIds, tradesByIds), a node's trades by the
/// buyer and seller fields of TradeCreated.
interface ITradingMarket {
    /// @notice Which side posted: Sell is mode 1, Buy is mode 2.
    enum ListingSide {
        Sell,
        Buy
    }

    enum ListingStatus {
        None,
        Open,
        Filled,
        Cancelled,
        Expired
    }

    enum TradeStatus {
        None,
        Formed,
        Dispatched,
        Settled,
        Failed
    }

    /// @notice A delivery period and its windows (block time, seconds).
    struct Period {
        uint32 id;
        uint64 deliveryStart;
        uint32 intervalS;
        uint16 intervals;
        uint64 postingOpensAt;
        uint64 takingOpensAt;
        uint64 takingClosesAt;
    }

    /// @notice A posted offer. `energyWh` is what was offered in total (raised or lowered
    /// by amendments), `remainingWh` what is still untaken, `takenWh` what trades took.
    struct Listing {
        uint256 id;
        address maker;
        ListingSide side;
        ListingStatus status;
        uint8 region;
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint64 postedAt;
        uint64 expiresAt;
        uint256 energyWh;
        uint256 remainingWh;
        uint256 takenWh;
        uint256 minTakeWh;
        uint256 priceFenPerMwh;
        bytes32 termsHash;
    }

    /// @notice A trade formed by a take. `escrowFen` is what the buyer prepaid,
    /// `paidOutFen` what settlement paid out of it so far (incl. the refund at close).
    struct Trade {
        uint256 id;
        uint256 listingId;
        address buyer;
        address seller;
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        TradeStatus status;
        uint64 formedAt;
        uint256 energyWh;
        uint256 priceFenPerMwh;
        uint256 energyFen;
        uint8[] route;
        uint256 sumRateFenPerMwh;
        uint256 feeFen;
        uint256 escrowFen;
        uint256 exposureFen;
        uint256 executedWh;
        uint256 curtailedWh;
        uint256 paidOutFen;
    }

    /// @notice What a take would cost now.
    struct Quote {
        uint256 priceFenPerMwh;
        uint256 energyWh;
        uint256 energyFen;
        uint8[] route;
        uint256 sumRateFenPerMwh;
        uint256 feeFen;
        uint256 escrowFen;
        uint256 exposureFen;
    }

    // ------------------------------------------------------------------ events

    /// @notice The OPERATOR opened period `period`.
    event PeriodOpened(
        uint32 indexed period,
        uint64 deliveryStart,
        uint32 intervalS,
        uint16 intervals,
        uint64 postingOpensAt,
        uint64 takingOpensAt,
        uint64 takingClosesAt,
        address operator
    );
    /// @notice `maker` posted listing `listingId` (side 0 = sell/mode 1, 1 = buy/mode 2).
    event ListingPosted(
        uint256 indexed listingId,
        address indexed maker,
        uint32 indexed period,
        ListingSide side,
        uint8 region,
        uint16 firstInterval,
        uint16 lastInterval,
        uint256 energyWh,
        uint256 minTakeWh,
        uint256 priceFenPerMwh,
        uint64 expiresAt,
        bytes32 termsHash
    );
    /// @notice The maker amended the price and/or the untaken quantity.
    event ListingAmended(
        uint256 indexed listingId,
        address indexed maker,
        uint256 priceFenPerMwh,
        uint256 remainingWh,
        uint256 energyWh,
        uint256 previousPriceFenPerMwh,
        uint256 previousRemainingWh
    );
    /// @notice The maker delisted the untaken `remainingWh`.
    event ListingCancelled(uint256 indexed listingId, address indexed maker, uint256 remainingWh);
    /// @notice The listing left the open set after its expiry (`by` called it).
    event ListingExpired(
        uint256 indexed listingId, address indexed maker, uint256 remainingWh, address by
    );
    /// @notice A take formed trade `tradeId`; the buyer prepaid `prepaymentFen`
    /// (= floor(energyWh x priceFenPerMwh / 1e6) + feeFen of TradeRouted) into escrow;
    /// `remainingWh` is left on the listing. TradeRouted follows in the same transaction.
    event TradeCreated(
        uint256 indexed tradeId,
        uint256 indexed listingId,
        uint32 indexed period,
        address buyer,
        address seller,
        address taker,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        uint256 prepaymentFen,
        uint256 remainingWh
    );
    /// @notice The delivery window, cheapest route (seller's region first), fee and the
    /// seller's reserved exposure of trade `tradeId` (emitted right after TradeCreated).
    event TradeRouted(
        uint256 indexed tradeId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint8[] route,
        uint256 sumRateFenPerMwh,
        uint256 feeFen,
        uint256 exposureFen
    );
    /// @notice Trade `tradeId` moved from `previous` to `status` (`by` the market contract).
    event TradeStatusChanged(
        uint256 indexed tradeId, TradeStatus previous, TradeStatus status, address by
    );
    /// @notice Dispatch recorded what was executed and curtailed of trade `tradeId`.
    event TradeDispatched(
        uint256 indexed tradeId, uint256 executedWh, uint256 curtailedWh, address by
    );
    /// @notice `amountFen` of trade `tradeId`'s escrow went to `to`; `remainingFen` is left.
    event EscrowPaidOut(
        uint256 indexed tradeId, address indexed to, uint256 amountFen, uint256 remainingFen, address by
    );
    /// @notice Venue `venue` (a VENUE contract: the central auction, a bilateral contract)
    /// formed trade `tradeId` on the synthetic Filled listing `listingId`; `payer` prepaid
    /// the escrow (TradeCreated and TradeRouted precede it in the same transaction).
    event VenueTradeFormed(
        uint256 indexed tradeId, uint256 indexed listingId, address indexed venue, address payer
    );
    /// @notice The OPERATOR set the seller exposure rate (basis points of the trade value).
    event ExposureRateSet(uint16 exposureBps, address operator);

    // ------------------------------------------------------------------ errors

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice Interval length and count must be positive.
    error InvalidPeriodLength(uint32 intervalS, uint16 intervals);
    /// @notice Windows must satisfy now < takingClosesAt, postingOpensAt <= takingOpensAt <
    /// takingClosesAt <= deliveryStart.
    error InvalidPeriodWindows(
        uint64 postingOpensAt,
        uint64 takingOpensAt,
        uint64 takingClosesAt,
        uint64 deliveryStart,
        uint64 nowS
    );
    /// @notice No period with this id.
    error UnknownPeriod(uint32 periodId);
    /// @notice The posting window of the period is not open at `nowS`.
    error OutsidePostingWindow(uint32 periodId, uint64 nowS, uint64 opensAt, uint64 closesAt);
    /// @notice The taking window of the period is not open at `nowS`.
    error OutsideTakingWindow(uint32 periodId, uint64 nowS, uint64 opensAt, uint64 closesAt);
    /// @notice The delivery window must satisfy firstInterval <= lastInterval < intervals.
    error InvalidDeliveryWindow(uint32 periodId, uint16 firstInterval, uint16 lastInterval, uint16 intervals);
    /// @notice Quantities must be positive.
    error ZeroEnergy();
    /// @notice Prices must be positive.
    error ZeroPrice();
    /// @notice The minimum take must not exceed the quantity.
    error InvalidMinTake(uint256 minTakeWh, uint256 energyWh);
    /// @notice The expiry must lie in (now, takingClosesAt].
    error InvalidExpiry(uint64 expiresAt, uint64 nowS, uint64 takingClosesAt);
    /// @notice `node` must be registered as Seller to sell.
    error NotASeller(address node);
    /// @notice No listing with this id.
    error UnknownListing(uint256 listingId);
    /// @notice The listing is not open (filled, cancelled or expired).
    error ListingNotOpen(uint256 listingId, ListingStatus status);
    /// @notice Only the listing's maker may do this.
    error NotListingMaker(uint256 listingId, address caller);
    /// @notice The listing expired at `expiresAt`.
    error ListingHasExpired(uint256 listingId, uint64 expiresAt, uint64 nowS);
    /// @notice The listing expires only at `expiresAt`.
    error ListingNotExpired(uint256 listingId, uint64 expiresAt, uint64 nowS);
    /// @notice The poster cannot take its own listing.
    error SelfTake(uint256 listingId, address node);
    /// @notice The take asks for more than is left.
    error TakeExceedsRemaining(uint256 listingId, uint256 energyWh, uint256 remainingWh);
    /// @notice The take is below the minimum and does not take the whole remainder.
    error TakeBelowMinimum(uint256 listingId, uint256 energyWh, uint256 minTakeWh);
    /// @notice The listing's price moved past the taker's limit (max to buy, min to sell).
    error PriceLimitExceeded(uint256 listingId, uint256 priceFenPerMwh, uint256 limitFenPerMwh);
    /// @notice The buyer's token balance does not cover the prepayment.
    error InsufficientBalance(address buyer, uint256 balanceFen, uint256 neededFen);
    /// @notice The buyer's allowance to this contract does not cover the prepayment.
    error InsufficientAllowance(address buyer, uint256 allowanceFen, uint256 neededFen);
    /// @notice No trade with this id.
    error UnknownTrade(uint256 tradeId);
    /// @notice The trade's status does not allow this.
    error InvalidTradeStatus(uint256 tradeId, TradeStatus status);
    /// @notice closeTrade takes Settled or Failed only.
    error InvalidFinalStatus(TradeStatus status);
    /// @notice Executed plus curtailed energy exceeds the traded energy.
    error DispatchExceedsTrade(uint256 tradeId, uint256 executedWh, uint256 curtailedWh, uint256 energyWh);
    /// @notice A pay-out exceeds the trade's remaining escrow.
    error EscrowExceeded(uint256 tradeId, uint256 amountFen, uint256 remainingFen);
    /// @notice A venue trade's delivery started at `deliveryStart` (now `nowS`; as ISettlementEngine's).
    error DeliveryStarted(uint32 period, uint64 deliveryStart, uint64 nowS);
    /// @notice A venue trade's seller and buyer are the same node.
    error SelfTrade(address node);
    /// @notice The exposure rate is at most 10000 basis points.
    error InvalidExposureRate(uint16 exposureBps);

    // ------------------------------------------------------------------ OPERATOR

    /// @notice Open a delivery period; returns its id.
    function openPeriod(
        uint64 deliveryStart,
        uint32 intervalS,
        uint16 intervals,
        uint64 postingOpensAt,
        uint64 takingOpensAt,
        uint64 takingClosesAt
    ) external returns (uint32 periodId);

    /// @notice Set the share of the trade value reserved on the seller's bond (basis points).
    function setExposureBps(uint16 exposureBps) external;

    // ------------------------------------------------------------------ nodes

    /// @notice Post a listing for a delivery window of period `periodId`; the region is the
    /// maker's registered region. `expiresAt` 0 means the end of the taking window.
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
    ) external returns (uint256 listingId);

    /// @notice Set a new price and a new untaken quantity (the maker, before the taking
    /// window closes and the listing expires).
    function amend(uint256 listingId, uint256 priceFenPerMwh, uint256 remainingWh) external;

    /// @notice Delist what is still untaken (the maker).
    function cancel(uint256 listingId) external;

    /// @notice Move an expired open listing out of the open set (anyone).
    function expireListing(uint256 listingId) external;

    /// @notice Form a trade of a venue (VENUE role: the central auction, bilateral
    /// contracts) in the common trade store: `seller` sells `energyWh` over
    /// [firstInterval, lastInterval] of period `periodId` to `buyer` at `priceFenPerMwh`.
    /// It writes a synthetic listing (maker = seller, side Sell, status Filled, all taken)
    /// and a trade whose taker is `buyer`, priced, routed and reserved as a take (escrow
    /// energyFen + cheapest-route fee, collected from `payer`; the seller's exposure on its
    /// bond; both parties' obligations). Checks: both parties can trade now, the seller is
    /// a Seller, they differ, the window lies in the period and delivery has not started.
    /// The period's posting and taking windows do not apply: a venue keeps its own windows.
    /// A venue passes as `payer` only itself or a buyer that authorised the trade with it.
    /// Emits TradeCreated (taker = buyer, remainingWh 0), TradeRouted, VenueTradeFormed.
    function formVenueTrade(
        address seller,
        address buyer,
        address payer,
        uint32 periodId,
        uint16 firstInterval,
        uint16 lastInterval,
        uint256 energyWh,
        uint256 priceFenPerMwh
    ) external returns (uint256 tradeId);

    /// @notice Take `energyWh` of a listing. `limitPriceFenPerMwh` is the most a buying
    /// taker pays (mode 1) or the least a selling taker accepts (mode 2); 0 means no limit.
    function take(uint256 listingId, uint256 energyWh, uint256 limitPriceFenPerMwh)
        external
        returns (uint256 tradeId);

    // ------------------------------------------------------------------ MARKET_CONTRACT

    /// @notice Record the dispatch result of a Formed trade; it becomes Dispatched.
    function markDispatched(uint256 tradeId, uint256 executedWh, uint256 curtailedWh) external;

    /// @notice One call of a settlement: markDispatched(tradeId, executedWh, curtailedWh)
    /// if the trade is Formed, then payOut(tradeId, msg.sender, amountFen) if amountFen is
    /// not zero (same errors and events as those two).
    function dispatchAndPayOut(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 amountFen
    ) external;

    /// @notice Pay `amountFen` of an open trade's remaining escrow to `to`.
    function payOut(uint256 tradeId, address to, uint256 amountFen) external;

    /// @notice Close an open trade as Settled or Failed: refund the remaining escrow to the
    /// buyer, release the seller's exposure and both obligations.
    function closeTrade(uint256 tradeId, TradeStatus status) external;

    // ------------------------------------------------------------------ views

    function registry() external view returns (address);
    function tariff() external view returns (address);
    function settlementToken() external view returns (address);
    function exposureBps() external view returns (uint16);

    function periodCount() external view returns (uint32);
    function period(uint32 periodId) external view returns (Period memory);

    function listingCount() external view returns (uint256);
    function listing(uint256 listingId) external view returns (Listing memory);
    // No on-chain open set: the open listings are the ListingPosted events less those
    // closed (ListingCancelled, ListingExpired, a TradeCreated with remainingWh 0).
    /// @notice The listings `listingIds`, in the order given (reverts UnknownListing on an
    /// unknown id). A maker's listings are the ListingPosted events with that `maker` topic
    /// (the client pages them so); there is no on-chain per-maker list.
    function listingsByIds(uint256[] calldata listingIds)
        external
        view
        returns (Listing[] memory);

    /// @notice What taking `energyWh` of `listingId` by a node in `takerRegion` costs now.
    function quote(uint256 listingId, uint8 takerRegion, uint256 energyWh)
        external
        view
        returns (Quote memory);

    function tradeCount() external view returns (uint256);
    function trade(uint256 tradeId) external view returns (Trade memory);
    /// @notice How many trades of period `periodId` `node` is buyer or seller of (final
    /// once the period's taking window has closed).
    function tradeCountIn(address node, uint32 periodId) external view returns (uint256);
    /// @notice The trades `tradeIds`, in the order given (reverts UnknownTrade on an
    /// unknown id). A period's trades are the TradeCreated events with that `period` topic
    /// (the client pages them so); there is no on-chain per-period list.
    function tradesByIds(uint256[] calldata tradeIds) external view returns (Trade[] memory);
    /// @notice The escrow of trade `tradeId` not yet paid out.
    function escrowOf(uint256 tradeId) external view returns (uint256);
    /// @notice The sum of every open trade's remaining escrow (= this contract's balance
    /// unless someone transferred tokens to it directly).
    function totalEscrowFen() external view returns (uint256);
}
