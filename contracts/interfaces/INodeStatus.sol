// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title INodeStatus
/// @notice The two questions the meter oracle asks the node registry. Declared here, not
/// imported from the registry's own interface, so the oracle compiles and deploys whether or
/// not the registry exists; the registry (contract NodeRegistry) implements these functions.
interface INodeStatus {
    /// @notice True while `node` is an admitted, active market node.
    function isActive(address node) external view returns (bool);

    /// @notice The registered capacity of `node` in kW (0 when unknown).
    function capacityKwOf(address node) external view returns (uint64);
}
