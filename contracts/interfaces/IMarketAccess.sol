// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/IAccessControlDefaultAdminRules.sol";

/// @title IMarketAccess
/// @notice The access-control root of the GridLedger suite. Every other contract asks it
/// whether an account holds a role, so roles are granted and revoked in one place.
/// @dev Role administration and the two-step transfer of the default admin come from
/// OpenZeppelin's AccessControlDefaultAdminRules (events RoleGranted, RoleRevoked,
/// DefaultAdminTransferScheduled, ...; errors AccessControlUnauthorizedAccount, ...).
interface IMarketAccess is IAccessControlDefaultAdminRules {
    /// @notice Emitted once, when the suite's access root is created.
    /// @param admin The initial default admin.
    /// @param adminTransferDelay Seconds a scheduled admin transfer must wait.
    event MarketAccessCreated(address indexed admin, uint48 adminTransferDelay);

    /// @notice Reverts when an account does not hold `role`.
    /// @dev Same signature as OpenZeppelin's own error, so clients decode one error.
    /// @param account The account checked.
    /// @param role The role it needed.
    function checkRole(bytes32 role, address account) external view;

    /// @notice All role identifiers the suite uses, in a fixed order.
    /// @return roles OPERATOR, VERIFIER, REGULATOR, DISPATCH, METER_ORACLE, CREDIT_AGENCY,
    /// CLEARING_BANK, MARKET_CONTRACT.
    function marketRoles() external pure returns (bytes32[8] memory roles);
}
