// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";

/// @title IDefaultFund
/// @notice The mutual default fund behind formula-3 charges (docs/defaults.md). When a
/// node cannot pay a ramp-up charge from its credit, wallet allowance and bond, the
/// settlement engine (MARKET_CONTRACT) asks the fund to `cover` the rest: the fund pays the
/// creditor (the balancing account) what it holds, and the remaining loss is allocated pro
/// rata to the members' contributions (the documented base), as assessments each member
/// owes the fund. Until paid, the creditor's shortfall is the fund's `unfundedFen`; every
/// token the fund receives (contributions, replenishments, assessments, the fund's part of
/// debt recoveries) first pays that shortfall.
///
/// Contribution. A node admitted by the registry (Active) contributes once, at admission:
/// requiredBondOf(node) x contributionBps / 10,000 (rounded down), its base for loss
/// allocation; an admitted node that has not contributed can be blocked from trading by
/// anyone (`requireContribution`, registry reason "FUND_CONTRIBUTION") until it does.
/// Allocation is lazy (an index): a loss L over a total base B raises the index
/// by ceil(L x 1e18 / B); a member owes ceil(base x (index - its index at joining or last
/// payment) / 1e18), so the assessments sum to at least L (the rounding excess stays in the
/// fund). A loss with no base (no member yet) stays unfunded until the fund receives tokens.
///
/// Recovery. A defaulter's debt repayment (the engine's `repayDebt`, then `recover`) first
/// returns what was allocated to the members for its losses: it raises the recovery index by
/// floor(R x 1e18 / B) (B the total base then) and is reserved for them; a member claims
/// floor(base x (index - its index at joining or last claim) / 1e18), paid up to the
/// assessments it paid and has not recovered (the rest returns to the fund). The rest of the
/// repayment (what the fund paid, rule FUND) stays in the fund. Nothing pays out more than
/// was recovered; the rounding (under 1 fen per member and recovery) stays reserved.
///
/// Refund. A member that has left the registry (Exited or Removed) with no obligation, its
/// assessments paid and no creditor shortfall, gets its contribution back: its base, or its
/// pro rata share base x free holdings / total base when the fund's free holdings are below
/// the total base (losses used them); any recovery due is paid with it.
interface IDefaultFund {
    /// @notice The OPERATOR set the contribution rate.
    event ContributionRateSet(uint16 contributionBps, address operator);
    /// @notice `node` became a member: `payer` paid `amountFen` (its base).
    event Contributed(address indexed node, address indexed payer, uint256 amountFen, uint256 fundFen);
    /// @notice The OPERATOR added `amountFen` to the fund.
    event Replenished(address indexed operator, uint256 amountFen, uint256 fundFen);
    /// @notice Rule FUND: of `lossFen` left by `node` after credit, wallet and bond, the fund
    /// paid `fromFundFen` to `creditor`; `fundLeftFen` remains in the fund.
    event DefaultCovered(
        address indexed node,
        uint32 indexed period,
        address indexed creditor,
        uint256 lossFen,
        uint256 fromFundFen,
        uint256 fundLeftFen
    );
    /// @notice Rule ALLOCATION: `amountFen` allocated pro rata to the members' total base
    /// `totalBaseFen`; `lossIndex` is the index after it.
    event LossAllocated(
        address indexed node, uint32 indexed period, uint256 amountFen, uint256 totalBaseFen, uint256 lossIndex
    );
    /// @notice Rule UNALLOCATED: no member to allocate `amountFen` to; it stays unfunded.
    event LossUnallocated(address indexed node, uint32 indexed period, uint256 amountFen);
    /// @notice `payer` paid `member`'s assessment `amountFen`.
    event AssessmentPaid(address indexed member, address indexed payer, uint256 amountFen);
    /// @notice The fund paid `amountFen` of the creditor's shortfall; `unfundedFen` remains.
    event CreditorPaid(address indexed creditor, uint256 amountFen, uint256 unfundedFen);
    /// @notice `node` repaid `amountFen` of its debt; `toMembersFen` of it returns what was
    /// allocated to the members (over `totalBaseFen`, index now `recoveryIndex`).
    event Recovered(
        address indexed node, uint256 amountFen, uint256 toMembersFen, uint256 totalBaseFen, uint256 recoveryIndex
    );
    /// @notice `member` was paid `amountFen` of recoveries; `forfeitedFen` of its share
    /// (above the assessments it paid) returned to the fund.
    event RecoveryClaimed(address indexed member, uint256 amountFen, uint256 forfeitedFen);
    /// @notice `node` left the fund: of its base `baseFen`, `refundFen` was paid back to it.
    event ContributionRefunded(address indexed node, uint256 baseFen, uint256 refundFen);

    error ZeroAmount();
    error InvalidContributionRate(uint16 contributionBps);
    /// @notice Contributions are made by Active (admitted) nodes.
    error NotAdmitted(address node);
    error AlreadyContributed(address node, uint256 baseFen);
    /// @notice The node's contribution (its required bond x rate) is zero.
    error NothingToContribute(address node);
    error NoAssessment(address member);
    /// @notice `requireContribution` of a node already blocked for it.
    error ContributionAlreadyRequired(address node);
    error InsufficientFunds(address payer, uint256 balanceFen, uint256 allowanceFen, uint256 neededFen);
    error NotMember(address node);
    /// @notice A refund is for members that left the registry (Exited or Removed).
    error StillEnrolled(address node, INodeRegistry.NodeStatus status);
    /// @notice The node still has registry obligations (a debt, penalty, fine, trade).
    error OpenObligations(address node, uint256 obligations);
    /// @notice The member owes an assessment: it pays it before claiming or a refund.
    error AssessmentOutstanding(address member, uint256 owedFen);
    /// @notice Refunds wait until the creditor's shortfall is paid.
    error CreditorUnpaid(uint256 unfundedFen);
    error NothingToClaim(address member);

    /// @notice A member: its base, the loss index it has paid up to, the assessments it
    /// paid and has not recovered, and the recovery index it has claimed up to.
    struct Member {
        uint128 baseFen;
        uint256 paidIndex;
        uint128 unrecoveredFen;
        uint256 recoveryIndex;
    }

    /// @notice Set the contribution rate in bps of the required bond (OPERATOR).
    function setContributionBps(uint16 contributionBps) external;
    /// @notice Add `amountFen` from the caller's allowance (OPERATOR).
    function replenish(uint256 amountFen) external;
    /// @notice Pay `node`'s admission contribution from the caller's allowance (anyone).
    function contribute(address node) external;
    /// @notice Block the trading of admitted `node` until it contributes (anyone; the fund
    /// holds MARKET_CONTRACT for the registry's block).
    function requireContribution(address node) external;
    /// @notice Pay `member`'s assessment from the caller's allowance (anyone).
    function payAssessment(address member) external;
    /// @notice Pay the creditor's shortfall from the fund, as far as it holds (anyone).
    function payCreditor() external;
    /// @notice Pay `member` its share of the recoveries (anyone calls; paid to the member).
    function claimRecovery(address member) external;
    /// @notice Refund the contribution of `node`, a member that left (anyone calls; paid to
    /// the node); it stops being a member.
    function refundContribution(address node) external;
    /// @notice `amountFen` of `node`'s debt was repaid into the fund (MARKET_CONTRACT):
    /// return the members' allocated share, then pay the creditor.
    function recover(address node, uint256 amountFen) external;
    /// @notice Cover `lossFen` left by `node` in `period`, owed to `creditor`
    /// (MARKET_CONTRACT); returns what the fund paid.
    function cover(address node, uint32 period, uint256 lossFen, address creditor)
        external
        returns (uint256 fromFundFen);

    function contributionBps() external view returns (uint16);
    /// @notice What `node` would contribute now (required bond x rate).
    function contributionFenOf(address node) external view returns (uint256);
    function memberOf(address node) external view returns (Member memory);
    /// @notice What `member` owes of allocated losses.
    function assessmentOf(address member) external view returns (uint256);
    /// @notice What `member` would be paid by `claimRecovery` now.
    function recoveryOf(address member) external view returns (uint256);
    /// @notice `node`'s losses allocated to members not yet recovered from it.
    function allocatedOf(address node) external view returns (uint256);
    function recoveryIndex() external view returns (uint256);
    /// @notice Recovered for members and not yet claimed (part of `fundFen`).
    function recoveryReserveFen() external view returns (uint256);
    /// @notice Tokens the fund holds (the recovery reserve included).
    function fundFen() external view returns (uint256);
    /// @notice The creditor's shortfall not yet paid (allocated or unallocated losses).
    function unfundedFen() external view returns (uint256);
    function creditor() external view returns (address);
    function totalBaseFen() external view returns (uint256);
    function lossIndex() external view returns (uint256);
}
