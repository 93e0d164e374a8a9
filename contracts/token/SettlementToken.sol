// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {ISettlementToken} from "../interfaces/ISettlementToken.sol";

/// @title SettlementToken
/// @notice "GridLedger CNY" (CNY), 2 decimals: the suite's settlement money (see
/// ISettlementToken). It has no payable function and no fallback, so it holds no ether.
contract SettlementToken is ISettlementToken, ERC20, MarketAccessed {
    mapping(bytes32 bankRef => bool used) private _bankRefUsed;

    /// @param access_ The suite's access root (CLEARING_BANK is checked there).
    constructor(IMarketAccess access_) ERC20("GridLedger CNY", "CNY") MarketAccessed(access_) {}

    /// @notice 2: one token unit is one fen.
    function decimals() public pure override(ERC20, IERC20Metadata) returns (uint8) {
        return 2;
    }

    /// @inheritdoc ISettlementToken
    function mint(address to, uint256 amountFen, bytes32 bankRef)
        external
        onlyRole(Roles.CLEARING_BANK)
    {
        if (to == address(0)) revert ZeroAddress();
        _useBankRef(amountFen, bankRef);
        _mint(to, amountFen);
        emit Minted(to, amountFen, bankRef, msg.sender);
    }

    /// @inheritdoc ISettlementToken
    function burn(address from, uint256 amountFen, bytes32 bankRef)
        external
        onlyRole(Roles.CLEARING_BANK)
    {
        if (from == address(0)) revert ZeroAddress();
        _useBankRef(amountFen, bankRef);
        _spendAllowance(from, msg.sender, amountFen);
        _burn(from, amountFen);
        emit Burned(from, amountFen, bankRef, msg.sender);
    }

    /// @inheritdoc ISettlementToken
    function bankRefUsed(bytes32 bankRef) external view returns (bool) {
        return _bankRefUsed[bankRef];
    }

    function _useBankRef(uint256 amountFen, bytes32 bankRef) private {
        if (amountFen == 0) revert ZeroAmount();
        if (bankRef == bytes32(0)) revert ZeroBankRef();
        if (_bankRefUsed[bankRef]) revert BankRefUsed(bankRef);
        _bankRefUsed[bankRef] = true;
    }
}
