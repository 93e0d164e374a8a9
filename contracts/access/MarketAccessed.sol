// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IMarketAccess} from "../interfaces/IMarketAccess.sol";

/// @title MarketAccessed
/// @notice Base of every suite contract whose functions are restricted to a role held in
/// the suite's MarketAccess root.
abstract contract MarketAccessed {
    IMarketAccess private immutable _access;

    /// @param access_ The suite's access root.
    constructor(IMarketAccess access_) {
        _access = access_;
    }

    /// @dev Reverts with AccessControlUnauthorizedAccount(msg.sender, role) unless the
    /// caller holds `role`.
    modifier onlyRole(bytes32 role) {
        _checkRole(role, msg.sender);
        _;
    }

    /// @notice The access root this contract asks.
    function marketAccess() public view returns (IMarketAccess) {
        return _access;
    }

    function _hasRole(bytes32 role, address account) internal view returns (bool) {
        return _access.hasRole(role, account);
    }

    function _checkRole(bytes32 role, address account) internal view {
        if (!_access.hasRole(role, account)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
        }
    }
}
