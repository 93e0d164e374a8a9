// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {Roles} from "./Roles.sol";

/// @title MarketAccess
/// @notice The one role registry of the GridLedger suite (see IMarketAccess).
contract MarketAccess is IMarketAccess, AccessControlDefaultAdminRules {
    /// @param admin The initial default admin (the consortium's governance key).
    /// @param adminTransferDelay Seconds between scheduling and accepting a new admin.
    constructor(uint48 adminTransferDelay, address admin)
        AccessControlDefaultAdminRules(adminTransferDelay, admin)
    {
        emit MarketAccessCreated(admin, adminTransferDelay);
    }

    /// @inheritdoc IMarketAccess
    function checkRole(bytes32 role, address account) external view {
        _checkRole(role, account);
    }

    /// @inheritdoc IMarketAccess
    function marketRoles() external pure returns (bytes32[8] memory roles) {
        roles = [
            Roles.OPERATOR,
            Roles.VERIFIER,
            Roles.REGULATOR,
            Roles.DISPATCH,
            Roles.METER_ORACLE,
            Roles.CREDIT_AGENCY,
            Roles.CLEARING_BANK,
            Roles.MARKET_CONTRACT
        ];
    }
}
