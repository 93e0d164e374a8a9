// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IDeskAnchor} from "../interfaces/IDeskAnchor.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";

/// @title DeskAnchor
/// @notice Merkle roots of the service desk's state changes, anchored by the OPERATOR (see
/// IDeskAnchor).
/// @dev One storage write per batch; the per-category counts live in the event only.
contract DeskAnchor is IDeskAnchor, MarketAccessed {
    /// @notice At most this many categories per batch.
    uint256 public constant MAX_CATEGORIES = 64;

    uint256 private _batchCount;
    uint64 private _nextChange = 1;
    mapping(uint256 batch => Batch) private _batches;

    /// @param access_ The suite's access root.
    constructor(IMarketAccess access_) MarketAccessed(access_) {}

    /// @inheritdoc IDeskAnchor
    function anchor(
        bytes32 root,
        uint64 firstChange,
        uint32 count,
        bytes32[] calldata categories,
        uint32[] calldata open,
        uint32[] calldata overdue
    ) external onlyRole(Roles.OPERATOR) returns (uint256 batch) {
        if (root == bytes32(0) || count == 0) revert EmptyBatch(root, count);
        if (firstChange != _nextChange) revert NotNextChange(_nextChange, firstChange);
        uint256 n = categories.length;
        if (open.length != n || overdue.length != n || n > MAX_CATEGORIES) {
            revert BadCategoryCounts(n, open.length, overdue.length);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (overdue[i] > open[i]) revert OverdueExceedsOpen(categories[i], open[i], overdue[i]);
        }
        batch = ++_batchCount;
        _nextChange = firstChange + count;
        _batches[batch] = Batch({
            root: root,
            firstChange: firstChange,
            count: count,
            anchoredAt: uint64(block.timestamp)
        });
        emit DeskBatchAnchored(
            batch, root, firstChange, count, categories, open, overdue, msg.sender
        );
    }

    /// @inheritdoc IDeskAnchor
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IDeskAnchor
    function nextChange() external view returns (uint64) {
        return _nextChange;
    }

    /// @inheritdoc IDeskAnchor
    function batchInfo(uint256 batch) external view returns (Batch memory) {
        return _batches[batch];
    }
}
