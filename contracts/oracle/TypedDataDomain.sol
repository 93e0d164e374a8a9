// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TypedDataDomain
/// @notice Minimal EIP-712 domain (name, version, chainId, verifyingContract) with the
/// separator cached and rebuilt after a chain fork, as OpenZeppelin's EIP712 does.
/// @dev OpenZeppelin 5.7's EIP712 imports MessageHashUtils -> Strings -> Bytes, whose
/// `mcopy` does not compile for the suite's evmVersion paris; this keeps the same digest
/// (keccak256("\x19\x01" || domainSeparator || structHash)) without that import chain.
abstract contract TypedDataDomain {
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    bytes32 private immutable _hashedName;
    bytes32 private immutable _hashedVersion;
    bytes32 private immutable _cachedSeparator;
    uint256 private immutable _cachedChainId;
    address private immutable _cachedThis;

    constructor(string memory name, string memory version) {
        _hashedName = keccak256(bytes(name));
        _hashedVersion = keccak256(bytes(version));
        _cachedChainId = block.chainid;
        _cachedThis = address(this);
        _cachedSeparator = _buildSeparator();
    }

    /// @notice The EIP-712 domain separator of this contract on this chain.
    function domainSeparator() public view returns (bytes32) {
        if (address(this) == _cachedThis && block.chainid == _cachedChainId) {
            return _cachedSeparator;
        }
        return _buildSeparator();
    }

    function _hashTypedData(bytes32 structHash) internal view returns (bytes32 digest) {
        bytes32 separator = domainSeparator();
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, hex"1901")
            mstore(add(ptr, 0x02), separator)
            mstore(add(ptr, 0x22), structHash)
            digest := keccak256(ptr, 0x42)
        }
    }

    function _buildSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                _DOMAIN_TYPEHASH, _hashedName, _hashedVersion, block.chainid, address(this)
            )
        );
    }
}
