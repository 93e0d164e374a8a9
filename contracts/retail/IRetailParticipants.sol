// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IRetailParticipants
/// @notice Errors shared by the retail contracts (RetailPackages, RetailBills): who may act
/// as a retailer or a retail consumer, read from the node registry.
interface IRetailParticipants {
    /// @notice A constructor address was zero.
    error ZeroAddress();
    /// @notice `node` is not an Active node of kind Retailer (its registry `kind`, `status`).
    error NotAnActiveRetailer(address node, uint8 kind, uint8 status);
    /// @notice `node` is not an Active node of kind Consumer (its registry `kind`, `status`).
    error NotAnActiveConsumer(address node, uint8 kind, uint8 status);
}
