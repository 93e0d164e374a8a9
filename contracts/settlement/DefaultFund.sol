// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IDefaultFund} from "./IDefaultFund.sol";

/// @title DefaultFund
/// @notice The default fund and loss allocation of the default waterfall (see IDefaultFund).
contract DefaultFund is IDefaultFund, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Basis points of a whole.
    uint16 public constant BPS = 10_000;
    /// @notice The contribution rate at deployment: 10 % of the required bond.
    uint16 public constant DEFAULT_CONTRIBUTION_BPS = 1_000;
    /// @notice Fixed-point scale of the loss index.
    uint256 public constant INDEX_SCALE = 1e18;
    /// @notice Registry block reason of an admitted node that has not contributed.
    bytes32 public constant CONTRIBUTION_REASON = "FUND_CONTRIBUTION";

    INodeRegistry private immutable _registry;
    IERC20 private immutable _token;

    uint16 private _contributionBps = DEFAULT_CONTRIBUTION_BPS;
    uint256 private _totalBase;
    uint256 private _index;
    uint256 private _unfunded;
    address private _creditor;
    mapping(address node => Member) private _members;
    mapping(address node => bool) private _blocked;
    /// @dev Per defaulter: its losses allocated to the members (rule ALLOCATION) not yet
    /// recovered from its debt repayments.
    mapping(address node => uint256) private _allocated;
    uint256 private _recoveryIndex;
    /// @dev Recovered for the members and not yet claimed (not the fund's to spend).
    uint256 private _reserved;

    /// @param access_ The suite's access root.
    /// @param registry_ Node registry (admission and required bonds).
    /// @param token_ The settlement token.
    constructor(IMarketAccess access_, INodeRegistry registry_, IERC20 token_)
        MarketAccessed(access_)
    {
        _registry = registry_;
        _token = token_;
    }

    // ================================================================ OPERATOR

    /// @inheritdoc IDefaultFund
    function setContributionBps(uint16 contributionBps_) external onlyRole(Roles.OPERATOR) {
        if (contributionBps_ > BPS) revert InvalidContributionRate(contributionBps_);
        _contributionBps = contributionBps_;
        emit ContributionRateSet(contributionBps_, msg.sender);
    }

    /// @inheritdoc IDefaultFund
    function replenish(uint256 amountFen) external onlyRole(Roles.OPERATOR) nonReentrant {
        if (amountFen == 0) revert ZeroAmount();
        _pull(msg.sender, amountFen);
        emit Replenished(msg.sender, amountFen, _token.balanceOf(address(this)));
        _payCreditor();
    }

    // ================================================================ members / anyone

    /// @inheritdoc IDefaultFund
    function contribute(address node) external nonReentrant {
        if (_registry.statusOf(node) != INodeRegistry.NodeStatus.Active) revert NotAdmitted(node);
        Member storage m = _members[node];
        if (m.baseFen != 0) revert AlreadyContributed(node, m.baseFen);
        uint256 amount = _contributionOf(node);
        if (amount == 0) revert NothingToContribute(node);
        m.baseFen = uint128(amount); // <= a bond, below 2^128
        m.paidIndex = _index;
        m.recoveryIndex = _recoveryIndex;
        _totalBase += amount;
        _pull(msg.sender, amount);
        emit Contributed(node, msg.sender, amount, _token.balanceOf(address(this)));
        if (_blocked[node]) {
            _blocked[node] = false;
            _registry.unblockTrading(node, CONTRIBUTION_REASON);
        }
        _payCreditor();
    }

    /// @inheritdoc IDefaultFund
    function requireContribution(address node) external {
        if (_registry.statusOf(node) != INodeRegistry.NodeStatus.Active) revert NotAdmitted(node);
        Member storage m = _members[node];
        if (m.baseFen != 0) revert AlreadyContributed(node, m.baseFen);
        if (_contributionOf(node) == 0) revert NothingToContribute(node);
        if (_blocked[node]) revert ContributionAlreadyRequired(node);
        _blocked[node] = true;
        _registry.blockTrading(node, CONTRIBUTION_REASON);
    }

    /// @inheritdoc IDefaultFund
    function payAssessment(address member) external nonReentrant {
        uint256 owed = _assessment(_members[member]);
        if (owed == 0) revert NoAssessment(member);
        Member storage m = _members[member];
        m.paidIndex = _index;
        m.unrecoveredFen += uint128(owed); // <= the fund's supply
        _pull(msg.sender, owed);
        emit AssessmentPaid(member, msg.sender, owed);
        _payCreditor();
    }

    /// @inheritdoc IDefaultFund
    function payCreditor() external nonReentrant {
        _payCreditor();
    }

    /// @inheritdoc IDefaultFund
    function claimRecovery(address member) external nonReentrant {
        Member storage m = _members[member];
        _checkAssessed(member, m);
        if (_recoveryDue(m) == 0) revert NothingToClaim(member);
        _claim(member, m);
        _payCreditor();
    }

    /// @inheritdoc IDefaultFund
    function refundContribution(address node) external nonReentrant {
        Member storage m = _members[node];
        uint256 base = m.baseFen;
        if (base == 0) revert NotMember(node);
        INodeRegistry.NodeStatus status = _registry.statusOf(node);
        if (status != INodeRegistry.NodeStatus.Exited && status != INodeRegistry.NodeStatus.Removed)
        {
            revert StillEnrolled(node, status);
        }
        uint256 obligations = _registry.obligationsOf(node);
        if (obligations != 0) revert OpenObligations(node, obligations);
        _checkAssessed(node, m);
        if (_unfunded != 0) revert CreditorUnpaid(_unfunded);
        _claim(node, m);
        uint256 totalBase = _totalBase;
        uint256 refund = Math.mulDiv(base, _free(), totalBase);
        if (refund > base) refund = base;
        _totalBase = totalBase - base;
        delete _members[node];
        emit ContributionRefunded(node, base, refund);
        if (refund != 0) _token.safeTransfer(node, refund);
    }

    // ================================================================ MARKET_CONTRACT

    /// @inheritdoc IDefaultFund
    function cover(address node, uint32 period, uint256 lossFen, address creditor_)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
        returns (uint256 fromFund)
    {
        if (lossFen == 0) revert ZeroAmount();
        uint256 held = _free();
        fromFund = lossFen < held ? lossFen : held;
        emit DefaultCovered(node, period, creditor_, lossFen, fromFund, held - fromFund);
        uint256 rest = lossFen - fromFund;
        if (rest != 0) {
            _creditor = creditor_;
            _unfunded += rest;
            uint256 base = _totalBase;
            if (base == 0) {
                emit LossUnallocated(node, period, rest);
            } else {
                _index += Math.ceilDiv(rest * INDEX_SCALE, base);
                _allocated[node] += rest;
                emit LossAllocated(node, period, rest, base, _index);
            }
        }
        if (fromFund != 0) _token.safeTransfer(creditor_, fromFund);
    }

    /// @inheritdoc IDefaultFund
    function recover(address node, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        uint256 toMembers = _allocated[node];
        if (toMembers > amountFen) toMembers = amountFen;
        uint256 base = _totalBase;
        if (base == 0) toMembers = 0;
        if (toMembers != 0) {
            _allocated[node] -= toMembers;
            _reserved += toMembers;
            _recoveryIndex += toMembers * INDEX_SCALE / base;
        }
        emit Recovered(node, amountFen, toMembers, base, _recoveryIndex);
        _payCreditor();
    }

    // ================================================================ views

    /// @inheritdoc IDefaultFund
    function contributionBps() external view returns (uint16) {
        return _contributionBps;
    }

    /// @inheritdoc IDefaultFund
    function contributionFenOf(address node) external view returns (uint256) {
        return _contributionOf(node);
    }

    /// @inheritdoc IDefaultFund
    function memberOf(address node) external view returns (Member memory) {
        return _members[node];
    }

    /// @inheritdoc IDefaultFund
    function assessmentOf(address member) external view returns (uint256) {
        return _assessment(_members[member]);
    }

    /// @inheritdoc IDefaultFund
    function recoveryOf(address member) external view returns (uint256) {
        Member storage m = _members[member];
        uint256 due = _recoveryDue(m);
        return due < m.unrecoveredFen ? due : m.unrecoveredFen;
    }

    /// @inheritdoc IDefaultFund
    function allocatedOf(address node) external view returns (uint256) {
        return _allocated[node];
    }

    /// @inheritdoc IDefaultFund
    function recoveryIndex() external view returns (uint256) {
        return _recoveryIndex;
    }

    /// @inheritdoc IDefaultFund
    function recoveryReserveFen() external view returns (uint256) {
        return _reserved;
    }

    /// @inheritdoc IDefaultFund
    function fundFen() external view returns (uint256) {
        return _token.balanceOf(address(this));
    }

    /// @inheritdoc IDefaultFund
    function unfundedFen() external view returns (uint256) {
        return _unfunded;
    }

    /// @inheritdoc IDefaultFund
    function creditor() external view returns (address) {
        return _creditor;
    }

    /// @inheritdoc IDefaultFund
    function totalBaseFen() external view returns (uint256) {
        return _totalBase;
    }

    /// @inheritdoc IDefaultFund
    function lossIndex() external view returns (uint256) {
        return _index;
    }

    // ================================================================ internals

    function _contributionOf(address node) private view returns (uint256) {
        return _registry.requiredBondOf(node) * _contributionBps / BPS;
    }

    function _assessment(Member storage m) private view returns (uint256) {
        return Math.ceilDiv(uint256(m.baseFen) * (_index - m.paidIndex), INDEX_SCALE);
    }

    /// @dev What the fund holds less the members' unclaimed recoveries.
    function _free() private view returns (uint256) {
        return _token.balanceOf(address(this)) - _reserved;
    }

    function _checkAssessed(address member, Member storage m) private view {
        uint256 owed = _assessment(m);
        if (owed != 0) revert AssessmentOutstanding(member, owed);
    }

    /// @dev The member's share of the recoveries since its last claim (rounded down).
    function _recoveryDue(Member storage m) private view returns (uint256) {
        return uint256(m.baseFen) * (_recoveryIndex - m.recoveryIndex) / INDEX_SCALE;
    }

    /// @dev Pay `member` its recovery share, up to the assessments it paid and has not
    /// recovered; the rest of the share (forfeited) returns to the fund's free holdings.
    function _claim(address member, Member storage m) private {
        uint256 due = _recoveryDue(m);
        m.recoveryIndex = _recoveryIndex;
        if (due == 0) return;
        uint256 unrecovered = m.unrecoveredFen;
        uint256 paid = due < unrecovered ? due : unrecovered;
        m.unrecoveredFen = uint128(unrecovered - paid);
        _reserved -= due;
        emit RecoveryClaimed(member, paid, due - paid);
        if (paid != 0) _token.safeTransfer(member, paid);
    }

    /// @dev Pay the creditor's shortfall from what the fund holds (not the reserve).
    function _payCreditor() private {
        uint256 owed = _unfunded;
        if (owed == 0) return;
        uint256 held = _free();
        uint256 paid = owed < held ? owed : held;
        if (paid == 0) return;
        _unfunded = owed - paid;
        emit CreditorPaid(_creditor, paid, owed - paid);
        _token.safeTransfer(_creditor, paid);
    }

    function _pull(address from, uint256 amountFen) private {
        uint256 balance = _token.balanceOf(from);
        uint256 allowance = _token.allowance(from, address(this));
        if (balance < amountFen || allowance < amountFen) {
            revert InsufficientFunds(from, balance, allowance, amountFen);
        }
        _token.safeTransferFrom(from, address(this), amountFen);
    }
}
