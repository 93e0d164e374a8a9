// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryStorage
/// @notice The registry's storage layout and the record helpers, shared by NodeRegistry and
/// NodeRegistryViews (which runs in the registry's storage by delegatecall).
/// @dev Only state variables here: NodeRegistry and NodeRegistryViews must have the same
/// layout, so neither declares storage of its own (ReentrancyGuard's is namespaced).
abstract contract NodeRegistryStorage {
    /// @dev Slot 3 holds what the market writes per listing and trade (obligations,
    /// lastActiveAt, reservedFen), so one obligation or reservation is one slot write, and
    /// the bond, so the can-trade check reads the slot the take writes anyway.
    struct Node {
        bytes32 entityHash; // slot 0
        bytes32 identityHash; // slot 1
        uint64 capacityKw; // slot 2
        uint32 carbonIntensity;
        uint32 epoch;
        INodeRegistry.NodeKind kind;
        INodeRegistry.Side side;
        uint8 region;
        INodeRegistry.NodeStatus status;
        uint8 ratedLevel; // 0 = unrated, else level + 1
        uint40 appliedAt;
        uint40 approvedAt;
        bool blocked; // _blocks[node] is not empty
        uint32 obligations; // slot 3
        uint40 lastActiveAt;
        uint88 reservedFen; // <= bondFen
        uint96 bondFen;
    }

    struct Qualification {
        bytes32 numberHash;
        uint64 expiresAt;
        uint32 epoch; // node epoch it was approved in; stale after re-application
        bool recorded; // in _qualRecords (the expiry scan)
        bool submitted; // in _qualTypes[node]
        bool pending;
        uint64 pendingExpiresAt;
        bytes32 pendingNumberHash;
    }

    struct QualKey {
        address node;
        bytes32 licenceType;
    }

    mapping(address node => Node) internal _nodes;
    address[] internal _nodeList;
    PagedSets.AddressSet internal _pendingApplications;
    mapping(bytes32 entityHash => address node) internal _entityNode;
    mapping(bytes32 entityHash => bool) internal _banned;

    /// @dev Per credit level: the bond required in fen (bits 0..239) and, the same in every
    /// level, the kinds that require licences (bit `kind` of bits 240..255: _required[kind]
    /// is not empty), so the can-trade check reads one table slot for both.
    uint256[9] internal _bondTable;
    uint8 internal _defaultLevel;
    uint64 internal _inactivityPeriod;
    /// @dev The trading market set by the ADMIN (setTradingMarket): its obligation calls
    /// skip the access root's role check. In _defaultLevel's slot, which the can-trade
    /// check of an unrated node reads anyway.
    address internal _tradingMarket;
    uint256 internal _totalBond;

    mapping(address node => mapping(bytes32 licenceType => Qualification)) internal _quals;
    mapping(address node => bytes32[]) internal _qualTypes;
    QualKey[] internal _qualRecords;
    PagedSets.Bytes32Set internal _pendingQuals;
    mapping(bytes32 key => QualKey) internal _qualKeys;
    mapping(INodeRegistry.NodeKind kind => bytes32[]) internal _required;

    mapping(address node => INodeRegistry.ChangeRequest) internal _changes;
    PagedSets.AddressSet internal _pendingChanges;
    uint32 internal _changeCount;

    mapping(address node => PagedSets.Bytes32Set) internal _blocks;
    mapping(address node => string) internal _displayNames;

    function _level(Node storage n) internal view returns (uint8) {
        return n.ratedLevel == 0 ? _defaultLevel : n.ratedLevel - 1;
    }

    function _requiredBond(Node storage n) internal view returns (uint256) {
        INodeRegistry.NodeStatus s = n.status;
        if (s != INodeRegistry.NodeStatus.Active && s != INodeRegistry.NodeStatus.Pending) return 0;
        return uint240(_bondTable[_level(n)]);
    }

    function _qualInfo(address node, bytes32 licenceType)
        internal
        view
        returns (INodeRegistry.QualificationInfo memory info)
    {
        Qualification storage q = _quals[node][licenceType];
        info.node = node;
        info.licenceType = licenceType;
        info.numberHash = q.numberHash;
        info.expiresAt = q.expiresAt;
        info.valid = q.expiresAt != 0 && q.epoch == _nodes[node].epoch;
        info.pending = q.pending;
        info.pendingNumberHash = q.pendingNumberHash;
        info.pendingExpiresAt = q.pendingExpiresAt;
    }

    function _end(uint256 offset, uint256 limit, uint256 length) internal pure returns (uint256) {
        return PagedSets.pageEnd(offset, limit, length);
    }
}
