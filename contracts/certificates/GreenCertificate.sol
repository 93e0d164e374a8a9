// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

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

    /// @dev Packed: one slot for the flags and Wh figures, one for the amount.
    struct StoredIssuance {
        bool issued;
        uint8 typeId;
        uint64 generationWh;
        uint64 carriedInWh;
        uint64 carriedOutWh;
        uint40 issuedAt;
        uint256 amount;
    }

    /// @dev Packed retirement (the id is the key; tradeId stays zero for plain claims).
    struct StoredRetirement {
        uint256 tokenId;
        address holder;
        uint64 period;
        address beneficiary;
        uint64 retiredAt;
        uint256 amount;
        uint256 tradeId;
    }

    IGenerationSource private immutable _source;

    mapping(address generator => mapping(uint64 period => StoredIssuance)) private _issuances;
    mapping(address generator => uint64) private _carryWh;
    mapping(address generator => uint256) private _processedWh;

    mapping(uint256 tokenId => uint256) private _issued;
    mapping(uint256 tokenId => uint256) private _retired;
    mapping(uint256 tokenId => uint256) private _revoked;
    uint256 private _totalIssued;
    uint256 private _totalRetired;
    uint256 private _totalRevoked;
    uint256[] private _tokenIds;

    mapping(uint256 retirementId => StoredRetirement) private _retirements;
    uint256 private _retirementCount;
    mapping(address beneficiary => uint256[]) private _retirementsOf;

    /// @param access_ The access root (on an auxiliary chain: that chain's own MarketAccess).
    /// @param source_ Verified generation, node kinds (OracleGenerationSource or
    /// RelayedGeneration).
    /// @param uri_ The ERC-1155 metadata URI (may be empty).
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
        (bool known, INodeRegistry.NodeKind kind) = _source.nodeKindOf(generator);
        if (!known) revert UnknownNode(generator);
        uint8 typeId = renewableTypeOf(kind);
        if (typeId == 0) revert NotRenewable(generator, kind);
        (bool recorded, uint64 generationWh) = _source.verifiedGenerationWh(generator, period);
        if (!recorded) revert GenerationNotVerified(generator, period);

        uint64 carriedIn = _carryWh[generator];
        uint256 total = uint256(carriedIn) + generationWh;
        amount = total / WH_PER_CERTIFICATE;
        uint64 carriedOut = uint64(total % WH_PER_CERTIFICATE);
        tokenId = _tokenId(typeId, generator, period);

        _issuances[generator][period] = StoredIssuance({
            issued: true,
            typeId: typeId,
            generationWh: generationWh,
            carriedInWh: carriedIn,
            carriedOutWh: carriedOut,
            issuedAt: uint40(block.timestamp),
            amount: amount
        });
        _carryWh[generator] = carriedOut;
        _processedWh[generator] += generationWh;
        emit CertificatesIssued(
            tokenId, generator, period, typeId, amount, generationWh, carriedIn, carriedOut
        );
        if (amount != 0) {
            if (_issued[tokenId] == 0) _tokenIds.push(tokenId);
            _issued[tokenId] += amount;
            _totalIssued += amount;
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
        _retired[tokenId] += amount;
        _totalRetired += amount;
        retirementId = ++_retirementCount;
        _retirements[retirementId] = StoredRetirement({
            tokenId: tokenId,
            holder: holder,
            period: period,
            beneficiary: beneficiary,
            retiredAt: uint64(block.timestamp),
            amount: amount,
            tradeId: tradeId
        });
        _retirementsOf[beneficiary].push(retirementId);
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
        _revoked[tokenId] += amount;
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
        return _carryWh[generator];
    }

    /// @inheritdoc IGreenCertificate
    function processedWhOf(address generator) external view returns (uint256) {
        return _processedWh[generator];
    }

    /// @inheritdoc IGreenCertificate
    function totalSupply(uint256 tokenId)
        public
        view
        override(ERC1155Paris, IGreenCertificate)
        returns (uint256)
    {
        return ERC1155Paris.totalSupply(tokenId);
    }

    /// @inheritdoc IGreenCertificate
    function issuedOf(uint256 tokenId) external view returns (uint256) {
        return _issued[tokenId];
    }

    /// @inheritdoc IGreenCertificate
    function retiredOf(uint256 tokenId) external view returns (uint256) {
        return _retired[tokenId];
    }

    /// @inheritdoc IGreenCertificate
    function revokedOf(uint256 tokenId) external view returns (uint256) {
        return _revoked[tokenId];
    }

    /// @inheritdoc IGreenCertificate
    function totals()
        external
        view
        returns (uint256 issued, uint256 held, uint256 retired, uint256 revoked)
    {
        return (_totalIssued, totalSupplyAll(), _totalRetired, _totalRevoked);
    }

    /// @inheritdoc IGreenCertificate
    function tokenCount() external view returns (uint256) {
        return _tokenIds.length;
    }

    /// @inheritdoc IGreenCertificate
    function tokenIds(uint256 offset, uint256 limit) external view returns (uint256[] memory out) {
        uint256 end = _pageEnd(offset, limit, _tokenIds.length);
        out = new uint256[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            out[i - offset] = _tokenIds[i];
        }
    }

    /// @inheritdoc IGreenCertificate
    function retirementCount() external view returns (uint256) {
        return _retirementCount;
    }

    /// @inheritdoc IGreenCertificate
    function retirement(uint256 retirementId) external view returns (Retirement memory) {
        if (retirementId == 0 || retirementId > _retirementCount) {
            revert UnknownRetirement(retirementId);
        }
        return _retirementView(retirementId);
    }

    /// @inheritdoc IGreenCertificate
    function retirementCountOf(address beneficiary) external view returns (uint256) {
        return _retirementsOf[beneficiary].length;
    }

    /// @inheritdoc IGreenCertificate
    function retirementsOf(address beneficiary, uint256 offset, uint256 limit)
        external
        view
        returns (Retirement[] memory out)
    {
        uint256[] storage ids = _retirementsOf[beneficiary];
        uint256 end = _pageEnd(offset, limit, ids.length);
        out = new Retirement[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            out[i - offset] = _retirementView(ids[i]);
        }
    }

    function _retirementView(uint256 id) private view returns (Retirement memory) {
        StoredRetirement storage r = _retirements[id];
        return Retirement({
            id: id,
            tokenId: r.tokenId,
            holder: r.holder,
            beneficiary: r.beneficiary,
            amount: r.amount,
            period: r.period,
            tradeId: r.tradeId,
            retiredAt: r.retiredAt
        });
    }

    function _tokenId(uint8 typeId, address generator, uint64 vintage)
        private
        pure
        returns (uint256)
    {
        return (uint256(typeId) << 248) | (uint256(uint160(generator)) << 64) | uint256(vintage);
    }

    function _pageEnd(uint256 offset, uint256 limit, uint256 len) private pure returns (uint256) {
        if (offset >= len) return offset;
        uint256 remaining = len - offset;
        return offset + (limit < remaining ? limit : remaining);
    }
}
