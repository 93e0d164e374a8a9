// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRetailPackages} from "./IRetailPackages.sol";
import {RetailParticipants} from "./RetailParticipants.sol";

/// @title RetailPackages
/// @notice Retail packages and consumer bindings (see IRetailPackages).
/// @dev Every function is O(1): a consumer's history is a chain of bindings
/// (`previousBindingId`), walked off chain.
contract RetailPackages is IRetailPackages, RetailParticipants {
    /// @notice The template kind of a retail agency contract in BilateralContracts.
    bytes32 public constant AGENCY_KIND = keccak256("retail-agency");

    IBilateralContracts private immutable _bilateral;

    uint256 private _packageCount;
    uint256 private _bindingCount;
    mapping(uint256 packageId => Package) private _packages;
    mapping(bytes32 packageHash => uint256 packageId) private _packageIds;
    mapping(uint256 bindingId => Binding) private _bindings;
    mapping(address consumer => uint256 bindingId) private _current;

    /// @param registry_ The node registry (retailers and consumers).
    /// @param bilateral_ The bilateral contracts holding the retail agency contracts.
    constructor(INodeRegistry registry_, IBilateralContracts bilateral_)
        RetailParticipants(registry_)
    {
        if (address(bilateral_) == address(0)) revert ZeroAddress();
        _bilateral = bilateral_;
    }

    // ================================================================ RETAILER

    /// @inheritdoc IRetailPackages
    function publish(PackageOffer calldata offer) external returns (uint256 packageId) {
        _checkRetailer(msg.sender);
        if (offer.packageHash == bytes32(0)) revert ZeroPackageHash();
        if (offer.validTo <= offer.validFrom || offer.validTo <= block.timestamp) {
            revert InvalidWindow(offer.validFrom, offer.validTo);
        }
        uint256 existing = _packageIds[offer.packageHash];
        if (existing != 0) revert PackageAlreadyPublished(offer.packageHash, existing);
        packageId = ++_packageCount;
        _packageIds[offer.packageHash] = packageId;
        _packages[packageId] = Package({
            id: packageId,
            retailer: msg.sender,
            packageHash: offer.packageHash,
            consumerClass: offer.consumerClass,
            pricingKind: offer.pricingKind,
            twoPart: offer.twoPart,
            validFrom: offer.validFrom,
            validTo: offer.validTo,
            headlinePriceFenPerMwh: offer.headlinePriceFenPerMwh,
            publishedAt: uint64(block.timestamp),
            withdrawnAt: 0
        });
        emit PackagePublished(
            packageId,
            msg.sender,
            offer.packageHash,
            offer.consumerClass,
            offer.pricingKind,
            offer.twoPart,
            offer.validFrom,
            offer.validTo,
            offer.headlinePriceFenPerMwh
        );
    }

    /// @inheritdoc IRetailPackages
    function withdraw(uint256 packageId) external {
        Package storage p = _offered(packageId);
        if (p.retailer != msg.sender) revert NotPackageRetailer(packageId, p.retailer, msg.sender);
        p.withdrawnAt = uint64(block.timestamp);
        emit PackageWithdrawn(packageId, msg.sender);
    }

    // ================================================================ CONSUMER

    /// @inheritdoc IRetailPackages
    function bind(
        uint256 packageId,
        uint256 contractNo,
        uint64 validFrom,
        uint64 validTo,
        AccountTerms calldata terms
    ) external returns (uint256 bindingId) {
        _checkConsumer(msg.sender);
        if (validTo <= validFrom || validTo <= block.timestamp) {
            revert InvalidWindow(validFrom, validTo);
        }
        Package storage p = _offered(packageId);
        _checkPackageFits(p, validFrom, validTo, terms);
        _checkRetailer(p.retailer);
        _checkAgency(contractNo, p.retailer, msg.sender, validTo);
        uint256 previous = _current[msg.sender];
        if (previous != 0 && _inForce(_bindings[previous])) {
            Binding storage b = _bindings[previous];
            revert BindingInForce(msg.sender, previous, b.retailer, b.contractNo, b.validTo);
        }
        bindingId = ++_bindingCount;
        _current[msg.sender] = bindingId;
        _bindings[bindingId] = Binding({
            id: bindingId,
            consumer: msg.sender,
            retailer: p.retailer,
            packageId: packageId,
            contractNo: contractNo,
            validFrom: validFrom,
            validTo: validTo,
            terms: terms,
            boundAt: uint64(block.timestamp),
            previousBindingId: previous
        });
        emit ConsumerBound(
            bindingId,
            msg.sender,
            p.retailer,
            packageId,
            contractNo,
            validFrom,
            validTo,
            terms.consumerClass,
            terms.contractedCapacityKva,
            terms.demandBasis,
            terms.pfStandardMilli,
            previous
        );
    }

    // ================================================================ VIEWS

    /// @inheritdoc IRetailPackages
    function bilateralContracts() external view returns (IBilateralContracts) {
        return _bilateral;
    }

    /// @inheritdoc IRetailPackages
    function packageCount() external view returns (uint256) {
        return _packageCount;
    }

    /// @inheritdoc IRetailPackages
    function packageOf(uint256 packageId) external view returns (Package memory) {
        return _package(packageId);
    }

    /// @inheritdoc IRetailPackages
    function packageIdOf(bytes32 packageHash) external view returns (uint256) {
        return _packageIds[packageHash];
    }

    /// @inheritdoc IRetailPackages
    function bindingCount() external view returns (uint256) {
        return _bindingCount;
    }

    /// @inheritdoc IRetailPackages
    function bindingOf(uint256 bindingId) external view returns (Binding memory) {
        return _binding(bindingId);
    }

    /// @inheritdoc IRetailPackages
    function currentBindingId(address consumer) external view returns (uint256) {
        return _current[consumer];
    }

    /// @inheritdoc IRetailPackages
    function inForce(uint256 bindingId) external view returns (bool) {
        return _inForce(_binding(bindingId));
    }

    // ================================================================ INTERNAL

    function _package(uint256 packageId) private view returns (Package storage p) {
        p = _packages[packageId];
        if (p.id == 0) revert UnknownPackage(packageId);
    }

    function _offered(uint256 packageId) private view returns (Package storage p) {
        p = _package(packageId);
        if (p.withdrawnAt != 0) revert PackageNotOffered(packageId, p.withdrawnAt);
    }

    function _binding(uint256 bindingId) private view returns (Binding storage b) {
        b = _bindings[bindingId];
        if (b.id == 0) revert UnknownBinding(bindingId);
    }

    function _checkPackageFits(
        Package storage p,
        uint64 validFrom,
        uint64 validTo,
        AccountTerms calldata terms
    ) private view {
        if (p.consumerClass != terms.consumerClass) {
            revert ClassMismatch(p.id, p.consumerClass, terms.consumerClass);
        }
        if (validFrom < p.validFrom || validTo > p.validTo) {
            revert OutsidePackageWindow(p.id, p.validFrom, p.validTo, validFrom, validTo);
        }
        uint16 pf = terms.pfStandardMilli;
        bool pfOk = pf == 0 || pf == 800 || pf == 850 || pf == 900;
        if (!pfOk || (p.twoPart && terms.contractedCapacityKva == 0)) {
            revert InvalidAccountTerms(terms.contractedCapacityKva, pf);
        }
    }

    function _checkAgency(uint256 contractNo, address retailer, address consumer, uint64 validTo)
        private
        view
    {
        IBilateralContracts.BilateralContract memory c = _bilateral.contractOf(contractNo);
        if (keccak256(bytes(_bilateral.template(c.templateId).kind)) != AGENCY_KIND) {
            revert NotAnAgencyContract(contractNo, c.templateId);
        }
        if (c.seller != retailer || c.buyer != consumer) {
            revert AgencyPartiesMismatch(contractNo, c.seller, c.buyer);
        }
        if (c.status != IBilateralContracts.ContractStatus.Active) {
            revert AgencyNotActive(contractNo, c.status);
        }
        if (c.expiresAt != 0 && c.expiresAt < validTo) {
            revert AgencyExpires(contractNo, c.expiresAt, validTo);
        }
    }

    /// @dev In force: its window has not ended and its agency contract is still Active
    /// and not expired.
    function _inForce(Binding storage b) private view returns (bool) {
        if (block.timestamp >= b.validTo) return false;
        IBilateralContracts.BilateralContract memory c = _bilateral.contractOf(b.contractNo);
        if (c.status != IBilateralContracts.ContractStatus.Active) return false;
        return c.expiresAt == 0 || block.timestamp <= c.expiresAt;
    }
}
