// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {TypedDataDomain} from "../oracle/TypedDataDomain.sol";
import {BilateralContractsStorage} from "./BilateralContractsStorage.sol";

/// @title BilateralTerms
/// @notice The co-signed terms of a bilateral contract: their EIP-712 digests (terms,
/// amendment, termination), the checks on terms and on the parties' signatures, and the
/// record of registered terms.
/// @dev EIP-712 through TypedDataDomain (OpenZeppelin's EIP712 does not compile for the
/// suite's evmVersion paris, see there) and OpenZeppelin ECDSA. No state of its own.
abstract contract BilateralTerms is BilateralContractsStorage, TypedDataDomain {
    using SafeCast for uint256;

    /// @notice The longest schedule, in entries (periods x blocks).
    uint16 public constant MAX_PERIODS = 400;

    /// @notice EIP-712 type of the co-signed contract terms.
    bytes32 public constant CONTRACT_TERMS_TYPEHASH = keccak256(
        "ContractTerms(uint32 templateId,address seller,address buyer,bytes32 documentHash,"
        "uint32 firstPeriodId,uint16 firstInterval,uint16 lastInterval,uint256 priceFenPerMwh,"
        "uint256[] scheduleWh,uint16 toleranceBps,uint64 expiresAt,uint16 blockIntervals,"
        "uint16 renewalNoticeDays,bytes32 salt)"
    );
    /// @notice EIP-712 type of a co-signed amendment.
    bytes32 public constant AMENDMENT_TYPEHASH = keccak256(
        "Amendment(uint256 contractNo,uint32 sequence,bytes32 documentHash,"
        "uint256 priceFenPerMwh,uint256[] scheduleWh)"
    );
    /// @notice EIP-712 type of a co-signed termination.
    bytes32 public constant TERMINATION_TYPEHASH =
        keccak256("Termination(uint256 contractNo,uint32 sequence,bytes32 reasonHash)");

    /// @inheritdoc IBilateralContracts
    function termsDigest(ContractTerms calldata terms) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                bytes.concat(
                    abi.encode(
                        CONTRACT_TERMS_TYPEHASH,
                        terms.templateId,
                        terms.seller,
                        terms.buyer,
                        terms.documentHash,
                        terms.firstPeriodId,
                        terms.firstInterval,
                        terms.lastInterval,
                        terms.priceFenPerMwh
                    ),
                    abi.encode(
                        keccak256(abi.encodePacked(terms.scheduleWh)),
                        terms.toleranceBps,
                        terms.expiresAt,
                        terms.blockIntervals,
                        terms.renewalNoticeDays,
                        terms.salt
                    )
                )
            )
        );
    }

    /// @inheritdoc IBilateralContracts
    function amendmentDigest(Amendment calldata amendment) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    AMENDMENT_TYPEHASH,
                    amendment.contractNo,
                    amendment.sequence,
                    amendment.documentHash,
                    amendment.priceFenPerMwh,
                    keccak256(abi.encodePacked(amendment.scheduleWh))
                )
            )
        );
    }

    /// @inheritdoc IBilateralContracts
    function terminationDigest(Termination calldata termination) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    TERMINATION_TYPEHASH,
                    termination.contractNo,
                    termination.sequence,
                    termination.reasonHash
                )
            )
        );
    }

    // ================================================================ INTERNALS

    function _checkTerms(ContractTerms calldata terms) internal pure {
        if (terms.seller == address(0) || terms.buyer == address(0) || terms.seller == terms.buyer)
        {
            revert InvalidParties(terms.seller, terms.buyer);
        }
        uint256 entries = terms.scheduleWh.length;
        uint256 width = terms.lastInterval >= terms.firstInterval
            ? uint256(terms.lastInterval) - terms.firstInterval + 1
            : 0;
        uint256 bi = terms.blockIntervals;
        uint256 blocks = bi == 0 || bi >= width ? 1 : (width + bi - 1) / bi;
        if (
            entries == 0 || entries > MAX_PERIODS || width == 0 || entries % blocks != 0
                || terms.priceFenPerMwh == 0
        ) revert InvalidTerms(entries, terms.firstInterval, terms.lastInterval);
    }

    /// @dev Reverts MissingSignature (empty) or InvalidSignature (malformed, or signed by
    /// someone else: a forged signature, or terms other than the ones signed).
    function _checkSignature(bytes32 digest, address party, bytes calldata signature)
        internal
        pure
    {
        if (signature.length == 0) revert MissingSignature(party);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != party) {
            revert InvalidSignature(party, signer);
        }
    }

    function _checkCosigned(
        bytes32 digest,
        StoredContract storage c,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) internal view {
        _checkSignature(digest, c.seller, sellerSignature);
        _checkSignature(digest, c.buyer, buyerSignature);
    }

    function _store(StoredContract storage c, ContractTerms calldata terms, bytes32 digest)
        internal
    {
        c.seller = terms.seller;
        c.templateId = terms.templateId;
        c.status = ContractStatus.Active;
        c.toleranceBps = terms.toleranceBps;
        c.buyer = terms.buyer;
        c.firstPeriodId = terms.firstPeriodId;
        c.firstInterval = terms.firstInterval;
        c.lastInterval = terms.lastInterval;
        c.blockIntervals = terms.blockIntervals;
        c.periods = uint16(terms.scheduleWh.length / _blocks(c)); // <= MAX_PERIODS
        c.priceFenPerMwh = terms.priceFenPerMwh.toUint96();
        c.renewalNoticeDays = terms.renewalNoticeDays;
        c.expiresAt = terms.expiresAt;
        c.registeredAt = uint64(block.timestamp);
        c.documentHash = terms.documentHash;
        c.termsDigest = digest;
    }

    function _emitRegistered(uint256 contractNo, StoredContract storage c) internal {
        emit ContractRegistered(
            contractNo,
            c.templateId,
            c.seller,
            c.buyer,
            c.documentHash,
            c.termsDigest,
            c.firstPeriodId,
            c.periods,
            _untradedWh(contractNo, c.periods * _blocks(c)),
            c.priceFenPerMwh,
            msg.sender
        );
    }
}
