// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDeskAnchor
/// @notice Tamper evidence of the trading center's service desk (docs/desk.md): the
/// OPERATOR anchors, batch by batch, the Merkle root of the desk's state changes (each
/// change's canonical-JSON keccak256 is a leaf, sorted-pair tree as OpenZeppelin's
/// MerkleProof) together with the open and overdue complaint counts per category, so anyone
/// can check the off-chain desk database and the regulator's explorer can show the counts
/// from chain data alone.
/// @dev Batches are numbered from 1 and cover consecutive changes: batch n starts at the
/// change right after batch n-1's last (changes are numbered from 1).
interface IDeskAnchor {
    /// @notice One anchored batch.
    struct Batch {
        bytes32 root;
        uint64 firstChange;
        uint32 count;
        uint64 anchoredAt;
    }

    /// @notice The OPERATOR anchored batch `batch`: changes `firstChange` ..
    /// `firstChange + count - 1` under `root`; `categories[i]` had `open[i]` open complaints,
    /// `overdue[i]` of them past their response-time limit, when the batch was cut.
    event DeskBatchAnchored(
        uint256 indexed batch,
        bytes32 root,
        uint64 firstChange,
        uint32 count,
        bytes32[] categories,
        uint32[] open,
        uint32[] overdue,
        address operator
    );

    /// @notice A zero root or an empty batch.
    error EmptyBatch(bytes32 root, uint32 count);
    /// @notice The batch does not start right after the previous one.
    error NotNextChange(uint64 expected, uint64 given);
    /// @notice The count arrays do not match the categories (or there are too many).
    error BadCategoryCounts(uint256 categories, uint256 open, uint256 overdue);
    /// @notice A category has more overdue than open complaints.
    error OverdueExceedsOpen(bytes32 category, uint32 open, uint32 overdue);

    /// @notice Anchor the next batch (OPERATOR only). Returns its number.
    function anchor(
        bytes32 root,
        uint64 firstChange,
        uint32 count,
        bytes32[] calldata categories,
        uint32[] calldata open,
        uint32[] calldata overdue
    ) external returns (uint256 batch);

    /// @notice How many batches are anchored.
    function batchCount() external view returns (uint256);

    /// @notice The first change number the next batch must start at.
    function nextChange() external view returns (uint64);

    /// @notice Batch `batch` (a zero batch when unknown).
    function batchInfo(uint256 batch) external view returns (Batch memory);
}
