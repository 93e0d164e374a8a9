// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryStorage} from "./NodeRegistryStorage.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryViews
/// @notice The registry's list and record views (paging, qualifications, node record),
/// moved out of NodeRegistry for code size. NodeRegistry deploys it in its constructor and
/// forwards these selectors to it by delegatecall, so they read the registry's storage;
/// NodeRegistry's ABI is unchanged. Called directly it reads its own (empty) storage.
/// @dev Views only: nothing here writes storage.
contract NodeRegistryViews is NodeRegistryStorage {
    using PagedSets for PagedSets.AddressSet;
    using PagedSets for PagedSets.Bytes32Set;

    /// @dev INodeRegistry.
    function displayNameOf(address node) external view returns (string memory) {
        return _displayNames[node];
    }

    /// @dev INodeRegistry.
    function nodeInfo(address node) external view returns (INodeRegistry.NodeInfo memory info) {
        Node storage n = _nodes[node];
        info.node = node;
        info.status = n.status;
        info.kind = n.kind;
        info.side = n.side;
        info.region = n.region;
        info.creditLevel = _level(n);
        info.rated = n.ratedLevel != 0;
        info.capacityKw = n.capacityKw;
        info.carbonIntensityGPerKwh = n.carbonIntensity;
        info.epoch = n.epoch;
        info.entityHash = n.entityHash;
        info.identityHash = n.identityHash;
        info.appliedAt = n.appliedAt;
        info.approvedAt = n.approvedAt;
        info.lastActiveAt = n.lastActiveAt;
        info.bondFen = n.bondFen;
        info.reservedFen = n.reservedFen;
        info.requiredBondFen = _requiredBond(n);
        info.obligations = n.obligations;
        info.blockCount = _blocks[node].length();
        info.changePending = _changes[node].pending;
    }

    /// @dev INodeRegistry.
    function requiredQualifications(INodeRegistry.NodeKind kind)
        external
        view
        returns (bytes32[] memory)
    {
        return _required[kind];
    }

    /// @dev INodeRegistry.
    function qualificationOf(address node, bytes32 licenceType)
        external
        view
        returns (INodeRegistry.QualificationInfo memory)
    {
        return _qualInfo(node, licenceType);
    }

    /// @dev INodeRegistry.
    function changeRequestOf(address node)
        external
        view
        returns (INodeRegistry.ChangeRequest memory)
    {
        return _changes[node];
    }

    /// @dev INodeRegistry.
    function nodesPage(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory page)
    {
        uint256 end = _end(offset, limit, _nodeList.length);
        page = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _nodeList[i];
        }
    }

    /// @dev INodeRegistry.
    function pendingApplications(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory)
    {
        return _pendingApplications.page(offset, limit);
    }

    /// @dev INodeRegistry.
    function pendingChanges(uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory)
    {
        return _pendingChanges.page(offset, limit);
    }

    /// @dev INodeRegistry.
    function pendingQualifications(uint256 offset, uint256 limit)
        external
        view
        returns (INodeRegistry.QualificationInfo[] memory items)
    {
        uint256 end = _end(offset, limit, _pendingQuals.length());
        items = new INodeRegistry.QualificationInfo[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            QualKey storage k = _qualKeys[_pendingQuals.at(i)];
            items[i - offset] = _qualInfo(k.node, k.licenceType);
        }
    }

    /// @dev INodeRegistry.
    function qualificationsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (INodeRegistry.QualificationInfo[] memory items)
    {
        bytes32[] storage types = _qualTypes[node];
        uint256 end = _end(offset, limit, types.length);
        items = new INodeRegistry.QualificationInfo[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            items[i - offset] = _qualInfo(node, types[i]);
        }
    }

    /// @dev INodeRegistry.
    function qualificationsExpiringBefore(uint64 before, uint256 offset, uint256 limit)
        external
        view
        returns (INodeRegistry.QualificationInfo[] memory items, uint256 nextOffset)
    {
        nextOffset = _end(offset, limit, _qualRecords.length);
        INodeRegistry.QualificationInfo[] memory found =
            new INodeRegistry.QualificationInfo[](nextOffset - offset);
        uint256 count = 0;
        for (uint256 i = offset; i < nextOffset; ++i) {
            QualKey storage k = _qualRecords[i];
            INodeRegistry.NodeStatus status = _nodes[k.node].status;
            if (
                status != INodeRegistry.NodeStatus.Active
                    && status != INodeRegistry.NodeStatus.Pending
            ) continue;
            INodeRegistry.QualificationInfo memory info = _qualInfo(k.node, k.licenceType);
            if (info.valid && info.expiresAt < before) found[count++] = info;
        }
        assembly ("memory-safe") {
            mstore(found, count)
        }
        items = found;
    }

    /// @dev INodeRegistry.
    function blockReasonsOf(address node, uint256 offset, uint256 limit)
        external
        view
        returns (bytes32[] memory page)
    {
        page = _blocks[node].page(offset, limit);
    }
}
