// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice The few forge cheatcodes the invariant tests use (no forge-std: it is not on a
/// package registry at a current version, and these are all we need).
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest)
        external
        pure
        returns (uint8 v, bytes32 r, bytes32 s);
    function label(address account, string calldata newLabel) external;
}

/// @notice The cheatcode address and a revert helper shared by the test and its handler.
abstract contract CheatCodes {
    Vm internal constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Bubble `data` up unless it is one of the `allowed` custom errors.
    function _allowOnly(bytes memory data, bytes4[] memory allowed) internal pure {
        bytes4 selector = data.length >= 4 ? bytes4(data) : bytes4(0);
        for (uint256 i = 0; i < allowed.length; ++i) {
            if (selector == allowed[i]) return;
        }
        assembly ("memory-safe") {
            revert(add(data, 0x20), mload(data))
        }
    }
}
