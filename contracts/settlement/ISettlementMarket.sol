// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ITradingMarket} from "../interfaces/ITradingMarket.sol";

/// @title ISettlementMarket
/// @notice What the settlement engine needs of the trading market beyond ITradingMarket: a
/// lean trade read and one call that dispatches, pays out and closes a trade.
interface ISettlementMarket {
    /// @notice The ADMIN named the DispatchResults whose records hold the executed and
    /// curtailed energy of the trades settleTrade takes from Formed to their end.
    event DispatchResultsSet(address dispatchResults, address by);

    /// @notice setDispatchResults was called already (it names the contract once).
    error DispatchResultsAlreadySet(address dispatchResults);

    /// @notice Name DispatchResults once (the access root's ADMIN; ZeroAddress for 0).
    function setDispatchResults(address dispatchResults_) external;

    /// @notice The DispatchResults named by setDispatchResults (0 before).
    function dispatchResults() external view returns (address);

    /// @notice A trade as settlement reads it (no dynamic fields, no derived amounts).
    /// @param packedRoute The route as ITransmissionTariff.cachedRoute packs it: bits 0..7
    /// the length, region k in bits 8+5k..12+5k.
    struct SettlementTrade {
        ITradingMarket.TradeStatus status;
        address buyer;
        address seller;
        uint32 periodId;
        uint64 energyWh;
        uint64 priceFenPerMwh;
        uint64 sumRateFenPerMwh;
        uint64 formedAt;
        uint256 packedRoute;
    }

    /// @notice The trade `tradeId` for settlement (reverts UnknownTrade like `trade`).
    function settlementTrade(uint256 tradeId) external view returns (SettlementTrade memory);

    /// @notice What DispatchResults checks a result against: the trade's status, period and
    /// energy (reverts UnknownTrade like `trade`).
    function dispatchTerms(uint256 tradeId)
        external
        view
        returns (ITradingMarket.TradeStatus status, uint32 periodId, uint64 energyWh);

    /// @notice Settle an open trade in one call (MARKET_CONTRACT): if it is Formed, check
    /// executedWh and curtailedWh as markDispatched does (DispatchExceedsTrade) but without
    /// its TradeDispatched and Formed -> Dispatched TradeStatusChanged (the status goes from
    /// Formed straight to the end); payOut(tradeId, msg.sender, amountFen) if amountFen is
    /// not zero; then closeTrade(tradeId, Failed if `failed` else Settled); otherwise the
    /// same errors and events, in that order. Returns the refund paid to the buyer. A
    /// Formed trade nothing was paid out of stores nothing of this: `trade` reads its
    /// executed and curtailed energy from DispatchResults (the engine passes its record)
    /// and its paid-out amount is its whole escrow. The trade is counted in its parties'
    /// totals of its period (periodTotalsOf): settled + 1 for both, the buyer's importWh
    /// plus executedWh + substitutedWh, the seller's exportWh plus executedWh.
    function settleTrade(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 substitutedWh,
        uint256 amountFen,
        bool failed
    ) external returns (uint256 refundFen);

    /// @notice The settlement totals of `node` in `periodId` kept beside its trade count:
    /// its trades of the period (tradeCountIn), those settled by settleTrade, the energy it
    /// bought that was executed or substituted (importWh) and the executed energy it sold
    /// (exportWh), as settleTrade added them.
    function periodTotalsOf(address node, uint32 periodId)
        external
        view
        returns (uint256 trades, uint256 settled, uint256 importWh, uint256 exportWh);
}
