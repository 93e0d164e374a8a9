// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryRecords} from "./NodeRegistryRecords.sol";
import {NodeRegistryViews} from "./NodeRegistryViews.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryPaging
/// @notice The registry's lists (paged) and record views. The counts are read here; the
/// pages and records run in NodeRegistryViews, by delegatecall on this contract's storage
/// (code room).
/// @dev No state of its own (the layout is NodeRegistryStorage's); NodeRegistryViews'
/// address is an immutable.
abstract contract NodeRegistryPaging is NodeRegistryRecords {
    using PagedSets for PagedSets.AddressSet;
    using PagedSets for PagedSets.Bytes32Set;

    /// @dev The rarely used list and record views run here by delegatecall (code room).
    address private immutable _views;

    constructor() {
        _views = address(new NodeRegistryViews());
    }

    /// @inheritdoc INodeRegistry
    function displayNameOf(address node) external view returns (string memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
        }
    }

    /// @inheritdoc INodeRegistry
    function nodeInfo(address node) external view returns (NodeInfo memory info) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
            pop(info)
        }
    }

    /// @inheritdoc INodeRegistry
    function requiredQualifications(NodeKind kind) external view returns (bytes32[] memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(kind)
        }
    }

    /// @inheritdoc INodeRegistry
    function qualificationOf(address node, bytes32 licenceType)
        external
        view
        returns (QualificationInfo memory)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
            pop(licenceType)
        }
    }

    /// @inheritdoc INodeRegistry
    function changeRequestOf(address node) external view returns (ChangeRequest memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
        }
    }

    // ---------------------------------------------------------------- paging

    /// @inheritdoc INodeRegistry
    function nodeCount() external view returns (uint256) {
        return _nodeList.length;
    }

    /// @inheritdoc INodeRegistry
    function nodesPage(uint256 offset, uint256 limit) external view returns (address[] memory page) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(offset)
            pop(limit)
            pop(page)
        }
    }

    /// @inheritdoc INodeRegistry
    function pendingApplicationCount() external view returns (uint256) {
        return _pendingApplications.length();
    }

    /// @inheritdoc INodeRegistry
    function pendingApplications(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(offset)
            pop(limit)
        }
    }

    /// @inheritdoc INodeRegistry
    function pendingChanges(uint256 offset, uint256 limit) external view returns (address[] memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(offset)
            pop(limit)
        }
    }

    /// @inheritdoc INodeRegistry
    function pendingQualificationCount() external view returns (uint256) {
        return _pendingQuals.length();
    }

    /// @inheritdoc INodeRegistry
    function pendingQualifications(uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory items)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(offset)
            pop(limit)
            pop(items)
        }
    }

    /// @inheritdoc INodeRegistry
    function qualificationTypeCount(address node) external view returns (uint256) {
        return _qualTypes[node].length;
    }

    /// @inheritdoc INodeRegistry
    function qualificationsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory items)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
            pop(offset)
            pop(limit)
            pop(items)
        }
    }

    /// @inheritdoc INodeRegistry
    function qualificationsExpiringBefore(uint64 before, uint256 offset, uint256 limit)
        external
        view
        returns (QualificationInfo[] memory items, uint256 nextOffset)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(before)
            pop(offset)
            pop(limit)
            pop(items)
            pop(nextOffset)
        }
    }

    /// @inheritdoc INodeRegistry
    function blockReasonsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (bytes32[] memory page)
    {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
            pop(offset)
            pop(limit)
            pop(page)
        }
    }

    // ================================================================ internals

    /// @dev Runs the called view in NodeRegistryViews on this contract's storage and
    /// returns (or reverts with) its result; does not return here.
    function _delegateView() private view {
        function() internal forward = _forwardToViews;
        function() internal view asView;
        assembly {
            asView := forward
        }
        asView();
    }

    /// @dev Only reached through _delegateView, from view functions: the delegate target
    /// is this contract's own immutable NodeRegistryViews, which has no writing function.
    function _forwardToViews() private {
        address target = _views;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
