// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IRetailParticipants} from "./IRetailParticipants.sol";

/// @title IRetailBills
/// @notice A retailer's monthly retail bills anchored as a Merkle root, and their payment in
/// the settlement token.
///
/// Anchoring. An Active retailer anchors one batch per month (`month` = YYYYMM): the root
/// of the OpenZeppelin-compatible tree (sorted pairs) over its bills' leaves, their count,
/// their total and the due date. A bill's leaf is
/// keccak256(bytes.concat(keccak256(abi.encode(consumer, retailer, uint32 month,
/// bytes32 billHash, uint256 totalFen)))) (`ledger.retail.leaves`), so a consumer holding
/// its bill re-derives the hash and checks it against the root with the leaf's proof.
///
/// Payment. Anyone pays a bill for its consumer with the leaf's proof: `amountFen` moves
/// from the payer to the retailer (partial payments add up; paying more than the bill's
/// unpaid rest is refused). Nothing is held by this contract. A bill unpaid after its due
/// date is overdue (`billStatus` computes it; `markOverdue` records it once with an event).
interface IRetailBills is IRetailParticipants {
    /// @notice A month's anchored bills as read back.
    struct BillBatch {
        uint256 id;
        address retailer;
        uint32 month;
        bytes32 root;
        uint32 count;
        uint256 totalFen;
        uint64 dueAt;
        uint64 anchoredAt;
        uint256 paidFen;
    }

    /// @notice One bill of a batch: its leaf, total, what was paid, and whether it is overdue.
    struct BillStatus {
        bytes32 leaf;
        uint256 totalFen;
        uint256 paidFen;
        uint64 dueAt;
        bool overdue;
        bool markedOverdue;
    }

    /// @notice `retailer` anchored its bills of `month` as batch `batchId`.
    event BillsAnchored(
        uint256 indexed batchId,
        address indexed retailer,
        uint32 indexed month,
        bytes32 root,
        uint32 count,
        uint256 totalFen,
        uint64 dueAt
    );
    /// @notice `payer` paid `amountFen` of `consumer`'s bill `leaf` to the batch's retailer;
    /// `paidFen` of `totalFen` is paid now.
    event BillPaid(
        uint256 indexed batchId,
        bytes32 indexed leaf,
        address indexed consumer,
        address payer,
        uint256 amountFen,
        uint256 paidFen,
        uint256 totalFen
    );
    /// @notice `consumer`'s bill `leaf` was found unpaid (`unpaidFen`) after `dueAt`.
    event BillMarkedOverdue(
        uint256 indexed batchId,
        bytes32 indexed leaf,
        address indexed consumer,
        uint256 unpaidFen,
        uint64 dueAt
    );

    /// @notice `month` is not YYYYMM (2000..2999, 01..12).
    error InvalidMonth(uint32 month);
    /// @notice A batch needs a non-zero root and count.
    error EmptyBatch(bytes32 root, uint32 count);
    /// @notice The due date must be in the future.
    error InvalidDueDate(uint64 dueAt, uint256 nowAt);
    /// @notice `retailer` already anchored `month` as `batchId`.
    error MonthAlreadyAnchored(address retailer, uint32 month, uint256 batchId);
    /// @notice No batch `batchId`.
    error UnknownBatch(uint256 batchId);
    /// @notice The proof does not lead from `leaf` to the batch's root.
    error InvalidProof(uint256 batchId, bytes32 leaf);
    /// @notice A payment must be non-zero.
    error ZeroAmount();
    /// @notice Paying `amountFen` would exceed the bill: `paidFen` of `totalFen` is paid.
    error Overpayment(bytes32 leaf, uint256 totalFen, uint256 paidFen, uint256 amountFen);
    /// @notice The payer's balance or allowance to this contract is short of `neededFen`.
    error InsufficientFunds(address payer, uint256 balanceFen, uint256 allowanceFen, uint256 neededFen);
    /// @notice The bill is not overdue (due `dueAt`; `paidFen` of `totalFen` paid) or was
    /// already marked.
    error NotOverdue(bytes32 leaf, uint64 dueAt, uint256 paidFen, uint256 totalFen);

    /// @notice Anchor the caller's (an Active retailer) bills of `month`; returns the batch id.
    function anchorBills(
        uint32 month,
        bytes32 root,
        uint32 count,
        uint256 totalFen,
        uint64 dueAt
    ) external returns (uint256 batchId);

    /// @notice Pay `amountFen` of `consumer`'s bill (`billHash`, `totalFen`) in batch
    /// `batchId` from the caller's allowance to the retailer.
    function pay(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof,
        uint256 amountFen
    ) external;

    /// @notice Record that a bill is unpaid after its due date (anyone, once).
    function markOverdue(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof
    ) external;

    /// @notice The settlement token bills are paid in.
    function settlementToken() external view returns (address);
    /// @notice Number of batches anchored (ids are 1..count).
    function batchCount() external view returns (uint256);
    /// @notice Batch `batchId`.
    function batchOf(uint256 batchId) external view returns (BillBatch memory);
    /// @notice `retailer`'s batch of `month` (0 = none).
    function batchIdOf(address retailer, uint32 month) external view returns (uint256);
    /// @notice The anchoring leaf of a bill.
    function billLeaf(
        address consumer,
        address retailer,
        uint32 month,
        bytes32 billHash,
        uint256 totalFen
    ) external pure returns (bytes32);
    /// @notice A bill's status (reverts InvalidProof unless it is in the batch).
    function billStatus(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof
    ) external view returns (BillStatus memory);
    /// @notice What was paid of the bill with `leaf` in batch `batchId`.
    function paidFenOf(uint256 batchId, bytes32 leaf) external view returns (uint256);
}
