// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ICentralAuction} from "./ICentralAuction.sol";

/// @title IOrderIntake
/// @notice Signed-receipt order intake of the central auction (docs/auction.md, "Order
/// intake"). A participant signs an order (EIP-712 `Order`, this contract's domain) and
/// sends it to the trading center's intake service, which writes it ahead and answers with
/// a receipt signed by the intake key (EIP-712 `Receipt`: intake sequence, order hash,
/// received time). The intake key anchors the orders in batches (`anchor`): each order's
/// signature is checked, its sequence must be above every sequence anchored before (time
/// priority follows the intake sequence), and it is placed in the auction for its signer
/// (`CentralAuction.placeOrderFor`: the same book, escrow from the signer's allowance to the
/// auction, bond reservation). An order the auction refuses for the signer's reasons
/// (balance, allowance, bond, eligibility, lot, price) is recorded as `OrderRejected` with
/// the auction's revert data. Each batch stores the Merkle root of its leaves
/// keccak256(keccak256(abi.encode(seq, orderHash))) (OpenZeppelin MerkleProof convention,
/// ledger/merkle.py).
///
/// Omission. Once the order's auction gate has closed (the intake can anchor no more), a
/// holder of a receipt whose sequence was never anchored proves it with `proveOmission`;
/// the intake is penalised: `omissionPenaltyFen` (REGULATOR) is paid from the intake's
/// bond to the order's node (as much as the bond holds).
interface IOrderIntake {
    /// @notice A participant's order as it signs it (EIP-712 type `Order`).
    struct SignedOrder {
        address node;
        uint32 auctionId;
        ICentralAuction.OrderSide side;
        uint256 energyWh;
        uint256 priceFenPerMwh;
        uint256 nonce;
    }

    /// @notice One order of a batch: its intake sequence, the order and its signature.
    struct Entry {
        uint64 seq;
        SignedOrder order;
        bytes signature;
    }

    /// @notice The intake's acknowledgement (EIP-712 type `Receipt`); `orderHash` is the
    /// order's EIP-712 digest (orderDigest).
    struct Receipt {
        uint64 seq;
        bytes32 orderHash;
        uint64 receivedAt;
    }

    /// @notice The OPERATOR set the intake key (receipt signer and only anchorer).
    event IntakeSet(address indexed intake, address operator);
    /// @notice The REGULATOR set the penalty per proven omission.
    event OmissionPenaltySet(uint256 penaltyFen, address regulator);
    /// @notice `from` added `amountFen` to the intake's bond.
    event BondDeposited(address indexed from, uint256 amountFen, uint256 bondFen);
    /// @notice Order `seq` entered the auction as order `orderId`.
    event OrderAnchored(
        uint64 indexed seq, bytes32 indexed orderHash, address indexed node, uint256 orderId
    );
    /// @notice The auction refused order `seq` (`reason`: its revert data).
    event OrderRejected(
        uint64 indexed seq, bytes32 indexed orderHash, address indexed node, bytes reason
    );
    /// @notice Batch `batchId` anchored sequences `firstSeq`..`lastSeq` (`count` orders).
    event BatchAnchored(
        uint256 indexed batchId, bytes32 root, uint64 firstSeq, uint64 lastSeq, uint256 count
    );
    /// @notice Receipt `seq` was proven omitted; `penaltyFen` went from the bond to `node`.
    event OmissionProven(
        uint64 indexed seq, bytes32 orderHash, address indexed node, uint256 penaltyFen, address by
    );

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice Only the intake key anchors.
    error NotIntake(address caller, address intake);
    /// @notice A batch needs at least one order.
    error EmptyBatch();
    /// @notice Sequences must rise strictly, across batches too.
    error SequenceOutOfOrder(uint64 seq, uint64 lastSeq);
    /// @notice The order's signature is not its node's (`signer` recovered, 0 if invalid).
    error BadOrderSignature(uint64 seq, address node, address signer);
    /// @notice The order (same digest) was anchored before.
    error OrderAlreadyAnchored(uint64 seq, bytes32 orderHash);
    /// @notice The auction ran out of gas placing order `seq` (the batch reverts).
    error AnchorOutOfGas(uint64 seq);
    /// @notice The receipt is not signed by the intake key (`signer` recovered).
    error NotIntakeReceipt(address signer, address intake);
    /// @notice The receipt is for another order.
    error ReceiptOrderMismatch(bytes32 receiptOrderHash, bytes32 orderHash);
    /// @notice Omission is provable once the auction's gate has closed.
    error OmissionNotYetProvable(uint32 auctionId, uint64 nowS, uint64 gateClosesAt);
    /// @notice Sequence `seq` was anchored: nothing was omitted.
    error SequenceAnchored(uint64 seq);
    /// @notice The omission of `seq` was proven already.
    error OmissionAlreadyProven(uint64 seq);

    /// @notice Set the intake key (OPERATOR).
    function setIntake(address intake_) external;

    /// @notice Set the penalty per proven omission (REGULATOR).
    function setOmissionPenalty(uint256 penaltyFen) external;

    /// @notice Add to the intake's bond (anyone; allowance to this contract).
    function depositBond(uint256 amountFen) external;

    /// @notice Anchor a batch (the intake key); returns the batch id (1, 2, ...).
    function anchor(Entry[] calldata entries) external returns (uint256 batchId);

    /// @notice Prove that an acknowledged order was never anchored (anyone).
    function proveOmission(
        Receipt calldata receipt,
        bytes calldata intakeSignature,
        SignedOrder calldata order_,
        bytes calldata orderSignature
    ) external;

    /// @notice The EIP-712 digest of an order (its `orderHash`).
    function orderDigest(SignedOrder calldata order_) external view returns (bytes32);

    /// @notice The EIP-712 digest of a receipt.
    function receiptDigest(Receipt calldata receipt) external view returns (bytes32);

    /// @notice Whether sequence `seq` was anchored (placed or rejected).
    function isAnchored(uint64 seq) external view returns (bool);

    /// @notice Whether (`seq`, `orderHash`) is a leaf of batch `batchId` (Merkle proof).
    function inBatch(uint256 batchId, uint64 seq, bytes32 orderHash, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice The intake key, the highest anchored sequence, the batch count.
    function state() external view returns (address intake, uint64 lastSeq, uint256 batchCount);

    /// @notice Batch `batchId`'s Merkle root (zero if none).
    function batchRoot(uint256 batchId) external view returns (bytes32);

    /// @notice The intake's bond, the penalty per omission and the omissions proven.
    function bond() external view returns (uint256 bondFen, uint256 penaltyFen, uint256 omissions);
}
