// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITradeCloser
/// @notice Every trade reaches an end state (docs/defaults.md). A trade that has no dispatch
/// result by its closure deadline can be closed by anyone: the trading market refunds the
/// buyer's whole escrow and releases the seller's exposure and both obligations (status
/// Failed), the settlement engine counts the trade as settled for both parties (so their
/// deviations of the period can settle), and the outcome is recorded as "not dispatched"
/// (TradeClosedUndispatched), counted against the dispatch center, not the parties.
///
/// Deadline. dueAt = max(delivery end of the trade's period, its settlementOpensAt) +
/// closureGraceS (an OPERATOR setting, 1 day at deployment). Before it, the dispatch
/// center can still submit the result and the trade settles normally.
///
/// Invariant: every open trade has a finite path to closure. A trade with a dispatch
/// result settles (ISettlementEngine.settle) once settlement opens and meter data exists
/// (or a batch flags the missing meter); one without closes here once dueAt passes.
interface ITradeCloser {
    /// @notice Trade `tradeId` was closed without a dispatch result by `closer`; the buyer
    /// was refunded `refundFen` (its whole escrow).
    event TradeClosedUndispatched(
        uint256 indexed tradeId,
        uint32 indexed period,
        address buyer,
        address seller,
        uint256 refundFen,
        uint64 dueAt,
        address closer
    );
    /// @notice The OPERATOR set the closure grace.
    event ClosureGraceSet(uint64 graceS, address operator);

    error ZeroAddress();
    /// @notice Before the trade's closure deadline `dueAt`.
    error ClosureNotDue(uint256 tradeId, uint64 dueAt, uint64 nowS);
    /// @notice The trade has a dispatch result recorded in DispatchResults: settle it instead.
    error DispatchResultPresent(uint256 tradeId);
    /// @notice The trade is already settled, failed or closed (`status`).
    error TradeAlreadyClosed(uint256 tradeId, uint8 status);

    /// @notice Set the grace after max(delivery end, settlementOpensAt) (OPERATOR).
    function setClosureGrace(uint64 graceS) external;
    /// @notice Close trade `tradeId`, which has no dispatch result, once due (anyone).
    function closeUndispatched(uint256 tradeId) external;

    function closureGraceS() external view returns (uint64);
    /// @notice When `tradeId` may be closed if it still has no dispatch result.
    function closureDueAt(uint256 tradeId) external view returns (uint64);
}
