// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1155MetadataURI} from
    "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";

import {IGenerationSource} from "./IGenerationSource.sol";
import {INodeRegistry} from "./INodeRegistry.sol";

/// @title IGreenCertificate
/// @notice Green certificates (mechanism 7) as ERC-1155 tokens: 1 certificate = 1 MWh of
/// verified renewable generation.
///
/// Token id. `id = (typeId << 248) | (uint256(uint160(generator)) << 64) | vintagePeriod`:
/// bits 255..248 the renewable type (the NodeRegistry.NodeKind value: 2 Wind, 3 Solar,
/// 4 Hydro, 5 Biomass), bits 223..64 the generator's address, bits 63..0 the vintage
/// (the delivery period of the issuance). Bits 247..224 are zero.
///
/// Issuance. `issue(generator, period)` (anyone) reads the generator's verified generation
/// (`IGenerationSource.verifiedGenerationWh` = metered export) and its kind; with the
/// generator's carried remainder `carryWh`, it mints `floor((carryWh + exportWh) / 1e6)`
/// certificates of vintage `period` and carries `(carryWh + exportWh) % 1e6` Wh forward.
/// A (generator, period) is issued once. Invariant per generator:
/// `1e6 x certificatesIssued + carryWh = sum of the exportWh issued`.
///
/// Retirement (claim) burns certificates for good and records the beneficiary and the
/// compliance period; only a MARKET_CONTRACT (the QuotaLedger) retires, on the holder's
/// behalf (`QuotaLedger.retire`) or, for a clean-energy trade, from the seller for the buyer.
/// A VERIFIER revokes certificates from a holder with a reason. Conservation per token id:
/// `issuedOf(id) = totalSupply(id) + retiredOf(id) + revokedOf(id)`.
/// Lineage: CertificatesIssued, TransferSingle/TransferBatch, CertificatesRetired,
/// CertificatesRevoked (node/certificates.py rebuilds it from these events).
interface IGreenCertificate is IERC1155MetadataURI {
    /// @notice One retirement (claim).
    struct Retirement {
        uint256 id;
        uint256 tokenId;
        address holder;
        address beneficiary;
        uint256 amount;
        uint64 period;
        uint256 tradeId;
        uint64 retiredAt;
    }

    /// @notice The issuance of (generator, period).
    struct Issuance {
        bool issued;
        uint256 tokenId;
        uint256 amount;
        uint64 generationWh;
        uint64 carriedInWh;
        uint64 carriedOutWh;
        uint64 issuedAt;
    }

    /// @notice `amount` certificates of `tokenId` were issued to `generator` for `period`
    /// from `generationWh` of verified generation plus `carriedInWh`; `carriedOutWh` is the
    /// new remainder.
    event CertificatesIssued(
        uint256 indexed tokenId,
        address indexed generator,
        uint64 indexed period,
        uint8 typeId,
        uint256 amount,
        uint64 generationWh,
        uint64 carriedInWh,
        uint64 carriedOutWh
    );
    /// @notice Retirement `retirementId`: `amount` of `tokenId` held by `holder` were retired
    /// for `beneficiary` against compliance `period` (tradeId != 0: carried by that trade).
    event CertificatesRetired(
        uint256 indexed retirementId,
        uint256 indexed tokenId,
        address indexed beneficiary,
        address holder,
        uint256 amount,
        uint64 period,
        uint256 tradeId,
        address by
    );
    /// @notice A VERIFIER revoked `amount` of `tokenId` held by `holder`.
    event CertificatesRevoked(
        uint256 indexed tokenId,
        address indexed holder,
        uint256 amount,
        bytes32 reason,
        address verifier
    );

    /// @notice A zero address.
    error ZeroAddress();
    /// @notice An amount was zero.
    error ZeroAmount();
    /// @notice No verified generation of `generator` in `period` yet.
    error GenerationNotVerified(address generator, uint64 period);
    /// @notice `node` is not a renewable generator (Wind, Solar, Hydro, Biomass).
    error NotRenewable(address node, INodeRegistry.NodeKind kind);
    /// @notice `node` is not known to the generation source.
    error UnknownNode(address node);
    /// @notice (generator, period) was already issued.
    error AlreadyIssued(address generator, uint64 period);
    /// @notice No retirement with this id.
    error UnknownRetirement(uint256 retirementId);
    /// @notice A revocation needs a reason.
    error ZeroReason();

    /// @notice Issue the certificates of `generator`'s verified generation in `period`.
    /// @return tokenId The id of the certificates (also when `amount` is 0).
    /// @return amount Certificates minted to the generator.
    function issue(address generator, uint64 period)
        external
        returns (uint256 tokenId, uint256 amount);

    /// @notice Retire `amount` of `tokenId` held by `holder` for `beneficiary` against
    /// compliance `period` (MARKET_CONTRACT). @return retirementId From 1.
    function retireFrom(
        address holder,
        uint256 tokenId,
        uint256 amount,
        address beneficiary,
        uint64 period,
        uint256 tradeId
    ) external returns (uint256 retirementId);

    /// @notice Revoke `amount` of `tokenId` held by `holder` (VERIFIER, with a reason).
    function revoke(address holder, uint256 tokenId, uint256 amount, bytes32 reason) external;

    /// @notice The token id of (typeId, generator, vintage).
    function tokenIdOf(uint8 typeId, address generator, uint64 vintage)
        external
        pure
        returns (uint256);
    /// @notice The parts of a token id.
    function decodeTokenId(uint256 tokenId)
        external
        pure
        returns (uint8 typeId, address generator, uint64 vintage);
    /// @notice The renewable type id of a node kind (0 when not renewable).
    function renewableTypeOf(INodeRegistry.NodeKind kind) external pure returns (uint8);

    function generationSource() external view returns (IGenerationSource);
    function issuanceOf(address generator, uint64 period) external view returns (Issuance memory);
    /// @notice The Wh of `generator` carried to its next issuance (< 1e6).
    function carryWhOf(address generator) external view returns (uint64);
    /// @notice Every Wh of verified generation of `generator` that issuance consumed.
    function processedWhOf(address generator) external view returns (uint256);

    function totalSupply(uint256 tokenId) external view returns (uint256);
    function issuedOf(uint256 tokenId) external view returns (uint256);
    function retiredOf(uint256 tokenId) external view returns (uint256);
    function revokedOf(uint256 tokenId) external view returns (uint256);
    /// @notice Totals over every token id: issued = held + retired + revoked.
    function totals()
        external
        view
        returns (uint256 issued, uint256 held, uint256 retired, uint256 revoked);

    // Token ids with an issuance are not listed here: they are the `tokenId` of
    // the `CertificatesIssued` events with a non-zero amount (see docs/gas.md).

    function retirementCount() external view returns (uint256);
    // A retirement is not stored: its record (`Retirement`) is its `CertificatesRetired`
    // event (indexed retirementId, tokenId and beneficiary; `retiredAt` is the block's
    // timestamp). Clients and the gateway read retirements from the events (docs/gas.md).
}
