// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGenerationSource} from "./IGenerationSource.sol";
import {IMeterOracle} from "./IMeterOracle.sol";
import {INodeRegistry} from "./INodeRegistry.sol";

/// @title IRelayedGeneration
/// @notice The generation source of an auxiliary (certificate) chain. The METER_ORACLE
/// relayer copies each delivery period's node-totals root from the main chain's MeterOracle
/// (`periodOf(period).totalsRoot`); anyone then records a node total with the very Merkle
/// proof MeterOracle accepts (same leaf: double keccak of abi.encode(node, period, importWh,
/// exportWh, readingCount, readingsRoot)), so a relayer can neither invent nor alter a node
/// total without also relaying a false root. Node kinds (registry facts) are relayed by a
/// VERIFIER and settled trades by the METER_ORACLE relayer; both are trusted relays.
interface IRelayedGeneration is IGenerationSource {
    /// @notice The totals root of `period` was relayed.
    event PeriodRootRelayed(uint64 indexed period, bytes32 totalsRoot, address relayer);
    /// @notice A node total proven against its relayed period root was recorded.
    event NodeTotalRelayed(
        address indexed node, uint64 indexed period, uint64 importWh, uint64 exportWh
    );
    /// @notice A VERIFIER relayed `node`'s registered kind.
    event NodeKindRelayed(address indexed node, INodeRegistry.NodeKind kind, address verifier);
    /// @notice The relayer relayed settled trade `tradeId`.
    event TradeRelayed(
        uint256 indexed tradeId,
        address indexed seller,
        address indexed buyer,
        uint64 period,
        uint256 executedWh,
        address relayer
    );

    /// @notice A zero address or root.
    error ZeroValue();
    /// @notice The period's root was already relayed.
    error PeriodRootAlreadyRelayed(uint64 period);
    /// @notice The period's root was not relayed yet.
    error PeriodRootNotRelayed(uint64 period);
    /// @notice The node total is not in the relayed period root.
    error InvalidNodeTotalProof(address node, uint64 period);
    /// @notice The node total was already recorded.
    error NodeTotalAlreadyRecorded(address node, uint64 period);
    /// @notice The trade was already relayed.
    error TradeAlreadyRelayed(uint256 tradeId);

    /// @notice Relay the node-totals root of `period` (METER_ORACLE, once).
    function relayPeriodRoot(uint64 period, bytes32 totalsRoot) external;

    /// @notice Record a node total proven against its relayed period root (anyone, once).
    function submitNodeTotal(IMeterOracle.NodeTotal calldata total, bytes32[] calldata proof)
        external;

    /// @notice Relay `node`'s registered kind (VERIFIER; may correct it).
    function relayNodeKind(address node, INodeRegistry.NodeKind kind) external;

    /// @notice Relay a settled trade (METER_ORACLE, once per trade).
    function relayTrade(
        uint256 tradeId,
        address seller,
        address buyer,
        uint64 period,
        uint256 executedWh
    ) external;

    /// @notice The relayed totals root of `period` (zero when none).
    function periodRootOf(uint64 period) external view returns (bytes32);

    /// @notice The Merkle leaf of a node total (identical to MeterOracle.nodeTotalLeaf).
    function nodeTotalLeaf(IMeterOracle.NodeTotal calldata total) external pure returns (bytes32);
}
