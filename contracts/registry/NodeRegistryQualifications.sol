// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Roles} from "../access/Roles.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {NodeRegistryRecords} from "./NodeRegistryRecords.sol";
import {PagedSets} from "./PagedSets.sol";

/// @title NodeRegistryQualifications
/// @notice The registry's qualifications (licences): a node submits one, the VERIFIER
/// approves or rejects it, the OPERATOR sets which licence types each node kind requires.
/// @dev No state of its own (the layout is NodeRegistryStorage's).
abstract contract NodeRegistryQualifications is NodeRegistryRecords {
    using PagedSets for PagedSets.Bytes32Set;

    /// @inheritdoc INodeRegistry
    function submitQualification(bytes32 licenceType, bytes32 numberHash, uint64 expiresAt)
        external
    {
        if (licenceType == bytes32(0) || numberHash == bytes32(0)) revert ZeroHash();
        if (expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt, uint64(block.timestamp));
        Node storage n = _enrolled(msg.sender);
        Qualification storage q = _quals[msg.sender][licenceType];
        if (!q.submitted) {
            q.submitted = true;
            _qualTypes[msg.sender].push(licenceType);
        }
        q.pending = true;
        q.pendingNumberHash = numberHash;
        q.pendingExpiresAt = expiresAt;
        bytes32 key = _qualKey(msg.sender, licenceType);
        if (_pendingQuals.add(key)) _qualKeys[key] = QualKey(msg.sender, licenceType);
        n.lastActiveAt = uint40(block.timestamp);
        emit QualificationSubmitted(msg.sender, licenceType, numberHash, expiresAt);
    }

    /// @inheritdoc INodeRegistry
    function approveQualification(address node, bytes32 licenceType)
        external
        onlyRole(Roles.VERIFIER)
    {
        Qualification storage q = _pendingQual(node, licenceType);
        Node storage n = _enrolled(node);
        q.numberHash = q.pendingNumberHash;
        q.expiresAt = q.pendingExpiresAt;
        q.epoch = n.epoch;
        _clearPendingQual(q, node, licenceType);
        if (!q.recorded) {
            q.recorded = true;
            _qualRecords.push(QualKey(node, licenceType));
        }
        emit QualificationApproved(node, licenceType, q.numberHash, q.expiresAt, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function rejectQualification(address node, bytes32 licenceType, bytes32 reasonCode)
        external
        onlyRole(Roles.VERIFIER)
    {
        Qualification storage q = _pendingQual(node, licenceType);
        _clearPendingQual(q, node, licenceType);
        emit QualificationRejected(node, licenceType, reasonCode, msg.sender);
    }

    /// @inheritdoc INodeRegistry
    function setRequiredQualification(NodeKind kind, bytes32 licenceType, bool required)
        external
        onlyRole(Roles.OPERATOR)
    {
        if (licenceType == bytes32(0)) revert ZeroHash();
        bytes32[] storage list = _required[kind];
        uint256 len = list.length;
        for (uint256 i = 0; i < len; ++i) {
            if (list[i] == licenceType) {
                if (!required) {
                    list[i] = list[len - 1];
                    list.pop();
                    if (len == 1) _setLicenceKind(kind, false);
                    emit RequiredQualificationSet(kind, licenceType, false, msg.sender);
                }
                return;
            }
        }
        if (!required) return;
        if (len >= MAX_REQUIRED_QUALIFICATIONS) {
            revert TooManyRequiredQualifications(kind, MAX_REQUIRED_QUALIFICATIONS);
        }
        list.push(licenceType);
        if (len == 0) _setLicenceKind(kind, true);
        emit RequiredQualificationSet(kind, licenceType, true, msg.sender);
    }

    /// @dev Mark in every bond-table entry whether `kind` requires licences (see _bondTable).
    function _setLicenceKind(NodeKind kind, bool required) private {
        uint256 bit = 1 << (240 + uint8(kind));
        for (uint256 i = 0; i < CREDIT_LEVELS; ++i) {
            _bondTable[i] = required ? _bondTable[i] | bit : _bondTable[i] & ~bit;
        }
    }

    function _pendingQual(address node, bytes32 licenceType)
        private
        view
        returns (Qualification storage q)
    {
        q = _quals[node][licenceType];
        if (!q.pending) revert QualificationNotPending(node, licenceType);
    }

    function _clearPendingQual(Qualification storage q, address node, bytes32 licenceType)
        private
    {
        q.pending = false;
        q.pendingNumberHash = bytes32(0);
        q.pendingExpiresAt = 0;
        bytes32 key = _qualKey(node, licenceType);
        _pendingQuals.remove(key);
        delete _qualKeys[key];
    }

    function _qualKey(address node, bytes32 licenceType) private pure returns (bytes32) {
        return keccak256(abi.encode(node, licenceType));
    }
}
