// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {TypedDataDomain} from "../oracle/TypedDataDomain.sol";
import {ICentralAuction} from "./ICentralAuction.sol";
import {IOrderIntake} from "./IOrderIntake.sol";

/// @title OrderIntake
/// @notice Anchors the intake's signed orders into the central auction in batches and
/// takes omission proofs (see IOrderIntake).
/// @dev Holds ORDER_INTAKE (CentralAuction.placeOrderFor). A batch loops over its own
/// entries only; the anchored sequences are a bitmap. EIP-712 through TypedDataDomain.
contract OrderIntake is IOrderIntake, MarketAccessed, TypedDataDomain, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 private constant ORDER_TYPEHASH = keccak256(
        "Order(address node,uint32 auctionId,uint8 side,uint256 energyWh,uint256 priceFenPerMwh,uint256 nonce)"
    );
    bytes32 private constant RECEIPT_TYPEHASH =
        keccak256("Receipt(uint64 seq,bytes32 orderHash,uint64 receivedAt)");

    ICentralAuction private immutable _auction;
    IERC20 private immutable _token;

    address private _intake;
    uint64 private _lastSeq;
    uint256 private _batchCount;
    uint256 private _bondFen;
    uint256 private _penaltyFen;
    uint256 private _omissions;

    mapping(uint256 word => uint256 bits) private _anchored;
    mapping(bytes32 orderHash => bool) private _consumed;
    mapping(uint64 seq => bool) private _proven;
    mapping(uint256 batchId => bytes32 root) private _roots;

    /// @param access_ The suite's access root.
    /// @param auction_ The central auction orders enter.
    /// @param token_ The settlement token of the intake's bond.
    constructor(IMarketAccess access_, ICentralAuction auction_, IERC20 token_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger OrderIntake", "1")
    {
        if (
            address(access_) == address(0) || address(auction_) == address(0)
                || address(token_) == address(0)
        ) revert ZeroAddress();
        _auction = auction_;
        _token = token_;
    }

    // ================================================================ OPERATOR, REGULATOR

    /// @inheritdoc IOrderIntake
    function setIntake(address intake_) external onlyRole(Roles.OPERATOR) {
        if (intake_ == address(0)) revert ZeroAddress();
        _intake = intake_;
        emit IntakeSet(intake_, msg.sender);
    }

    /// @inheritdoc IOrderIntake
    function setOmissionPenalty(uint256 penaltyFen) external onlyRole(Roles.REGULATOR) {
        _penaltyFen = penaltyFen;
        emit OmissionPenaltySet(penaltyFen, msg.sender);
    }

    /// @inheritdoc IOrderIntake
    function depositBond(uint256 amountFen) external nonReentrant {
        _bondFen += amountFen;
        _token.safeTransferFrom(msg.sender, address(this), amountFen);
        emit BondDeposited(msg.sender, amountFen, _bondFen);
    }

    // ================================================================ the intake key

    /// @inheritdoc IOrderIntake
    function anchor(Entry[] calldata entries) external nonReentrant returns (uint256 batchId) {
        if (msg.sender != _intake) revert NotIntake(msg.sender, _intake);
        if (entries.length == 0) revert EmptyBatch();
        bytes32[] memory leaves = new bytes32[](entries.length);
        for (uint256 k = 0; k < entries.length; ++k) {
            leaves[k] = _anchorOne(entries[k]);
        }
        batchId = ++_batchCount;
        bytes32 root = _root(leaves);
        _roots[batchId] = root;
        emit BatchAnchored(batchId, root, entries[0].seq, _lastSeq, entries.length);
    }

    function _anchorOne(Entry calldata e) private returns (bytes32 leaf) {
        if (e.seq <= _lastSeq) revert SequenceOutOfOrder(e.seq, _lastSeq);
        _lastSeq = e.seq;
        SignedOrder calldata o = e.order;
        bytes32 digest = _orderDigest(o);
        address signer = _recover(digest, e.signature);
        if (signer != o.node) revert BadOrderSignature(e.seq, o.node, signer);
        if (_consumed[digest]) revert OrderAlreadyAnchored(e.seq, digest);
        _consumed[digest] = true;
        _anchored[e.seq >> 8] |= 1 << (e.seq & 0xff);
        try _auction.placeOrderFor(o.node, o.auctionId, o.side, o.energyWh, o.priceFenPerMwh)
        returns (uint256 orderId) {
            emit OrderAnchored(e.seq, digest, o.node, orderId);
        } catch (bytes memory reason) {
            _onRefusal(e.seq, digest, o.node, reason);
        }
        leaf = keccak256(bytes.concat(keccak256(abi.encode(e.seq, digest))));
    }

    /// @dev The signer's reasons become OrderRejected; the intake's (the auction unknown or
    /// its window shut: it should not have anchored) and out-of-gas revert the batch.
    function _onRefusal(uint64 seq, bytes32 digest, address node, bytes memory reason) private {
        if (reason.length < 4) revert AnchorOutOfGas(seq);
        bytes4 selector;
        assembly ("memory-safe") {
            selector := mload(add(reason, 32))
        }
        if (
            selector == ICentralAuction.OutsideOrderWindow.selector
                || selector == ICentralAuction.UnknownAuction.selector
        ) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
        emit OrderRejected(seq, digest, node, reason);
    }

    /// @dev Merkle root as ledger/merkle.py builds it (sorted pairs, odd last moves up).
    function _root(bytes32[] memory level) private pure returns (bytes32) {
        uint256 n = level.length;
        while (n > 1) {
            uint256 m = 0;
            for (uint256 i = 0; i + 1 < n; i += 2) {
                level[m++] = Hashes.commutativeKeccak256(level[i], level[i + 1]);
            }
            if (n % 2 == 1) level[m++] = level[n - 1];
            n = m;
        }
        return level[0];
    }

    // ================================================================ anyone

    /// @inheritdoc IOrderIntake
    function proveOmission(
        Receipt calldata receipt,
        bytes calldata intakeSignature,
        SignedOrder calldata order_,
        bytes calldata orderSignature
    ) external nonReentrant {
        address intakeSigner = _recover(_receiptDigest(receipt), intakeSignature);
        if (intakeSigner == address(0) || intakeSigner != _intake) {
            revert NotIntakeReceipt(intakeSigner, _intake);
        }
        bytes32 digest = _orderDigest(order_);
        if (digest != receipt.orderHash) revert ReceiptOrderMismatch(receipt.orderHash, digest);
        address signer = _recover(digest, orderSignature);
        if (signer != order_.node) revert BadOrderSignature(receipt.seq, order_.node, signer);
        uint64 gate = _auction.auction(order_.auctionId).gateClosesAt;
        if (block.timestamp < gate) {
            revert OmissionNotYetProvable(order_.auctionId, uint64(block.timestamp), gate);
        }
        if (_isAnchored(receipt.seq)) revert SequenceAnchored(receipt.seq);
        if (_proven[receipt.seq]) revert OmissionAlreadyProven(receipt.seq);
        _proven[receipt.seq] = true;
        uint256 penalty = _penaltyFen < _bondFen ? _penaltyFen : _bondFen;
        _bondFen -= penalty;
        ++_omissions;
        emit OmissionProven(receipt.seq, digest, order_.node, penalty, msg.sender);
        if (penalty != 0) _token.safeTransfer(order_.node, penalty);
    }

    // ================================================================ views

    /// @inheritdoc IOrderIntake
    function orderDigest(SignedOrder calldata order_) external view returns (bytes32) {
        return _orderDigest(order_);
    }

    /// @inheritdoc IOrderIntake
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32) {
        return _receiptDigest(receipt);
    }

    /// @inheritdoc IOrderIntake
    function isAnchored(uint64 seq) external view returns (bool) {
        return _isAnchored(seq);
    }

    /// @inheritdoc IOrderIntake
    function inBatch(uint256 batchId, uint64 seq, bytes32 orderHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(seq, orderHash))));
        return _roots[batchId] != bytes32(0) && MerkleProof.verifyCalldata(proof, _roots[batchId], leaf);
    }

    /// @inheritdoc IOrderIntake
    function state() external view returns (address, uint64, uint256) {
        return (_intake, _lastSeq, _batchCount);
    }

    /// @inheritdoc IOrderIntake
    function batchRoot(uint256 batchId) external view returns (bytes32) {
        return _roots[batchId];
    }

    /// @inheritdoc IOrderIntake
    function bond() external view returns (uint256, uint256, uint256) {
        return (_bondFen, _penaltyFen, _omissions);
    }

    // ================================================================ internals

    function _orderDigest(SignedOrder calldata o) private view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH, o.node, o.auctionId, o.side, o.energyWh, o.priceFenPerMwh, o.nonce
                )
            )
        );
    }

    function _receiptDigest(Receipt calldata r) private view returns (bytes32) {
        return _hashTypedData(
            keccak256(abi.encode(RECEIPT_TYPEHASH, r.seq, r.orderHash, r.receivedAt))
        );
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _isAnchored(uint64 seq) private view returns (bool) {
        return _anchored[seq >> 8] & (1 << (seq & 0xff)) != 0;
    }
}
