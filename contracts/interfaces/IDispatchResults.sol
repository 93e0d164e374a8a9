// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDispatchResults
/// @notice The dispatch center's execution results of trades, relayed by the oracle.
/// @dev Each result is signed by a DISPATCH key with EIP-712 (domain "GridLedger
/// DispatchResults" version "1", this chain and contract); the METER_ORACLE relays it; a
/// trade gets one result, accepted only before the settlement of its period opens.
/// OPERATOR schedules when settlement of each period opens; while a period has no schedule
/// its settlement cannot open, so results are accepted.
/// A batch may instead carry one signature over all its results (EIP-712 type
/// `DispatchBatch(DispatchResult[] results)`, see `submitResultBatch`).
interface IDispatchResults {
    /// @notice A signed dispatch result (EIP-712 type `DispatchResult`).
    /// @param tradeId The trading contract's trade id.
    /// @param period The trade's delivery period.
    /// @param executedWh Energy the security check lets through.
    /// @param curtailedWh Energy curtailed.
    /// @param reasonCode 0 executed in full, 1 corridor limit, 2 no path, 3 other.
    struct DispatchResult {
        uint256 tradeId;
        uint64 period;
        uint64 executedWh;
        uint64 curtailedWh;
        uint16 reasonCode;
    }

    /// @notice A stored result.
    struct StoredResult {
        bool recorded;
        uint64 period;
        uint64 executedWh;
        uint64 curtailedWh;
        uint16 reasonCode;
        address signer;
    }

    /// @notice A stored result without its signer and period (what settlement reads; the
    /// period is the trade's, checked at submission).
    struct Execution {
        bool recorded;
        uint64 executedWh;
        uint64 curtailedWh;
        uint16 reasonCode;
    }

    /// @notice A dispatch result was recorded.
    event DispatchResultRecorded(
        uint256 indexed tradeId,
        uint64 indexed period,
        uint64 executedWh,
        uint64 curtailedWh,
        uint16 reasonCode,
        address indexed signer
    );
    /// @notice The settlement opening time of `period` was set.
    event SettlementScheduled(uint64 indexed period, uint64 opensAt);

    /// @notice The signer does not hold DISPATCH.
    error NotDispatchSigner(address signer, uint256 tradeId);
    /// @notice The signature does not parse or is malleable (high s).
    error InvalidDispatchSignature(uint256 tradeId);
    /// @notice The trade already has a result.
    error ResultAlreadyRecorded(uint256 tradeId);
    /// @notice Settlement of the period is open: no more results.
    error SettlementAlreadyOpen(uint64 period, uint64 opensAt);
    /// @notice results and signatures differ in length (or are empty).
    error LengthMismatch(uint256 results, uint256 signatures);
    /// @notice A settlement opening time must be in the future.
    error OpensAtInPast(uint64 period, uint64 opensAt);
    /// @notice A batch must hold at least one result.
    error EmptyBatch();
    /// @notice The trade is settled or failed (`status` as ITradingMarket.TradeStatus).
    error TradeNotOpen(uint256 tradeId, uint8 status);
    /// @notice The result names another period than the trade's.
    error DispatchPeriodMismatch(uint256 tradeId, uint64 resultPeriod, uint32 tradePeriod);
    /// @notice Executed plus curtailed energy exceed the trade's energy.
    error DispatchExceedsTrade(
        uint256 tradeId, uint256 executedWh, uint256 curtailedWh, uint256 energyWh
    );

    /// @notice Record signed results (METER_ORACLE); reverts as a whole on any bad one. Each
    /// result is checked against its trade in the market (UnknownTrade, TradeNotOpen,
    /// DispatchPeriodMismatch, DispatchExceedsTrade), so a recorded result can be settled.
    function submitResults(DispatchResult[] calldata results, bytes[] calldata signatures)
        external;

    /// @notice Record a batch of results signed once (METER_ORACLE): `signature` is a DISPATCH
    /// key's EIP-712 signature of `DispatchBatch(DispatchResult[] results)`. Reverts as a
    /// whole; signature errors name the batch's first trade id.
    function submitResultBatch(DispatchResult[] calldata results, bytes calldata signature)
        external;

    /// @notice Set when settlement of `period` opens (OPERATOR); only to a future time, and
    /// only while the current opening time (if any) is still in the future.
    function setSettlementOpensAt(uint64 period, uint64 opensAt) external;

    /// @notice When settlement of `period` opens (0 = not scheduled).
    function settlementOpensAt(uint64 period) external view returns (uint64);

    /// @notice The recorded result of `tradeId`.
    function resultOf(uint256 tradeId) external view returns (StoredResult memory);

    /// @notice The recorded result of `tradeId` without its signer and period (one storage
    /// read).
    function executionOf(uint256 tradeId) external view returns (Execution memory);

    /// @notice The trading market whose trades the results are of.
    function market() external view returns (address);

    /// @notice The EIP-712 digest the dispatch key signs for `result`.
    function resultDigest(DispatchResult calldata result) external view returns (bytes32);

    /// @notice The EIP-712 digest the dispatch key signs for a batch of `results`.
    function batchDigest(DispatchResult[] calldata results) external view returns (bytes32);
}
