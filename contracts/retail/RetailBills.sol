// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRetailBills} from "./IRetailBills.sol";
import {RetailParticipants} from "./RetailParticipants.sol";

/// @title RetailBills
/// @notice Monthly retail bills anchored by Merkle root and paid to the retailer (see
/// IRetailBills).
/// @dev Payments go straight from the payer to the retailer (`safeTransferFrom`): the
/// contract never holds tokens. Every function is O(proof length).
contract RetailBills is IRetailBills, RetailParticipants, ReentrancyGuard {
    using SafeERC20 for IERC20;

    IERC20 private immutable _token;

    uint256 private _batchCount;
    mapping(uint256 batchId => BillBatch) private _batches;
    mapping(address retailer => mapping(uint32 month => uint256 batchId)) private _batchIds;
    mapping(uint256 batchId => mapping(bytes32 leaf => uint256 paidFen)) private _paid;
    mapping(uint256 batchId => mapping(bytes32 leaf => bool)) private _marked;

    /// @param registry_ The node registry (retailers).
    /// @param token_ The settlement token.
    constructor(INodeRegistry registry_, IERC20 token_) RetailParticipants(registry_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        _token = token_;
    }

    // ================================================================ RETAILER

    /// @inheritdoc IRetailBills
    function anchorBills(
        uint32 month,
        bytes32 root,
        uint32 count,
        uint256 totalFen,
        uint64 dueAt
    ) external returns (uint256 batchId) {
        _checkRetailer(msg.sender);
        uint32 mm = month % 100;
        if (month < 200_001 || month > 299_912 || mm == 0 || mm > 12) revert InvalidMonth(month);
        if (root == bytes32(0) || count == 0) revert EmptyBatch(root, count);
        if (dueAt <= block.timestamp) revert InvalidDueDate(dueAt, block.timestamp);
        uint256 existing = _batchIds[msg.sender][month];
        if (existing != 0) revert MonthAlreadyAnchored(msg.sender, month, existing);
        batchId = ++_batchCount;
        _batchIds[msg.sender][month] = batchId;
        _batches[batchId] = BillBatch({
            id: batchId,
            retailer: msg.sender,
            month: month,
            root: root,
            count: count,
            totalFen: totalFen,
            dueAt: dueAt,
            anchoredAt: uint64(block.timestamp),
            paidFen: 0
        });
        emit BillsAnchored(batchId, msg.sender, month, root, count, totalFen, dueAt);
    }

    // ================================================================ ANYONE

    /// @inheritdoc IRetailBills
    function pay(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof,
        uint256 amountFen
    ) external nonReentrant {
        if (amountFen == 0) revert ZeroAmount();
        BillBatch storage b = _batch(batchId);
        bytes32 leaf = _provenLeaf(b, consumer, billHash, totalFen, proof);
        uint256 paid = _paid[batchId][leaf];
        if (amountFen > totalFen - paid) revert Overpayment(leaf, totalFen, paid, amountFen);
        uint256 balance = _token.balanceOf(msg.sender);
        uint256 allowance = _token.allowance(msg.sender, address(this));
        if (balance < amountFen || allowance < amountFen) {
            revert InsufficientFunds(msg.sender, balance, allowance, amountFen);
        }
        _paid[batchId][leaf] = paid + amountFen;
        b.paidFen += amountFen;
        emit BillPaid(batchId, leaf, consumer, msg.sender, amountFen, paid + amountFen, totalFen);
        _token.safeTransferFrom(msg.sender, b.retailer, amountFen);
    }

    /// @inheritdoc IRetailBills
    function markOverdue(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof
    ) external {
        BillBatch storage b = _batch(batchId);
        bytes32 leaf = _provenLeaf(b, consumer, billHash, totalFen, proof);
        uint256 paid = _paid[batchId][leaf];
        // slither-disable-next-line timestamp
        if (block.timestamp <= b.dueAt || paid >= totalFen || _marked[batchId][leaf]) {
            revert NotOverdue(leaf, b.dueAt, paid, totalFen);
        }
        _marked[batchId][leaf] = true;
        emit BillMarkedOverdue(batchId, leaf, consumer, totalFen - paid, b.dueAt);
    }

    // ================================================================ VIEWS

    /// @inheritdoc IRetailBills
    function settlementToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IRetailBills
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IRetailBills
    function batchOf(uint256 batchId) external view returns (BillBatch memory) {
        return _batch(batchId);
    }

    /// @inheritdoc IRetailBills
    function batchIdOf(address retailer, uint32 month) external view returns (uint256) {
        return _batchIds[retailer][month];
    }

    /// @inheritdoc IRetailBills
    function billLeaf(
        address consumer,
        address retailer,
        uint32 month,
        bytes32 billHash,
        uint256 totalFen
    ) public pure returns (bytes32) {
        return keccak256(
            bytes.concat(keccak256(abi.encode(consumer, retailer, month, billHash, totalFen)))
        );
    }

    /// @inheritdoc IRetailBills
    function billStatus(
        uint256 batchId,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof
    ) external view returns (BillStatus memory) {
        BillBatch storage b = _batch(batchId);
        bytes32 leaf = _provenLeaf(b, consumer, billHash, totalFen, proof);
        uint256 paid = _paid[batchId][leaf];
        // slither-disable-next-line timestamp
        bool overdue = paid < totalFen && block.timestamp > b.dueAt;
        return BillStatus(leaf, totalFen, paid, b.dueAt, overdue, _marked[batchId][leaf]);
    }

    /// @inheritdoc IRetailBills
    function paidFenOf(uint256 batchId, bytes32 leaf) external view returns (uint256) {
        return _paid[batchId][leaf];
    }

    // ================================================================ INTERNAL

    function _batch(uint256 batchId) private view returns (BillBatch storage b) {
        b = _batches[batchId];
        if (b.id == 0) revert UnknownBatch(batchId);
    }

    function _provenLeaf(
        BillBatch storage b,
        address consumer,
        bytes32 billHash,
        uint256 totalFen,
        bytes32[] calldata proof
    ) private view returns (bytes32 leaf) {
        leaf = billLeaf(consumer, b.retailer, b.month, billHash, totalFen);
        if (!MerkleProof.verifyCalldata(proof, b.root, leaf)) revert InvalidProof(b.id, leaf);
    }
}
