// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {Roles} from "../access/Roles.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryRecords} from "./NodeRegistryRecords.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryBonds
/// @notice The registry's bond and exposure accounting: a node's deposits and withdrawals,
/// the market's reservations, obligations and trading blocks, slashing, and the bond views.
/// @dev No state of its own (the layout is NodeRegistryStorage's); the settlement token is
/// an immutable.
abstract contract NodeRegistryBonds is NodeRegistryRecords {
    using PagedSets for PagedSets.Bytes32Set;
    using SafeERC20 for IERC20;

    /// @dev The settlement token bonds are held in.
    IERC20 internal immutable _token;

    /// @param token The settlement token bonds are held in.
    constructor(IERC20 token) {
        if (address(token) == address(0)) revert ZeroAddress();
        _token = token;
    }

    /// @dev MARKET_CONTRACT, asked of the access root unless the caller is the trading
    /// market the ADMIN set (same error otherwise).
    modifier onlyMarketContract() {
        if (msg.sender != _tradingMarket) _checkRole(Roles.MARKET_CONTRACT, msg.sender);
        _;
    }

    // ================================================================ node bonds

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
}
