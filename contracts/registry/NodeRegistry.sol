// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryStorage} from "./NodeRegistryStorage.sol";
import {NodeRegistryViews} from "./NodeRegistryViews.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistry
/// @notice Market participants, their bonds, qualifications and lifecycle (see INodeRegistry).
contract NodeRegistry is INodeRegistry, MarketAccessed, ReentrancyGuard, NodeRegistryStorage {
    using PagedSets for PagedSets.AddressSet;
    using PagedSets for PagedSets.Bytes32Set;
    using SafeERC20 for IERC20;

    /// @notice Number of credit levels, AAA (0) .. C (8).
    uint8 public constant CREDIT_LEVELS = 9;
    /// @notice Region ids are below this.
    uint8 public constant REGION_COUNT = 32;
    /// @notice Most licence types one kind may require.
    uint256 public constant MAX_REQUIRED_QUALIFICATIONS = 8;
    /// @notice Highest carbon intensity a generator may declare, g/kWh.
    uint32 public constant MAX_CARBON_INTENSITY = 2000;

    IERC20 private immutable _token;
    /// @dev The rarely used list and record views run here by delegatecall (code room).
    address private immutable _views;

    /// @dev The access root's DEFAULT_ADMIN_ROLE (the admin that grants MARKET_CONTRACT).
    bytes32 private constant ADMIN_ROLE = 0x00;

    /// @notice Longest display name, in bytes of UTF-8.
    uint256 public constant MAX_DISPLAY_NAME_BYTES = 64;

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
    ) MarketAccessed(access_) {
        if (address(token) == address(0)) revert ZeroAddress();
        if (defaultLevel >= CREDIT_LEVELS) revert InvalidCreditLevel(defaultLevel);
        if (inactivityPeriodS == 0) revert InvalidInactivityPeriod();
        _token = token;
        _views = address(new NodeRegistryViews());
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
    function depositBond(uint256 amountFen) external nonReentrant {
        if (amountFen == 0) revert ZeroAmount();
        Node storage n = _enrolled(msg.sender);
        n.bondFen = SafeCast.toUint96(n.bondFen + amountFen);
        _totalBond += amountFen;
        n.lastActiveAt = uint40(block.timestamp);
        emit BondDeposited(msg.sender, msg.sender, amountFen, n.bondFen);
        _token.safeTransferFrom(msg.sender, address(this), amountFen);
    }

    /// @inheritdoc INodeRegistry
    function withdrawBond(uint256 amountFen) external nonReentrant {
        if (amountFen == 0) revert ZeroAmount();
        Node storage n = _nodes[msg.sender];
        if (n.status == NodeStatus.None) revert NodeNotFound(msg.sender);
        if (n.status == NodeStatus.Removed) revert BondHeld(msg.sender, n.bondFen);
        if (n.obligations != 0) revert OpenObligations(msg.sender, n.obligations);
        uint256 excess = _withdrawable(msg.sender, n);
        if (amountFen > excess) revert WithdrawalExceedsExcess(msg.sender, amountFen, excess);
        n.bondFen = uint96(n.bondFen - amountFen); // amountFen <= excess <= bondFen
        _totalBond -= amountFen;
        if (n.status == NodeStatus.Active) n.lastActiveAt = uint40(block.timestamp);
        emit BondWithdrawn(msg.sender, amountFen, n.bondFen);
        _token.safeTransfer(msg.sender, amountFen);
    }

    /// @inheritdoc INodeRegistry
    function submitQualification(bytes32 licenceType, bytes32 numberHash, uint64 expiresAt)
        external
    {
        if (licenceType == bytes32(0) || numberHash == bytes32(0)) revert ZeroHash();
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt, uint64(block.timestamp));
        Node storage n = _enrolled(msg.sender);
        Qualification storage q = _quals[msg.sender][licenceType];
        if (!q.submitted) {
            q.submitted = true;
            _qualTypes[msg.sender].push(licenceType);
        }
        q.pending = true;
        q.pendingNumberHash = numberHash;
        q.pendingExpiresAt = expiresAt;
        bytes32 key = _qualKey(msg.sender, licenceType);
        if (_pendingQuals.add(key)) _qualKeys[key] = QualKey(msg.sender, licenceType);
        n.lastActiveAt = uint40(block.timestamp);
        emit QualificationSubmitted(msg.sender, licenceType, numberHash, expiresAt);
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

    /// @dev MARKET_CONTRACT, asked of the access root unless the caller is the trading
    /// market the ADMIN set (same error otherwise).
    modifier onlyMarketContract() {
        if (msg.sender != _tradingMarket) _checkRole(Roles.MARKET_CONTRACT, msg.sender);
        _;
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
    function approveQualification(address node, bytes32 licenceType)
        external
        onlyRole(Roles.VERIFIER)
    {
        Qualification storage q = _pendingQual(node, licenceType);
        Node storage n = _enrolled(node);
        q.numberHash = q.pendingNumberHash;
        q.expiresAt = q.pendingExpiresAt;
        q.epoch = n.epoch;
        _clearPendingQual(q, node, licenceType);
        if (!q.recorded) {
            q.recorded = true;
            _qualRecords.push(QualKey(node, licenceType));
        }
        emit QualificationApproved(node, licenceType, q.numberHash, q.expiresAt, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function rejectQualification(address node, bytes32 licenceType, bytes32 reasonCode)
        external
        onlyRole(Roles.VERIFIER)
    {
        Qualification storage q = _pendingQual(node, licenceType);
        _clearPendingQual(q, node, licenceType);
        emit QualificationRejected(node, licenceType, reasonCode, msg.sender);
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
    function setRequiredQualification(NodeKind kind, bytes32 licenceType, bool required)
        external
        onlyRole(Roles.OPERATOR)
    {
        if (licenceType == bytes32(0)) revert ZeroHash();
        bytes32[] storage list = _required[kind];
        uint256 len = list.length;
        for (uint256 i = 0; i < len; ++i) {
            if (list[i] == licenceType) {
                if (!required) {
                    list[i] = list[len - 1];
                    list.pop();
                    if (len == 1) _setLicenceKind(kind, false);
                    emit RequiredQualificationSet(kind, licenceType, false, msg.sender);
                }
                return;
            }
        }
        if (!required) return;
        if (len >= MAX_REQUIRED_QUALIFICATIONS) {
            revert TooManyRequiredQualifications(kind, MAX_REQUIRED_QUALIFICATIONS);
        }
        list.push(licenceType);
        if (len == 0) _setLicenceKind(kind, true);
        emit RequiredQualificationSet(kind, licenceType, true, msg.sender);
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

    // ================================================================ MARKET_CONTRACT

    /// @inheritdoc INodeRegistry
    function reserveBond(address node, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        _reserveBond(node, amountFen);
    }

    /// @inheritdoc INodeRegistry
    function releaseBond(address node, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        _releaseBond(node, amountFen);
    }

    /// @inheritdoc INodeRegistry
    function openTradeObligations(address buyer, address seller, uint256 exposureFen)
        external
        onlyMarketContract
    {
        _addObligation(buyer);
        _addObligation(seller);
        if (exposureFen != 0) _reserveBond(seller, exposureFen);
    }

    /// @inheritdoc INodeRegistry
    function closeTradeObligations(address buyer, address seller, uint256 exposureFen)
        external
        onlyMarketContract
    {
        _removeObligation(buyer);
        _removeObligation(seller);
        if (exposureFen != 0) _releaseBond(seller, exposureFen);
    }

    function _reserveBond(address node, uint256 amountFen) private {
        if (amountFen == 0) revert ZeroAmount();
        Node storage n = _known(node);
        uint256 available = _available(n);
        if (amountFen > available) revert InsufficientBond(node, available, amountFen);
        n.reservedFen = SafeCast.toUint88(n.reservedFen + amountFen); // <= bondFen
        n.lastActiveAt = uint40(block.timestamp);
        emit BondReserved(node, amountFen, n.reservedFen, msg.sender);
    }

    function _releaseBond(address node, uint256 amountFen) private {
        if (amountFen == 0) revert ZeroAmount();
        Node storage n = _known(node);
        if (amountFen > n.reservedFen) revert ReleaseExceedsReserved(node, n.reservedFen, amountFen);
        n.reservedFen = uint88(n.reservedFen - amountFen);
        n.lastActiveAt = uint40(block.timestamp);
        emit BondReleased(node, amountFen, n.reservedFen, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function slash(address node, uint256 amountFen, address to, bytes32 reason)
        external
        nonReentrant
        returns (uint256 slashedFen)
    {
        if (!_hasRole(Roles.MARKET_CONTRACT, msg.sender) && !_hasRole(Roles.REGULATOR, msg.sender))
        {
            revert UnauthorizedSlasher(msg.sender);
        }
        if (to == address(0)) revert ZeroAddress();
        if (amountFen == 0) revert ZeroAmount();
        Node storage n = _known(node);
        uint256 bond = n.bondFen;
        slashedFen = amountFen < bond ? amountFen : bond;
        n.bondFen = uint96(bond - slashedFen); // <= bondFen
        _totalBond -= slashedFen;
        emit BondSlashed(node, to, amountFen, slashedFen, reason, msg.sender);
        if (slashedFen != 0) _token.safeTransfer(to, slashedFen);
    }

    /// @inheritdoc INodeRegistry
    function addObligation(address node) external onlyMarketContract {
        _addObligation(node);
    }

    /// @inheritdoc INodeRegistry
    function removeObligation(address node) external onlyMarketContract {
        _removeObligation(node);
    }

    function _addObligation(address node) private {
        if (node == address(0)) revert ZeroAddress();
        Node storage n = _nodes[node];
        NodeStatus s = n.status;
        if (s != NodeStatus.Active) {
            if (s == NodeStatus.None) revert NodeNotFound(node);
            // a debt of a node not Active binds it and, once it has left, its entity again
            bytes32 entity = n.entityHash;
            if (_holder(entity) == address(0)) _entityNode[entity] = node;
        }
        uint32 count = n.obligations + 1;
        n.obligations = count;
        n.lastActiveAt = uint40(block.timestamp);
        emit ObligationAdded(node, count, msg.sender);
    }

    /// @dev A node with an obligation is known (obligations are added to registered nodes
    /// and a node never returns to None), so _known's slot is read only on the error path,
    /// which reverts as before: ZeroAddress / NodeNotFound first, then NoOpenObligations.
    function _removeObligation(address node) private {
        Node storage n = _nodes[node];
        uint32 count = n.obligations;
        if (count == 0) {
            _known(node);
            revert NoOpenObligations(node);
        }
        n.obligations = --count;
        n.lastActiveAt = uint40(block.timestamp);
        emit ObligationRemoved(node, count, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function blockTrading(address node, bytes32 reason) external onlyRole(Roles.MARKET_CONTRACT) {
        if (reason == bytes32(0)) revert ZeroHash();
        Node storage n = _known(node);
        if (!_blocks[node].add(reason)) revert AlreadyBlocked(node, reason);
        n.blocked = true;
        emit NodeBlocked(node, reason, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function unblockTrading(address node, bytes32 reason)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        PagedSets.Bytes32Set storage blocks = _blocks[node];
        if (!blocks.remove(reason)) revert NotBlocked(node, reason);
        if (blocks.length() == 0) _nodes[node].blocked = false;
        emit NodeUnblocked(node, reason, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc INodeRegistry
    function settlementToken() external view returns (address) {
        return address(_token);
    }

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

    function _checkCanTrade(address node) private view returns (Side side, uint8 region) {
        bytes memory err = _tradeError(node);
        if (err.length != 0) {
            assembly ("memory-safe") {
                revert(add(err, 0x20), mload(err))
            }
        }
        Node storage n = _nodes[node];
        return (n.side, n.region);
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
    function displayNameOf(address node) external view returns (string memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(node)
        }
    }

    /// @inheritdoc INodeRegistry
    function lastActiveAt(address node) external view returns (uint64) {
        return _nodes[node].lastActiveAt;
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
    function bondOf(address node) external view returns (uint256) {
        return _nodes[node].bondFen;
    }

    /// @inheritdoc INodeRegistry
    function requiredBondOf(address node) external view returns (uint256) {
        return _requiredBond(_nodes[node]);
    }

    /// @inheritdoc INodeRegistry
    function availableBondOf(address node) external view returns (uint256) {
        return _available(_nodes[node]);
    }

    /// @inheritdoc INodeRegistry
    function withdrawableBondOf(address node) external view returns (uint256) {
        Node storage n = _nodes[node];
        if (n.status == NodeStatus.Removed || n.obligations != 0) return 0;
        return _withdrawable(node, n);
    }

    /// @inheritdoc INodeRegistry
    function totalBondFen() external view returns (uint256) {
        return _totalBond;
    }

    /// @inheritdoc INodeRegistry
    function obligationsOf(address node) external view returns (uint256) {
        return _nodes[node].obligations;
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
    function requiredQualifications(NodeKind kind) external view returns (bytes32[] memory) {
        _delegateView();
        assembly ("memory-safe") {
            invalid() // not reached: _delegateView returns or reverts
            pop(kind)
        }
    }

    /// @inheritdoc INodeRegistry
    function nodeOfEntity(bytes32 entityHash) external view returns (address) {
        return _holder(entityHash);
    }

    /// @inheritdoc INodeRegistry
    function isBanned(bytes32 entityHash) external view returns (bool) {
        return _banned[entityHash];
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

    /// @dev Mark in every bond-table entry whether `kind` requires licences (see _bondTable).
    function _setLicenceKind(NodeKind kind, bool required) private {
        uint256 bit = 1 << (240 + uint8(kind));
        for (uint256 i = 0; i < CREDIT_LEVELS; ++i) {
            _bondTable[i] = required ? _bondTable[i] | bit : _bondTable[i] & ~bit;
        }
    }

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

    function _checkProfile(
        NodeKind kind,
        Side side,
        uint8 region,
        uint64 capacityKw,
        uint32 carbonIntensity
    ) private pure {
        if (region >= REGION_COUNT) revert InvalidRegion(region);
        bool generator = kind <= NodeKind.Biomass;
        if ((generator || kind == NodeKind.Storage) && side != Side.Seller) {
            revert WrongSide(kind, side);
        }
        if (kind == NodeKind.Consumer && side != Side.Buyer) revert WrongSide(kind, side);
        if ((generator || kind == NodeKind.Storage) && capacityKw == 0) {
            revert InvalidCapacity(kind, capacityKw);
        }
        if (generator ? carbonIntensity > MAX_CARBON_INTENSITY : carbonIntensity != 0) {
            revert InvalidCarbonIntensity(kind, carbonIntensity);
        }
    }

    function _known(address node) private view returns (Node storage n) {
        if (node == address(0)) revert ZeroAddress();
        n = _nodes[node];
        if (n.status == NodeStatus.None) revert NodeNotFound(node);
    }

    function _enrolled(address node) private view returns (Node storage n) {
        n = _known(node);
        if (n.status != NodeStatus.Pending && n.status != NodeStatus.Active) {
            revert NodeNotEnrolled(node);
        }
    }

    function _pending(address node) private view returns (Node storage n) {
        n = _known(node);
        if (n.status != NodeStatus.Pending) revert NodeNotPending(node);
    }

    function _pendingQual(address node, bytes32 licenceType)
        private
        view
        returns (Qualification storage q)
    {
        q = _quals[node][licenceType];
        if (!q.pending) revert QualificationNotPending(node, licenceType);
    }

    function _pendingChange(address node) private view returns (ChangeRequest storage c) {
        c = _changes[node];
        if (!c.pending) revert NoPendingChange(node);
    }

    function _clearPendingQual(Qualification storage q, address node, bytes32 licenceType)
        private
    {
        q.pending = false;
        q.pendingNumberHash = bytes32(0);
        q.pendingExpiresAt = 0;
        bytes32 key = _qualKey(node, licenceType);
        _pendingQuals.remove(key);
        delete _qualKeys[key];
    }

    function _checkNoExposure(address node, Node storage n) private view {
        if (n.obligations != 0) revert OpenObligations(node, n.obligations);
        if (n.reservedFen != 0) revert ReservedBondOutstanding(node, n.reservedFen);
    }

    /// @dev Ends enrolment (exit, reclaim, removal): drops pending reviews; the entity is
    /// free once the node holds no obligation (_holder). Exit and reclaim zero the bond and
    /// return it (the caller transfers).
    function _leave(address node, Node storage n, NodeStatus to) private returns (uint256 bond) {
        if (n.status == NodeStatus.Pending) _pendingApplications.remove(node);
        if (_changes[node].pending) {
            _changes[node].pending = false;
            _pendingChanges.remove(node);
        }
        n.status = to;
        if (to == NodeStatus.Removed) return n.bondFen;
        bond = n.bondFen;
        n.bondFen = 0;
        _totalBond -= bond;
    }

    function _remove(address node, Node storage n, bytes32 reasonCode) private {
        uint256 held = _leave(node, n, NodeStatus.Removed);
        emit NodeRemoved(node, n.entityHash, reasonCode, held, msg.sender);
    }



    /// @dev The node holding `entity`: its enrolled (Pending/Active) node, or a node that
    /// left (rejected, exited, removed) with obligations open (a debt, an unserved penalty or
    /// fine, an open trade), so an owing entity cannot register again; else zero. The
    /// record of a node that left clean is stale and ignored here.
    function _holder(bytes32 entity) private view returns (address holder) {
        holder = _entityNode[entity];
        Node storage n = _nodes[holder];
        NodeStatus s = n.status;
        if (n.obligations == 0 && s != NodeStatus.Pending && s != NodeStatus.Active) {
            holder = address(0);
        }
    }

    function _available(Node storage n) private view returns (uint256) {
        return n.bondFen > n.reservedFen ? n.bondFen - n.reservedFen : 0;
    }

    function _withdrawable(address, Node storage n) private view returns (uint256) {
        uint256 locked = n.status == NodeStatus.Active ? uint240(_bondTable[_level(n)]) : 0;
        if (n.reservedFen > locked) locked = n.reservedFen;
        return n.bondFen > locked ? n.bondFen - locked : 0;
    }

    /// @dev The ABI-encoded reason `node` cannot trade, or empty.
    function _tradeError(address node) private view returns (bytes memory) {
        Node storage n = _nodes[node];
        if (n.status != NodeStatus.Active) {
            return abi.encodeWithSelector(NodeNotActive.selector, node);
        }
        if (n.blocked) {
            return abi.encodeWithSelector(TradingBlocked.selector, node, _blocks[node].at(0));
        }
        uint256 entry = _bondTable[_level(n)];
        uint256 required = uint240(entry);
        if (n.bondFen < required) {
            return abi.encodeWithSelector(
                BondBelowRequirement.selector, node, n.bondFen, required
            );
        }
        if ((entry >> 240) & (1 << uint8(n.kind)) == 0) return ""; // no licence required
        bytes32[] storage types = _required[n.kind];
        uint256 len = types.length;
        for (uint256 i = 0; i < len; ++i) {
            Qualification storage q = _quals[node][types[i]];
            if (q.epoch != n.epoch || q.expiresAt == 0) {
                return abi.encodeWithSelector(QualificationMissing.selector, node, types[i]);
            }
            if (q.expiresAt <= block.timestamp) {
                return abi.encodeWithSelector(
                    QualificationExpired.selector, node, types[i], q.expiresAt
                );
            }
        }
        return "";
    }


    function _qualKey(address node, bytes32 licenceType) private pure returns (bytes32) {
        return keccak256(abi.encode(node, licenceType));
    }

}
