// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {IRetailParticipants} from "./IRetailParticipants.sol";

/// @title IRetailPackages
/// @notice Retail packages (零售套餐) and the binding of a consumer to a retailer.
///
/// Publication. An Active retailer publishes a package: the keccak hash of its canonical
/// JSON (`ledger.retail.packages.package_hash`; the JSON itself is kept off chain by the
/// retailer's node and handed to consumers, who check it against this hash), the consumer
/// class it is offered to, its pricing kind, whether it is a two-part tariff, a headline
/// price and its validity window [validFrom, validTo) in unix seconds. The retailer may
/// withdraw it; bindings made before keep it.
///
/// Binding. A consumer binds itself to one retailer for a window through the retail
/// agency contract both registered in BilateralContracts (template kind `retail-agency`,
/// Active, not expired, seller = the retailer, buyer = the consumer) and to one of that
/// retailer's offered packages for the consumer's class whose window covers the binding's.
/// The binding records the consumer's billing account terms (class, contracted capacity,
/// demand basis, power-factor standard; no personal data). Switching: a consumer has one
/// binding in force at a time; a new binding (with any retailer) is refused while the
/// current one is in force, i.e. until its window has ended or its agency contract has
/// ended (terminated, completed or expired).
interface IRetailPackages is IRetailParticipants {
    /// @notice Consumer classes (ledger.retail ConsumerClass, in this order).
    enum ConsumerClass {
        Residential,
        Commercial,
        Industrial,
        LargeIndustry
    }

    /// @notice How a package prices energy.
    enum PricingKind {
        Fixed,
        TimeOfUse,
        Tiered
    }

    /// @notice What the basic charge of a two-part tariff is billed on.
    enum DemandBasis {
        Capacity,
        MaxDemand
    }

    /// @notice A published package as read back. `withdrawnAt` = 0 while offered.
    struct Package {
        uint256 id;
        address retailer;
        bytes32 packageHash;
        ConsumerClass consumerClass;
        PricingKind pricingKind;
        bool twoPart;
        uint64 validFrom;
        uint64 validTo;
        uint256 headlinePriceFenPerMwh;
        uint64 publishedAt;
        uint64 withdrawnAt;
    }

    /// @notice What a retailer submits to publish a package.
    struct PackageOffer {
        bytes32 packageHash;
        ConsumerClass consumerClass;
        PricingKind pricingKind;
        bool twoPart;
        uint64 validFrom;
        uint64 validTo;
        uint256 headlinePriceFenPerMwh;
    }

    /// @notice A consumer's billing account terms (ledger.retail ConsumerAccount).
    /// `pfStandardMilli` is 900, 850 or 800 (the power-factor standard) or 0 (none).
    struct AccountTerms {
        ConsumerClass consumerClass;
        uint32 contractedCapacityKva;
        DemandBasis demandBasis;
        uint16 pfStandardMilli;
    }

    /// @notice A consumer's binding to a retailer's package for [validFrom, validTo);
    /// `previousBindingId` is the consumer's binding before it (0 = none: its history).
    struct Binding {
        uint256 id;
        address consumer;
        address retailer;
        uint256 packageId;
        uint256 contractNo;
        uint64 validFrom;
        uint64 validTo;
        AccountTerms terms;
        uint64 boundAt;
        uint256 previousBindingId;
    }

    /// @notice `retailer` published package `packageId`.
    event PackagePublished(
        uint256 indexed packageId,
        address indexed retailer,
        bytes32 indexed packageHash,
        ConsumerClass consumerClass,
        PricingKind pricingKind,
        bool twoPart,
        uint64 validFrom,
        uint64 validTo,
        uint256 headlinePriceFenPerMwh
    );
    /// @notice `retailer` withdrew package `packageId`.
    event PackageWithdrawn(uint256 indexed packageId, address indexed retailer);
    /// @notice `consumer` bound itself to `retailer`'s package through agency contract
    /// `contractNo` with its account terms (flat: `consumerClass` ... `pfStandardMilli`);
    /// `previousBindingId` is the binding it replaced (0 = none).
    event ConsumerBound(
        uint256 indexed bindingId,
        address indexed consumer,
        address indexed retailer,
        uint256 packageId,
        uint256 contractNo,
        uint64 validFrom,
        uint64 validTo,
        ConsumerClass consumerClass,
        uint32 contractedCapacityKva,
        DemandBasis demandBasis,
        uint16 pfStandardMilli,
        uint256 previousBindingId
    );

    /// @notice A window must end after it starts and after now.
    error InvalidWindow(uint64 validFrom, uint64 validTo);
    /// @notice A package hash must not be zero.
    error ZeroPackageHash();
    /// @notice The package hash is already published as `packageId`.
    error PackageAlreadyPublished(bytes32 packageHash, uint256 packageId);
    /// @notice No package `packageId` is published.
    error UnknownPackage(uint256 packageId);
    /// @notice `caller` is not the retailer of package `packageId`.
    error NotPackageRetailer(uint256 packageId, address retailer, address caller);
    /// @notice Package `packageId` was withdrawn at `withdrawnAt`.
    error PackageNotOffered(uint256 packageId, uint64 withdrawnAt);
    /// @notice The package is offered to `packageClass`, the account is `accountClass`.
    error ClassMismatch(uint256 packageId, ConsumerClass packageClass, ConsumerClass accountClass);
    /// @notice The binding window [bindFrom, bindTo) is not inside the package's window.
    error OutsidePackageWindow(
        uint256 packageId, uint64 validFrom, uint64 validTo, uint64 bindFrom, uint64 bindTo
    );
    /// @notice Bad account terms (a power-factor standard not 0/800/850/900, or a two-part
    /// tariff with no contracted capacity).
    error InvalidAccountTerms(uint32 contractedCapacityKva, uint16 pfStandardMilli);
    /// @notice Contract `contractNo` is not a retail agency contract (template `templateId`).
    error NotAnAgencyContract(uint256 contractNo, uint32 templateId);
    /// @notice The agency contract's parties are `seller` (retailer) and `buyer` (consumer).
    error AgencyPartiesMismatch(uint256 contractNo, address seller, address buyer);
    /// @notice The agency contract is not active.
    error AgencyNotActive(uint256 contractNo, IBilateralContracts.ContractStatus status);
    /// @notice The agency contract expired at `expiresAt`, before the binding's end.
    error AgencyExpires(uint256 contractNo, uint64 expiresAt, uint64 bindTo);
    /// @notice `consumer`'s binding `bindingId` to `retailer` (agency `contractNo`) is in
    /// force until `validTo`: it must end (or its agency contract end) before a new one.
    error BindingInForce(
        address consumer, uint256 bindingId, address retailer, uint256 contractNo, uint64 validTo
    );
    /// @notice No binding `bindingId`.
    error UnknownBinding(uint256 bindingId);

    /// @notice Publish a package (an Active retailer); returns its id (1, 2, ...).
    function publish(PackageOffer calldata offer) external returns (uint256 packageId);
    /// @notice Withdraw an offered package (its retailer).
    function withdraw(uint256 packageId) external;
    /// @notice Bind the caller (an Active consumer) to `packageId` through agency contract
    /// `contractNo` for [validFrom, validTo); returns the binding id (1, 2, ...).
    function bind(
        uint256 packageId,
        uint256 contractNo,
        uint64 validFrom,
        uint64 validTo,
        AccountTerms calldata terms
    ) external returns (uint256 bindingId);

    /// @notice The bilateral contracts the agency contracts are read from.
    function bilateralContracts() external view returns (IBilateralContracts);
    /// @notice Number of packages published (ids are 1..count).
    function packageCount() external view returns (uint256);
    /// @notice Package `packageId`.
    function packageOf(uint256 packageId) external view returns (Package memory);
    /// @notice The id of the package published with `packageHash` (0 = none).
    function packageIdOf(bytes32 packageHash) external view returns (uint256);
    /// @notice Number of bindings made (ids are 1..count).
    function bindingCount() external view returns (uint256);
    /// @notice Binding `bindingId`.
    function bindingOf(uint256 bindingId) external view returns (Binding memory);
    /// @notice `consumer`'s latest binding id (0 = never bound).
    function currentBindingId(address consumer) external view returns (uint256);
    /// @notice Whether binding `bindingId` is in force now (window open, agency active).
    function inForce(uint256 bindingId) external view returns (bool);
}
