// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";
import {TradingMarketStorage} from "./TradingMarketStorage.sol";

/// @title TradingMarketViews
/// @notice The read side of TradingMarket: its settings and counters, listings and trades
/// by id (with the derived amounts recomputed with the same rounding as at take), quotes,
/// and what the settlement engine and ReputationLedger read of a trade.
/// @dev No state of its own (TradingMarketStorage).
abstract contract TradingMarketViews is TradingMarketStorage {
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
        return uint64(_tradesIn[node][periodId]);
    }

    /// @inheritdoc ISettlementMarket
    function periodTotalsOf(address node, uint32 periodId)
        external
        view
        returns (uint256 trades, uint256 settled, uint256 importWh, uint256 exportWh)
    {
        uint256 word = _tradesIn[node][periodId];
        return (uint64(word), uint32(word >> 64), uint64(word >> 96), uint64(word >> 160));
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

    function _toListing(uint256 listingId, StoredListing storage l)
        internal
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
        internal
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
}
