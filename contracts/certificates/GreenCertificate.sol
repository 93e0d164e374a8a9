// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IGenerationSource} from "../interfaces/IGenerationSource.sol";
import {IGreenCertificate} from "../interfaces/IGreenCertificate.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ERC1155Paris} from "./ERC1155Paris.sol";

/// @title GreenCertificate
/// @notice Green certificates as ERC-1155 tokens, issued from verified renewable generation
/// (see IGreenCertificate for the token id, the issuance rule and conservation).
contract GreenCertificate is IGreenCertificate, ERC1155Paris, MarketAccessed, ReentrancyGuard {
    /// @notice Wh per certificate.
    uint256 public constant WH_PER_CERTIFICATE = 1_000_000;

    /// @dev One slot, written whole by `issue` (_storeIssuance). The carries are < 1e6 Wh;
    /// amount <= (2^64 + 1e6) / 1e6 < 2^45.
    struct StoredIssuance {
        bool issued;
        uint8 typeId;
        uint64 generationWh;
        uint32 carriedInWh;
        uint32 carriedOutWh;
        uint40 issuedAt;
        uint64 amount;
    }

    /// @dev One slot per generator.
    struct Generator {
        uint64 carryWh;
        uint192 processedWh;
    }

    /// @dev One slot per token id, written by the first burn of the id (a mint writes
    /// none: the issued amount is the issuance record's, the supply is derived).
    struct TokenTotals {
        uint128 retired;
        uint128 revoked;
    }

    /// @dev One slot: the suite-wide totals and the retirement counter.
    struct Totals {
        uint96 issued;
        uint96 retired;
        uint64 retirementCount;
    }

    IGenerationSource private immutable _source;

    mapping(address generator => mapping(uint64 period => StoredIssuance)) private _issuances;
    mapping(address generator => Generator) private _generators;
    mapping(uint256 tokenId => TokenTotals) private _tokenTotals;
    Totals private _totals;
    uint256 private _totalRevoked;

    constructor(IMarketAccess access_, IGenerationSource source_, string memory uri_)
        ERC1155Paris(uri_)
        MarketAccessed(access_)
    {
        if (address(access_) == address(0) || address(source_) == address(0)) {
            revert ZeroAddress();
        }
        _source = source_;
    }

    // ================================================================ issuance

    /// @inheritdoc IGreenCertificate
    function issue(address generator, uint64 period)
        external
        nonReentrant
        returns (uint256 tokenId, uint256 amount)
    {
        if (generator == address(0)) revert ZeroAddress();
        StoredIssuance storage iss = _issuances[generator][period];
        if (iss.issued) revert AlreadyIssued(generator, period);
        (bool known, INodeRegistry.NodeKind kind, bool recorded, uint64 generationWh) =
            _source.issuanceInputsOf(generator, period);
        if (!known) revert UnknownNode(generator);
        uint8 typeId = renewableTypeOf(kind);
        if (typeId == 0) revert NotRenewable(generator, kind);
        if (!recorded) revert GenerationNotVerified(generator, period);

        (uint64 carriedIn, uint64 carriedOut) = _carry(generator, generationWh);
        amount = (uint256(carriedIn) + generationWh) / WH_PER_CERTIFICATE;
        tokenId = _tokenId(typeId, generator, period);
        _storeIssuance(iss, typeId, generationWh, carriedIn, carriedOut, amount);
        emit CertificatesIssued(
            tokenId, generator, period, typeId, amount, generationWh, carriedIn, carriedOut
        );
        if (amount != 0) {
            _addIssued(amount);
            _mint(generator, tokenId, amount, "");
        }
    }

    // ================================================================ MARKET_CONTRACT

    /// @inheritdoc IGreenCertificate
    function retireFrom(
        address holder,
        uint256 tokenId,
        uint256 amount,
        address beneficiary,
        uint64 period,
        uint256 tradeId
    ) external onlyRole(Roles.MARKET_CONTRACT) returns (uint256 retirementId) {
        if (holder == address(0) || beneficiary == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        _burn(holder, tokenId, amount);
        _tokenTotals[tokenId].retired += uint128(amount); // amount <= a balance < 2^45
        Totals memory totals_ = _totals;
        totals_.retired += uint96(amount);
        retirementId = ++totals_.retirementCount;
        _totals = totals_;
        // The record of the retirement is its CertificatesRetired event (no storage).
        emit CertificatesRetired(
            retirementId, tokenId, beneficiary, holder, amount, period, tradeId, msg.sender
        );
    }

    // ================================================================ VERIFIER

    /// @inheritdoc IGreenCertificate
    function revoke(address holder, uint256 tokenId, uint256 amount, bytes32 reason)
        external
        onlyRole(Roles.VERIFIER)
    {
        if (holder == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (reason == bytes32(0)) revert ZeroReason();
        _burn(holder, tokenId, amount);
        _tokenTotals[tokenId].revoked += uint128(amount); // amount <= a balance < 2^45
        _totalRevoked += amount;
        emit CertificatesRevoked(tokenId, holder, amount, reason, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc IGreenCertificate
    function tokenIdOf(uint8 typeId, address generator, uint64 vintage)
        external
        pure
        returns (uint256)
    {
        return _tokenId(typeId, generator, vintage);
    }

    /// @inheritdoc IGreenCertificate
    function decodeTokenId(uint256 tokenId)
        external
        pure
        returns (uint8 typeId, address generator, uint64 vintage)
    {
        typeId = uint8(tokenId >> 248);
        generator = address(uint160(tokenId >> 64));
        vintage = uint64(tokenId);
    }

    /// @inheritdoc IGreenCertificate
    function renewableTypeOf(INodeRegistry.NodeKind kind) public pure returns (uint8) {
        if (
            kind == INodeRegistry.NodeKind.Wind || kind == INodeRegistry.NodeKind.Solar
                || kind == INodeRegistry.NodeKind.Hydro || kind == INodeRegistry.NodeKind.Biomass
        ) return uint8(kind);
        return 0;
    }

    /// @inheritdoc IGreenCertificate
    function generationSource() external view returns (IGenerationSource) {
        return _source;
    }

    /// @inheritdoc IGreenCertificate
    function issuanceOf(address generator, uint64 period)
        external
        view
        returns (Issuance memory out)
    {
        StoredIssuance storage s = _issuances[generator][period];
        if (!s.issued) return out;
        out = Issuance({
            issued: true,
            tokenId: _tokenId(s.typeId, generator, period),
            amount: s.amount,
            generationWh: s.generationWh,
            carriedInWh: s.carriedInWh,
            carriedOutWh: s.carriedOutWh,
            issuedAt: s.issuedAt
        });
    }

    /// @inheritdoc IGreenCertificate
    function carryWhOf(address generator) external view returns (uint64) {
        return _generators[generator].carryWh;
    }

    /// @inheritdoc IGreenCertificate
    function processedWhOf(address generator) external view returns (uint256) {
        return _generators[generator].processedWh;
    }

    /// @inheritdoc IGreenCertificate
    function totalSupply(uint256 tokenId)
        public
        view
        override(ERC1155Paris, IGreenCertificate)
        returns (uint256)
    {
        // Mints come only from issue, burns only from retireFrom and revoke.
        TokenTotals memory t = _tokenTotals[tokenId];
        return _issuedOf(tokenId) - t.retired - t.revoked;
    }

    /// @notice Certificates of every id in circulation: issued - retired - revoked.
    function totalSupplyAll() public view override returns (uint256) {
        Totals memory t = _totals;
        return uint256(t.issued) - t.retired - _totalRevoked;
    }

    /// @inheritdoc IGreenCertificate
    function issuedOf(uint256 tokenId) external view returns (uint256) {
        return _issuedOf(tokenId);
    }

    function _issuedOf(uint256 tokenId) private view returns (uint256) {
        // A token id is one (type, generator, vintage) and each (generator, period) is
        // issued once, so the issued amount of a token id is that issuance's amount.
        address generator = address(uint160(tokenId >> 64));
        StoredIssuance storage s = _issuances[generator][uint64(tokenId)];
        if (!s.issued || _tokenId(s.typeId, generator, uint64(tokenId)) != tokenId) return 0;
        return s.amount;
    }

    /// @inheritdoc IGreenCertificate
    function retiredOf(uint256 tokenId) external view returns (uint256) {
        return _tokenTotals[tokenId].retired;
    }

    /// @inheritdoc IGreenCertificate
    function revokedOf(uint256 tokenId) external view returns (uint256) {
        return _tokenTotals[tokenId].revoked;
    }

    /// @inheritdoc IGreenCertificate
    function totals()
        external
        view
        returns (uint256 issued, uint256 held, uint256 retired, uint256 revoked)
    {
        Totals memory t = _totals;
        return (t.issued, totalSupplyAll(), t.retired, _totalRevoked);
    }

    /// @inheritdoc IGreenCertificate
    function retirementCount() external view returns (uint256) {
        return _totals.retirementCount;
    }

    /// @dev Add `generationWh` to the generator's processed total and move its carry:
    /// returns the carry in and the carry out (both < 1e6).
    function _carry(address generator, uint64 generationWh)
        private
        returns (uint64 carriedIn, uint64 carriedOut)
    {
        Generator memory gen = _generators[generator];
        carriedIn = gen.carryWh;
        carriedOut = uint64((uint256(carriedIn) + generationWh) % WH_PER_CERTIFICATE);
        _generators[generator] =
            Generator({carryWh: carriedOut, processedWh: gen.processedWh + generationWh});
    }

    /// @dev `_totals.issued += amount` (checked in uint96, as before) with one read and
    /// one write of the totals slot (`issued` is its low 96 bits).
    function _addIssued(uint256 amount) private {
        Totals storage t = _totals;
        uint256 word;
        assembly ("memory-safe") {
            word := sload(t.slot)
        }
        uint96 issued = uint96(word) + SafeCast.toUint96(amount);
        assembly ("memory-safe") {
            sstore(t.slot, or(and(word, not(0xffffffffffffffffffffffff)), issued))
        }
    }

    /// @dev Write a fresh issuance record as one word (the StoredIssuance layout: issued
    /// bit 0, typeId bits 8.., generationWh 16.., carriedInWh 80.., carriedOutWh 112..,
    /// issuedAt 144.., amount 184..), instead of one read-modify-write per field.
    function _storeIssuance(
        StoredIssuance storage iss,
        uint8 typeId,
        uint64 generationWh,
        uint64 carriedIn,
        uint64 carriedOut,
        uint256 amount
    ) private {
        // carriedIn and carriedOut are < 1e6 (uint32); the amount is SafeCast to uint64.
        uint256 word = 1 | (uint256(typeId) << 8) | (uint256(generationWh) << 16)
            | (uint256(uint32(carriedIn)) << 80) | (uint256(uint32(carriedOut)) << 112)
            | (uint256(uint40(block.timestamp)) << 144)
            | (uint256(SafeCast.toUint64(amount)) << 184);
        assembly ("memory-safe") {
            sstore(iss.slot, word)
        }
    }

    function _tokenId(uint8 typeId, address generator, uint64 vintage)
        private
        pure
        returns (uint256)
    {
        return (uint256(typeId) << 248) | (uint256(uint160(generator)) << 64) | uint256(vintage);
    }
}
