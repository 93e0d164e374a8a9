// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITradeCloser} from "./ITradeCloser.sol";

/// @title TradeCloser
/// @notice Closes trades that never got a dispatch result (see ITradeCloser). Holds
/// MARKET_CONTRACT: it calls ITradingMarket.closeTrade and ISettlementEngine.noteUndispatched.
contract TradeCloser is ITradeCloser, MarketAccessed, ReentrancyGuard {
    ITradingMarket private immutable _market;
    IDispatchResults private immutable _dispatch;
    ISettlementEngine private immutable _engine;

    uint64 private _grace = 1 days;

    /// @param access_ The suite's access root.
    /// @param market_ Trading market (the trades and their escrows).
    /// @param dispatch_ Dispatch results (results per trade, settlement opening times).
    /// @param engine_ Settlement engine (counts the closed trade as settled).
    constructor(
        IMarketAccess access_,
        ITradingMarket market_,
        IDispatchResults dispatch_,
        ISettlementEngine engine_
    ) MarketAccessed(access_) {
        if (
            address(market_) == address(0) || address(dispatch_) == address(0)
                || address(engine_) == address(0)
        ) revert ZeroAddress();
        _market = market_;
        _dispatch = dispatch_;
        _engine = engine_;
    }

    /// @inheritdoc ITradeCloser
    function setClosureGrace(uint64 graceS) external onlyRole(Roles.OPERATOR) {
        _grace = graceS;
        emit ClosureGraceSet(graceS, msg.sender);
    }

    /// @inheritdoc ITradeCloser
    function closeUndispatched(uint256 tradeId) external nonReentrant {
        ITradingMarket.Trade memory t = _market.trade(tradeId);
        if (
            t.status != ITradingMarket.TradeStatus.Formed
                && t.status != ITradingMarket.TradeStatus.Dispatched
        ) revert TradeAlreadyClosed(tradeId, uint8(t.status));
        // a trade marked Dispatched without a recorded result could not settle either
        if (_dispatch.executionOf(tradeId).recorded) revert DispatchResultPresent(tradeId);
        uint64 due = _dueAt(t.periodId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < due) revert ClosureNotDue(tradeId, due, nowS);
        uint256 refund = t.escrowFen - t.paidOutFen;
        emit TradeClosedUndispatched(
            tradeId, t.periodId, t.buyer, t.seller, refund, due, msg.sender
        );
        _engine.noteUndispatched(t.buyer, t.seller, t.periodId);
        _market.closeTrade(tradeId, ITradingMarket.TradeStatus.Failed);
    }

    /// @inheritdoc ITradeCloser
    function closureGraceS() external view returns (uint64) {
        return _grace;
    }

    /// @inheritdoc ITradeCloser
    function closureDueAt(uint256 tradeId) external view returns (uint64) {
        return _dueAt(_market.trade(tradeId).periodId);
    }

    function _dueAt(uint32 periodId) private view returns (uint64) {
        ITradingMarket.Period memory p = _market.period(periodId);
        uint64 due = p.deliveryStart + uint64(p.intervalS) * p.intervals;
        uint64 opensAt = _dispatch.settlementOpensAt(periodId);
        return (opensAt > due ? opensAt : due) + _grace;
    }
}
