// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {INodeRegistry} from "./INodeRegistry.sol";

/// @title IGenerationSource
/// @notice The market facts the certificate contracts read: verified metered energy per node
/// and period, node kinds and settled trades. On the main chain `OracleGenerationSource`
/// reads them from MeterOracle, NodeRegistry and TradingMarket; on an auxiliary chain
/// `RelayedGeneration` holds relayed copies (node totals proven against relayed period roots).
/// @dev Periods are the delivery-period ids MeterOracle and TradingMarket share (the
/// settlement engine reads `meteredEnergyOf(node, trade.periodId)`).
interface IGenerationSource {
    /// @notice The verified generation (metered export) of `generator` in `period`.
    /// @return recorded False until the node total is recorded.
    /// @return exportWh Energy fed into the grid.
    function verifiedGenerationWh(address generator, uint64 period)
        external
        view
        returns (bool recorded, uint64 exportWh);

    /// @notice The verified consumption (metered import) of `party` in `period`.
    function verifiedConsumptionWh(address party, uint64 period)
        external
        view
        returns (bool recorded, uint64 importWh);

    /// @notice What `node` is (known = registered, resp. relayed).
    function nodeKindOf(address node)
        external
        view
        returns (bool known, INodeRegistry.NodeKind kind);

    /// @notice What issuing `generator`'s certificates of `period` reads, in one call: its
    /// `nodeKindOf` and its `verifiedGenerationWh`.
    function issuanceInputsOf(address generator, uint64 period)
        external
        view
        returns (bool known, INodeRegistry.NodeKind kind, bool recorded, uint64 exportWh);

    /// @notice A settled trade's parties, delivery period and executed energy
    /// (settled = false for unknown, open or failed trades).
    function settledTrade(uint256 tradeId)
        external
        view
        returns (bool settled, address seller, address buyer, uint64 period, uint256 executedWh);
}
