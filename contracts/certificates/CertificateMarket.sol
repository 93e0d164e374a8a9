// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {ICertificateMarket} from "../interfaces/ICertificateMarket.sol";
import {IGenerationSource} from "../interfaces/IGenerationSource.sol";
import {IGreenCertificate} from "../interfaces/IGreenCertificate.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {PagedSets} from "../registry/PagedSets.sol";

/// @title CertificateMarket
/// @notice One-way listing of green certificates (see ICertificateMarket).
/// @dev TradingMarket's listing and escrow code is specific to energy (periods, delivery
/// windows, routes, transmission fees, seller bond exposure, a prepaid money escrow held
/// until settlement) and private to that contract, so nothing of it can be inherited
/// without restructuring it. A certificate sale needs none of that: it is an atomic swap,
/// so the certificates are held in custody while listed and the money moves straight from
/// taker to seller at take. The open set reuses the suite's PagedSets.
contract CertificateMarket is ICertificateMarket, IERC1155Receiver, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using PagedSets for PagedSets.Bytes32Set;

    IGreenCertificate private immutable _cert;
    IGenerationSource private immutable _source;
    IERC20 private immutable _token;

    uint256 private _listingCount;
    mapping(uint256 listingId => Listing) private _listings;
    PagedSets.Bytes32Set private _open;
    bool private _receiving;

    /// @param cert_ The green certificate token.
    /// @param source_ Node kinds (only obligated parties take).
    /// @param token_ The settlement token prices are paid in.
    constructor(IGreenCertificate cert_, IGenerationSource source_, IERC20 token_) {
        if (
            address(cert_) == address(0) || address(source_) == address(0)
                || address(token_) == address(0)
        ) revert ZeroAddress();
        _cert = cert_;
        _source = source_;
        _token = token_;
    }

    /// @inheritdoc ICertificateMarket
    function post(
        uint256 tokenId,
        uint256 amount,
        uint256 priceFenPerCertificate,
        uint64 expiresAt
    ) external nonReentrant returns (uint256 listingId) {
        if (amount == 0) revert ZeroAmount();
        if (priceFenPerCertificate == 0) revert ZeroPrice();
        if (address(uint160(tokenId >> 64)) != msg.sender) revert NotIssuer(tokenId, msg.sender);
        uint64 nowS = uint64(block.timestamp);
        if (expiresAt != 0 && expiresAt <= nowS) revert InvalidExpiry(expiresAt, nowS);
        listingId = ++_listingCount;
        _listings[listingId] = Listing({
            id: listingId,
            seller: msg.sender,
            tokenId: tokenId,
            status: ListingStatus.Open,
            postedAt: nowS,
            expiresAt: expiresAt,
            amount: amount,
            remaining: amount,
            priceFenPerCertificate: priceFenPerCertificate
        });
        _open.add(bytes32(listingId));
        emit CertificateListingPosted(
            listingId, msg.sender, tokenId, amount, priceFenPerCertificate, expiresAt
        );
        _receiving = true;
        _cert.safeTransferFrom(msg.sender, address(this), tokenId, amount, "");
        _receiving = false;
    }

    /// @inheritdoc ICertificateMarket
    function take(uint256 listingId, uint256 amount, uint256 maxPriceFenPerCertificate)
        external
        nonReentrant
        returns (uint256 costFen)
    {
        Listing storage l = _openListing(listingId);
        uint64 nowS = uint64(block.timestamp);
        if (l.expiresAt != 0 && nowS >= l.expiresAt) {
            revert CertificateListingExpired(listingId, l.expiresAt, nowS);
        }
        if (amount == 0) revert ZeroAmount();
        if (amount > l.remaining) revert CertificateTakeExceedsRemaining(listingId, amount, l.remaining);
        uint256 price = l.priceFenPerCertificate;
        if (maxPriceFenPerCertificate != 0 && price > maxPriceFenPerCertificate) {
            revert CertificatePriceAboveLimit(listingId, price, maxPriceFenPerCertificate);
        }
        (bool known, INodeRegistry.NodeKind kind) = _source.nodeKindOf(msg.sender);
        if (!known) revert UnknownTaker(msg.sender);
        if (
            kind != INodeRegistry.NodeKind.Retailer && kind != INodeRegistry.NodeKind.Consumer
                && kind != INodeRegistry.NodeKind.GridCompany
        ) revert NotObligatedParty(msg.sender, kind);
        costFen = amount * price;
        uint256 remaining = l.remaining - amount;
        l.remaining = remaining;
        if (remaining == 0) _close(l, ListingStatus.Filled);
        emit CertificatesTaken(
            listingId, msg.sender, l.tokenId, l.seller, amount, price, costFen, remaining
        );
        _token.safeTransferFrom(msg.sender, l.seller, costFen);
        _cert.safeTransferFrom(address(this), msg.sender, l.tokenId, amount, "");
    }

    /// @inheritdoc ICertificateMarket
    function cancel(uint256 listingId) external nonReentrant {
        Listing storage l = _openListing(listingId);
        if (l.seller != msg.sender) revert NotCertificateSeller(listingId, msg.sender);
        _closeAndReturn(l, ListingStatus.Cancelled);
    }

    /// @inheritdoc ICertificateMarket
    function expire(uint256 listingId) external nonReentrant {
        Listing storage l = _openListing(listingId);
        uint64 nowS = uint64(block.timestamp);
        if (l.expiresAt == 0 || nowS < l.expiresAt) {
            revert CertificateListingNotExpired(listingId, l.expiresAt, nowS);
        }
        _closeAndReturn(l, ListingStatus.Expired);
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155Received(address operator, address, uint256, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        _checkReceiving(operator);
        return IERC1155Receiver.onERC1155Received.selector;
    }

    /// @inheritdoc IERC1155Receiver
    function onERC1155BatchReceived(
        address operator,
        address,
        uint256[] calldata,
        uint256[] calldata,
        bytes calldata
    ) external view returns (bytes4) {
        _checkReceiving(operator);
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId
            || interfaceId == type(IERC165).interfaceId;
    }

    // ================================================================ views

    /// @inheritdoc ICertificateMarket
    function certificate() external view returns (address) {
        return address(_cert);
    }

    /// @inheritdoc ICertificateMarket
    function settlementToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ICertificateMarket
    function listingCount() external view returns (uint256) {
        return _listingCount;
    }

    /// @inheritdoc ICertificateMarket
    function listing(uint256 listingId) external view returns (Listing memory) {
        return _listing(listingId);
    }

    /// @inheritdoc ICertificateMarket
    function openListingCount() external view returns (uint256) {
        return _open.length();
    }

    /// @inheritdoc ICertificateMarket
    function openListings(uint256 offset, uint256 limit)
        external
        view
        returns (Listing[] memory out)
    {
        bytes32[] memory ids = _open.page(offset, limit);
        out = new Listing[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            out[i] = _listings[uint256(ids[i])];
        }
    }

    // ================================================================ private

    function _checkReceiving(address operator) private view {
        if (operator != address(this) || !_receiving) revert UnsolicitedTransfer(operator);
    }

    function _closeAndReturn(Listing storage l, ListingStatus status) private {
        uint256 returned = l.remaining;
        l.remaining = 0;
        _close(l, status);
        emit CertificateListingClosed(l.id, status, returned, msg.sender);
        if (returned != 0) _cert.safeTransferFrom(address(this), l.seller, l.tokenId, returned, "");
    }

    function _close(Listing storage l, ListingStatus status) private {
        l.status = status;
        _open.remove(bytes32(l.id));
        if (status == ListingStatus.Filled) {
            emit CertificateListingClosed(l.id, status, 0, msg.sender);
        }
    }

    function _listing(uint256 listingId) private view returns (Listing storage l) {
        l = _listings[listingId];
        if (l.status == ListingStatus.None) revert CertificateListingUnknown(listingId);
    }

    function _openListing(uint256 listingId) private view returns (Listing storage l) {
        l = _listing(listingId);
        if (l.status != ListingStatus.Open) revert CertificateListingNotOpen(listingId, l.status);
    }
}
