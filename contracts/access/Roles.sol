// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Roles
/// @notice The role identifiers of the GridLedger market, shared by every contract.
/// @dev Each role is keccak256 of its name, as OpenZeppelin AccessControl expects.
library Roles {
    /// @notice The market operator: opens trading periods, sets bond tables, reclaims nodes.
    bytes32 internal constant OPERATOR = keccak256("OPERATOR");
    /// @notice Reviews registrations, qualifications and change requests.
    bytes32 internal constant VERIFIER = keccak256("VERIFIER");
    /// @notice The government regulator: tariffs, removals, bans, rulings.
    bytes32 internal constant REGULATOR = keccak256("REGULATOR");
    /// @notice The dispatch center's signer.
    bytes32 internal constant DISPATCH = keccak256("DISPATCH");
    /// @notice The meter oracle's relaying key.
    bytes32 internal constant METER_ORACLE = keccak256("METER_ORACLE");
    /// @notice The external credit agency.
    bytes32 internal constant CREDIT_AGENCY = keccak256("CREDIT_AGENCY");
    /// @notice The clearing bank that mints and burns the settlement token.
    bytes32 internal constant CLEARING_BANK = keccak256("CLEARING_BANK");
    /// @notice Contracts of the suite allowed to move bonds and escrows (settlement, supervision).
    bytes32 internal constant MARKET_CONTRACT = keccak256("MARKET_CONTRACT");
    /// @notice Trading venues (the central auction, bilateral contracts) that form trades in
    /// the common trade store (TradingMarket.formVenueTrade).
    bytes32 internal constant VENUE = keccak256("VENUE");
    /// @notice The order intake contract, which places signed orders it anchors into the
    /// central auction on the signers' behalf (CentralAuction.placeOrderFor).
    bytes32 internal constant ORDER_INTAKE = keccak256("ORDER_INTAKE");
}
