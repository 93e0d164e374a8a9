// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryBonds} from "./NodeRegistryBonds.sol";
import {NodeRegistryPaging} from "./NodeRegistryPaging.sol";
import {NodeRegistryQualifications} from "./NodeRegistryQualifications.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistry
/// @notice Market participants, their bonds, qualifications and lifecycle (see INodeRegistry).
/// This file holds enrolment and the role actions on a node's record; the bond and exposure
/// accounting is NodeRegistryBonds, the licences NodeRegistryQualifications, the lists and
/// record views NodeRegistryPaging, the shared helpers NodeRegistryRecords (none has state:
/// the layout is NodeRegistryStorage's).
contract NodeRegistry is NodeRegistryBonds, NodeRegistryQualifications, NodeRegistryPaging {
    using PagedSets for PagedSets.AddressSet;
    using PagedSets for PagedSets.Bytes32Set;
    using SafeERC20 for IERC20;

    /// @dev The access root's DEFAULT_ADMIN_ROLE (the admin that grants MARKET_CONTRACT).
    bytes32 private constant ADMIN_ROLE = 0x00;

    /// @param access_ The suite's access root.
    /// @param token The settlement token bonds are held in.
    /// @param bondTableFen The bond required per credit level, AAA first, in fen.
    /// @param defaultLevel The level assumed for unrated nodes.
    /// @param inactivityPeriodS Seconds of inactivity after which a node may be reclaimed.
    constructor(
        IMarketAccess access_,
        IERC20 token,
        uint256[9] memory bondTableFen,
        uint8 defaultLevel,
        uint64 inactivityPeriodS
    ) MarketAccessed(access_) NodeRegistryBonds(token) {
        if (defaultLevel >= CREDIT_LEVELS) revert InvalidCreditLevel(defaultLevel);
        if (inactivityPeriodS == 0) revert InvalidInactivityPeriod();
        for (uint8 i = 0; i < CREDIT_LEVELS; ++i) {
            _bondTable[i] = SafeCast.toUint240(bondTableFen[i]);
            emit BondRequirementSet(i, bondTableFen[i], msg.sender);
        }
        _defaultLevel = defaultLevel;
        _inactivityPeriod = inactivityPeriodS;
        emit DefaultCreditLevelSet(defaultLevel, msg.sender);
        emit InactivityPeriodSet(inactivityPeriodS, msg.sender);
    }

    // ================================================================ node actions

    /// @inheritdoc INodeRegistry
    function register(
        NodeKind kind,
        Side side,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 entityHash,
        bytes32 identityHash
    ) external {
        if (entityHash == bytes32(0) || identityHash == bytes32(0)) revert ZeroHash();
        _checkProfile(kind, side, region, capacityKw, carbonIntensityGPerKwh);
        Node storage n = _nodes[msg.sender];
        NodeStatus status = n.status;
        if (status == NodeStatus.Pending || status == NodeStatus.Active) {
            revert NodeAlreadyEnrolled(msg.sender, status);
        }
        if (status != NodeStatus.None && _banned[n.entityHash]) revert BannedEntity(n.entityHash);
        if (_banned[entityHash]) revert BannedEntity(entityHash);
        if (status == NodeStatus.Removed && n.bondFen != 0) revert BondHeld(msg.sender, n.bondFen);
        if (n.obligations != 0) revert OpenObligations(msg.sender, n.obligations);
        address holder = _holder(entityHash);
        if (holder != address(0)) revert EntityAlreadyRegistered(entityHash, holder);
        if (status == NodeStatus.None) _nodeList.push(msg.sender);

        uint32 epoch = n.epoch + 1;
        n.entityHash = entityHash;
        n.identityHash = identityHash;
        n.kind = kind;
        n.side = side;
        n.region = region;
        n.capacityKw = capacityKw;
        n.carbonIntensity = carbonIntensityGPerKwh;
        n.epoch = epoch;
        n.status = NodeStatus.Pending;
        n.appliedAt = uint40(block.timestamp);
        n.approvedAt = 0;
        n.lastActiveAt = uint40(block.timestamp);
        _entityNode[entityHash] = msg.sender;
        _pendingApplications.add(msg.sender);
        emit NodeApplied(
            msg.sender,
            entityHash,
            kind,
            side,
            region,
            capacityKw,
            carbonIntensityGPerKwh,
            identityHash,
            epoch
        );
    }

    /// @inheritdoc INodeRegistry
    function requestChange(
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensityGPerKwh,
        bytes32 identityHash
    ) external returns (uint32 changeId) {
        Node storage n = _nodes[msg.sender];
        if (n.status != NodeStatus.Active) revert NodeNotActive(msg.sender);
        if (identityHash == bytes32(0)) revert ZeroHash();
        _checkProfile(n.kind, n.side, region, capacityKw, carbonIntensityGPerKwh);
        ChangeRequest storage c = _changes[msg.sender];
        if (c.pending) revert ChangePending(msg.sender, c.changeId);
        changeId = ++_changeCount;
        _changes[msg.sender] = ChangeRequest({
            changeId: changeId,
            pending: true,
            region: region,
            capacityKw: capacityKw,
            carbonIntensityGPerKwh: carbonIntensityGPerKwh,
            identityHash: identityHash
        });
        _pendingChanges.add(msg.sender);
        n.lastActiveAt = uint40(block.timestamp);
        emit ChangeRequested(
            msg.sender, changeId, region, capacityKw, carbonIntensityGPerKwh, identityHash
        );
    }

    /// @inheritdoc INodeRegistry
    function exit() external nonReentrant {
        Node storage n = _enrolled(msg.sender);
        _checkNoExposure(msg.sender, n);
        uint256 bond = _leave(msg.sender, n, NodeStatus.Exited);
        emit NodeExited(msg.sender, bond);
        if (bond != 0) _token.safeTransfer(msg.sender, bond);
    }

    /// @inheritdoc INodeRegistry
    function setDisplayName(address node, string calldata name) external {
        if (msg.sender != node && !_hasRole(Roles.VERIFIER, msg.sender)) {
            revert NotNodeOrVerifier(msg.sender, node);
        }
        _known(node);
        uint256 length = bytes(name).length;
        if (length == 0 || length > MAX_DISPLAY_NAME_BYTES) {
            revert InvalidDisplayName(node, length, MAX_DISPLAY_NAME_BYTES);
        }
        _displayNames[node] = name;
        emit DisplayNameSet(node, name, msg.sender);
    }

    // ================================================================ ADMIN

    /// @inheritdoc INodeRegistry
    function setTradingMarket(address market) external onlyRole(ADMIN_ROLE) {
        if (market != address(0)) _checkRole(Roles.MARKET_CONTRACT, market);
        _tradingMarket = market;
        emit TradingMarketSet(market, msg.sender);
    }

    // ================================================================ VERIFIER

    /// @inheritdoc INodeRegistry
    function approveNode(address node) external onlyRole(Roles.VERIFIER) {
        Node storage n = _pending(node);
        n.status = NodeStatus.Active;
        n.approvedAt = uint40(block.timestamp);
        n.lastActiveAt = uint40(block.timestamp);
        _pendingApplications.remove(node);
        emit NodeApproved(node, n.entityHash, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function rejectNode(address node, bytes32 reasonCode) external onlyRole(Roles.VERIFIER) {
        Node storage n = _pending(node);
        n.status = NodeStatus.Rejected;
        _pendingApplications.remove(node);
        emit NodeRejected(node, n.entityHash, reasonCode, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function approveChange(address node) external onlyRole(Roles.VERIFIER) {
        ChangeRequest storage c = _pendingChange(node);
        Node storage n = _nodes[node];
        c.pending = false;
        _pendingChanges.remove(node);
        n.region = c.region;
        n.capacityKw = c.capacityKw;
        n.carbonIntensity = c.carbonIntensityGPerKwh;
        n.identityHash = c.identityHash;
        emit ChangeApproved(node, c.changeId, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function rejectChange(address node, bytes32 reasonCode) external onlyRole(Roles.VERIFIER) {
        ChangeRequest storage c = _pendingChange(node);
        c.pending = false;
        _pendingChanges.remove(node);
        emit ChangeRejected(node, c.changeId, reasonCode, msg.sender);
    }

    // ================================================================ OPERATOR

    /// @inheritdoc INodeRegistry
    function setBondRequirement(uint8 level, uint256 amountFen)
        external
        onlyRole(Roles.OPERATOR)
    {
        if (level >= CREDIT_LEVELS) revert InvalidCreditLevel(level);
        _bondTable[level] = SafeCast.toUint240(amountFen) | _bondTable[level] >> 240 << 240;
        emit BondRequirementSet(level, amountFen, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function setDefaultCreditLevel(uint8 level) external onlyRole(Roles.OPERATOR) {
        if (level >= CREDIT_LEVELS) revert InvalidCreditLevel(level);
        _defaultLevel = level;
        emit DefaultCreditLevelSet(level, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function setInactivityPeriod(uint64 periodS) external onlyRole(Roles.OPERATOR) {
        if (periodS == 0) revert InvalidInactivityPeriod();
        _inactivityPeriod = periodS;
        emit InactivityPeriodSet(periodS, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function reclaim(address node) external onlyRole(Roles.OPERATOR) nonReentrant {
        Node storage n = _enrolled(node);
        uint64 last = n.lastActiveAt;
        uint64 reclaimableAt = last + _inactivityPeriod;
        if (block.timestamp < reclaimableAt) revert NodeStillActive(node, last, reclaimableAt);
        _checkNoExposure(node, n);
        uint256 bond = _leave(node, n, NodeStatus.Exited);
        emit NodeReclaimed(node, last, bond, msg.sender);
        if (bond != 0) _token.safeTransfer(node, bond);
    }

    // ================================================================ REGULATOR

    /// @inheritdoc INodeRegistry
    function removeNode(address node, bytes32 reasonCode) external onlyRole(Roles.REGULATOR) {
        Node storage n = _enrolled(node);
        _remove(node, n, reasonCode);
    }

    /// @inheritdoc INodeRegistry
    function banEntity(address node, bytes32 reasonCode) external onlyRole(Roles.REGULATOR) {
        if (node == address(0)) revert ZeroAddress();
        Node storage n = _nodes[node];
        if (n.status == NodeStatus.None) revert NodeNotFound(node);
        bytes32 entity = n.entityHash;
        if (_banned[entity]) revert BannedEntity(entity);
        address holder = _holder(entity);
        NodeStatus s = _nodes[holder].status;
        if (s == NodeStatus.Pending || s == NodeStatus.Active) {
            _remove(holder, _nodes[holder], reasonCode);
        }
        _banned[entity] = true;
        emit EntityBanned(entity, node, reasonCode, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function returnHeldBond(address node) external onlyRole(Roles.REGULATOR) nonReentrant {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Removed) revert NodeNotRemoved(node);
        if (n.obligations != 0) revert OpenObligations(node, n.obligations);
        uint256 bond = n.bondFen;
        if (bond == 0) revert ZeroAmount();
        n.bondFen = 0;
        n.reservedFen = 0;
        _totalBond -= bond;
        emit HeldBondReturned(node, bond, msg.sender);
        _token.safeTransfer(node, bond);
    }

    // ================================================================ CREDIT_AGENCY

    /// @inheritdoc INodeRegistry
    function setCreditLevel(address node, uint8 level) external onlyRole(Roles.CREDIT_AGENCY) {
        if (level >= CREDIT_LEVELS) revert InvalidCreditLevel(level);
        Node storage n = _known(node);
        n.ratedLevel = level + 1;
        emit CreditLevelSet(node, level, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc INodeRegistry
    function isActive(address node) external view returns (bool) {
        return _nodes[node].status == NodeStatus.Active;
    }

    /// @inheritdoc INodeRegistry
    function canTrade(address node) external view returns (bool) {
        return _tradeError(node).length == 0;
    }

    /// @inheritdoc INodeRegistry
    function checkCanTrade(address node) external view returns (Side side, uint8 region) {
        return _checkCanTrade(node);
    }

    /// @inheritdoc INodeRegistry
    function checkCanTradePair(address first, address second)
        external
        view
        returns (Side firstSide, uint8 firstRegion, uint8 secondRegion)
    {
        (firstSide, firstRegion) = _checkCanTrade(first);
        (, secondRegion) = _checkCanTrade(second);
    }

    /// @inheritdoc INodeRegistry
    function statusOf(address node) external view returns (NodeStatus) {
        return _nodes[node].status;
    }

    /// @inheritdoc INodeRegistry
    function sideOf(address node) external view returns (Side) {
        return _nodes[node].side;
    }

    /// @inheritdoc INodeRegistry
    function kindOf(address node) external view returns (NodeKind) {
        return _nodes[node].kind;
    }

    /// @inheritdoc INodeRegistry
    function regionOf(address node) external view returns (uint8) {
        return _nodes[node].region;
    }

    /// @inheritdoc INodeRegistry
    function capacityKwOf(address node) external view returns (uint64) {
        return _nodes[node].capacityKw;
    }

    /// @inheritdoc INodeRegistry
    function carbonIntensityOf(address node) external view returns (uint32) {
        return _nodes[node].carbonIntensity;
    }

    /// @inheritdoc INodeRegistry
    function creditLevelOf(address node) external view returns (uint8) {
        return _level(_nodes[node]);
    }

    /// @inheritdoc INodeRegistry
    function lastActiveAt(address node) external view returns (uint64) {
        return _nodes[node].lastActiveAt;
    }

    /// @inheritdoc INodeRegistry
    function bondTable() external view returns (uint256[9] memory) {
        uint256[9] memory table;
        for (uint256 i = 0; i < CREDIT_LEVELS; ++i) {
            table[i] = uint240(_bondTable[i]);
        }
        return table;
    }

    /// @inheritdoc INodeRegistry
    function defaultCreditLevel() external view returns (uint8) {
        return _defaultLevel;
    }

    /// @inheritdoc INodeRegistry
    function tradingMarket() external view returns (address) {
        return _tradingMarket;
    }

    /// @inheritdoc INodeRegistry
    function inactivityPeriod() external view returns (uint64) {
        return _inactivityPeriod;
    }

    /// @inheritdoc INodeRegistry
    function nodeOfEntity(bytes32 entityHash) external view returns (address) {
        return _holder(entityHash);
    }

    /// @inheritdoc INodeRegistry
    function isBanned(bytes32 entityHash) external view returns (bool) {
        return _banned[entityHash];
    }
}
