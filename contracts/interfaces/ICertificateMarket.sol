// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {INodeRegistry} from "./INodeRegistry.sol";

/// @title ICertificateMarket
/// @notice One-way listing of green certificates (mechanism 7): only the generator that a
/// certificate was issued to posts it (its address is in the token id), at a price in fen
/// per certificate (= per MWh); only obligated parties (Retailer, Consumer, GridCompany)
/// take. Posting moves the certificates into this contract's custody (the poster first
/// `setApprovalForAll`s it), so a listing is always backed; a take is an atomic swap:
/// `amount x priceFenPerCertificate` in the settlement token goes straight from the taker
/// to the seller (SafeERC20, the taker's allowance) and the certificates to the taker. No
/// money escrow is needed. Cancel or expiry returns the untaken certificates.
interface ICertificateMarket {
    enum ListingStatus {
        None,
        Open,
        Filled,
        Cancelled,
        Expired
    }

    struct Listing {
        uint256 id;
        address seller;
        uint256 tokenId;
        ListingStatus status;
        uint64 postedAt;
        uint64 expiresAt;
        uint256 amount;
        uint256 remaining;
        uint256 priceFenPerCertificate;
    }

    event CertificateListingPosted(
        uint256 indexed listingId,
        address indexed seller,
        uint256 indexed tokenId,
        uint256 amount,
        uint256 priceFenPerCertificate,
        uint64 expiresAt
    );
    event CertificatesTaken(
        uint256 indexed listingId,
        address indexed buyer,
        uint256 indexed tokenId,
        address seller,
        uint256 amount,
        uint256 priceFenPerCertificate,
        uint256 costFen,
        uint256 remaining
    );
    event CertificateListingClosed(
        uint256 indexed listingId, ListingStatus status, uint256 returned, address by
    );

    error ZeroAmount();
    error ZeroPrice();
    error ZeroAddress();
    /// @notice Only the generator a certificate was issued to may list it.
    error NotIssuer(uint256 tokenId, address caller);
    error InvalidExpiry(uint64 expiresAt, uint64 nowS);
    error CertificateListingUnknown(uint256 listingId);
    error CertificateListingNotOpen(uint256 listingId, ListingStatus status);
    error NotCertificateSeller(uint256 listingId, address caller);
    error CertificateListingExpired(uint256 listingId, uint64 expiresAt, uint64 nowS);
    error CertificateListingNotExpired(uint256 listingId, uint64 expiresAt, uint64 nowS);
    error CertificateTakeExceedsRemaining(uint256 listingId, uint256 amount, uint256 remaining);
    error CertificatePriceAboveLimit(uint256 listingId, uint256 priceFenPerCertificate, uint256 limit);
    /// @notice Only obligated parties take (one-way listing).
    error NotObligatedParty(address taker, INodeRegistry.NodeKind kind);
    error UnknownTaker(address taker);
    /// @notice Certificates reach this contract only through `post`.
    error UnsolicitedTransfer(address operator);

    /// @notice List `amount` of `tokenId` at `priceFenPerCertificate` until `expiresAt`
    /// (0 = no expiry). @return listingId From 1.
    function post(uint256 tokenId, uint256 amount, uint256 priceFenPerCertificate, uint64 expiresAt)
        external
        returns (uint256 listingId);

    /// @notice Buy `amount` of a listing; `maxPriceFenPerCertificate` 0 = no limit.
    function take(uint256 listingId, uint256 amount, uint256 maxPriceFenPerCertificate)
        external
        returns (uint256 costFen);

    function cancel(uint256 listingId) external;
    function expire(uint256 listingId) external;

    function certificate() external view returns (address);
    function settlementToken() external view returns (address);
    function listingCount() external view returns (uint256);
    function listing(uint256 listingId) external view returns (Listing memory);
    function openListingCount() external view returns (uint256);
    function openListings(uint256 offset, uint256 limit) external view returns (Listing[] memory);
}
