// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title ISettlementToken
/// @notice The market's money: an ERC-20 for CNY with 2 decimals (1 unit = 1 fen). The
/// clearing bank mints it against off-chain deposits and burns it against off-chain
/// withdrawals; every movement of money in the suite is a transfer of this token.
/// @dev Burning needs the holder's ERC-20 allowance to the burning bank account, so a
/// withdrawal is: holder `approve(bank, amount)`, bank pays out off chain and calls `burn`.
/// Each bank reference is single-use across mints and burns, so a replayed bank
/// instruction reverts instead of moving money twice.
interface ISettlementToken is IERC20Metadata {
    /// @notice The clearing bank credited `to` with `amountFen` against an off-chain deposit.
    /// @param to The credited account.
    /// @param amountFen The amount minted, in fen.
    /// @param bankRef The bank's reference of the deposit (single use).
    /// @param bank The CLEARING_BANK account that minted.
    event Minted(address indexed to, uint256 amountFen, bytes32 indexed bankRef, address bank);

    /// @notice The clearing bank debited `from` by `amountFen` against an off-chain withdrawal.
    /// @param from The debited account.
    /// @param amountFen The amount burned, in fen.
    /// @param bankRef The bank's reference of the withdrawal (single use).
    /// @param bank The CLEARING_BANK account that burned.
    event Burned(address indexed from, uint256 amountFen, bytes32 indexed bankRef, address bank);

    /// @notice An address argument was the zero address.
    error ZeroAddress();
    /// @notice An amount was zero.
    error ZeroAmount();
    /// @notice The bank reference was zero.
    error ZeroBankRef();
    /// @notice The bank reference was already used by an earlier mint or burn.
    /// @param bankRef The reused reference.
    error BankRefUsed(bytes32 bankRef);

    /// @notice Mint `amountFen` to `to` against an off-chain deposit. CLEARING_BANK only.
    /// @param to The account credited (not zero).
    /// @param amountFen The amount in fen (not zero).
    /// @param bankRef The bank's unique reference of the deposit (not zero, single use).
    function mint(address to, uint256 amountFen, bytes32 bankRef) external;

    /// @notice Burn `amountFen` from `from` against an off-chain withdrawal. CLEARING_BANK
    /// only; spends `from`'s allowance to the caller (ERC20InsufficientAllowance otherwise).
    /// @param from The account debited (not zero).
    /// @param amountFen The amount in fen (not zero).
    /// @param bankRef The bank's unique reference of the withdrawal (not zero, single use).
    function burn(address from, uint256 amountFen, bytes32 bankRef) external;

    /// @notice Whether `bankRef` was used by a mint or burn.
    function bankRefUsed(bytes32 bankRef) external view returns (bool);
}
