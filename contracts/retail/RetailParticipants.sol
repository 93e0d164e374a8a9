// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRetailParticipants} from "./IRetailParticipants.sol";

/// @title RetailParticipants
/// @notice Base of the retail contracts: the registry checks of a retailer and a consumer.
abstract contract RetailParticipants is IRetailParticipants {
    INodeRegistry private immutable _registry;

    /// @param registry_ The node registry (kinds and statuses).
    constructor(INodeRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        _registry = registry_;
    }

    /// @notice The node registry this contract asks.
    function nodeRegistry() public view returns (INodeRegistry) {
        return _registry;
    }

    function _checkRetailer(address node) internal view {
        (INodeRegistry.NodeKind kind, INodeRegistry.NodeStatus status) = _kindAndStatus(node);
        if (kind != INodeRegistry.NodeKind.Retailer || status != INodeRegistry.NodeStatus.Active) {
            revert NotAnActiveRetailer(node, uint8(kind), uint8(status));
        }
    }

    function _checkConsumer(address node) internal view {
        (INodeRegistry.NodeKind kind, INodeRegistry.NodeStatus status) = _kindAndStatus(node);
        if (kind != INodeRegistry.NodeKind.Consumer || status != INodeRegistry.NodeStatus.Active) {
            revert NotAnActiveConsumer(node, uint8(kind), uint8(status));
        }
    }

    function _kindAndStatus(address node)
        private
        view
        returns (INodeRegistry.NodeKind kind, INodeRegistry.NodeStatus status)
    {
        status = _registry.statusOf(node);
        kind = _registry.kindOf(node);
    }
}
