// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {TypedDataDomain} from "./TypedDataDomain.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";

/// @title DispatchResults
/// @notice Dispatch-signed execution results of trades (see IDispatchResults).
contract DispatchResults is IDispatchResults, MarketAccessed, TypedDataDomain {
    /// @notice EIP-712 type hash of DispatchResult.
    bytes32 public constant DISPATCH_RESULT_TYPEHASH = keccak256(
        "DispatchResult(uint256 tradeId,uint64 period,uint64 executedWh,uint64 curtailedWh,"
        "uint16 reasonCode)"
    );
    /// @notice EIP-712 type hash of DispatchBatch (an array of DispatchResult).
    bytes32 public constant DISPATCH_BATCH_TYPEHASH = keccak256(
        "DispatchBatch(DispatchResult[] results)DispatchResult(uint256 tradeId,uint64 period,"
        "uint64 executedWh,uint64 curtailedWh,uint16 reasonCode)"
    );

    /// @dev A result as stored: one slot; the signer is interned (ids from 1).
    struct PackedResult {
        bool recorded;
        uint64 period;
        uint64 executedWh;
        uint64 curtailedWh;
        uint16 reasonCode;
        uint16 signerId;
    }

    mapping(uint256 tradeId => PackedResult) private _results;
    mapping(uint64 period => uint64 opensAt) private _opensAt;
    mapping(uint16 signerId => address) private _signers;
    mapping(address signer => uint16) private _signerIds;
    uint16 private _signerCount;

    /// @param access_ The suite's access root.
    constructor(IMarketAccess access_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger DispatchResults", "1")
    {}

    /// @inheritdoc IDispatchResults
    function submitResults(DispatchResult[] calldata results, bytes[] calldata signatures)
        external
        onlyRole(Roles.METER_ORACLE)
    {
        if (results.length != signatures.length || results.length == 0) {
            revert LengthMismatch(results.length, signatures.length);
        }
        for (uint256 i = 0; i < results.length; ++i) {
            _record(results[i], signatures[i]);
        }
    }

    /// @inheritdoc IDispatchResults
    function submitResultBatch(DispatchResult[] calldata results, bytes calldata signature)
        external
        onlyRole(Roles.METER_ORACLE)
    {
        if (results.length == 0) revert EmptyBatch();
        uint256 first = results[0].tradeId;
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(batchDigest(results), signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidDispatchSignature(first);
        if (!_hasRole(Roles.DISPATCH, signer)) revert NotDispatchSigner(signer, first);
        uint16 signerId = _signerId(signer);
        for (uint256 i = 0; i < results.length; ++i) {
            _checkOpen(results[i]);
            _write(results[i], signer, signerId);
        }
    }

    /// @inheritdoc IDispatchResults
    function setSettlementOpensAt(uint64 period, uint64 opensAt)
        external
        onlyRole(Roles.OPERATOR)
    {
        uint64 current = _opensAt[period];
        if (current != 0 && current <= block.timestamp) {
            revert SettlementAlreadyOpen(period, current);
        }
        if (opensAt <= block.timestamp) revert OpensAtInPast(period, opensAt);
        _opensAt[period] = opensAt;
        emit SettlementScheduled(period, opensAt);
    }

    /// @inheritdoc IDispatchResults
    function settlementOpensAt(uint64 period) external view returns (uint64) {
        return _opensAt[period];
    }

    /// @inheritdoc IDispatchResults
    function resultOf(uint256 tradeId) external view returns (StoredResult memory) {
        PackedResult memory r = _results[tradeId];
        return StoredResult({
            recorded: r.recorded,
            period: r.period,
            executedWh: r.executedWh,
            curtailedWh: r.curtailedWh,
            reasonCode: r.reasonCode,
            signer: _signers[r.signerId]
        });
    }

    /// @inheritdoc IDispatchResults
    function executionOf(uint256 tradeId) external view returns (Execution memory) {
        PackedResult memory r = _results[tradeId];
        return Execution({
            recorded: r.recorded,
            period: r.period,
            executedWh: r.executedWh,
            curtailedWh: r.curtailedWh,
            reasonCode: r.reasonCode
        });
    }

    /// @inheritdoc IDispatchResults
    function resultDigest(DispatchResult calldata result) public view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(DISPATCH_RESULT_TYPEHASH, result)));
    }

    /// @inheritdoc IDispatchResults
    function batchDigest(DispatchResult[] calldata results) public view returns (bytes32) {
        uint256 n = results.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            hashes[i] = keccak256(abi.encode(DISPATCH_RESULT_TYPEHASH, results[i]));
        }
        return _hashTypedData(
            keccak256(abi.encode(DISPATCH_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))))
        );
    }

    function _record(DispatchResult calldata result, bytes calldata signature) private {
        uint256 tradeId = result.tradeId;
        _checkOpen(result);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(resultDigest(result), signature);
        if (err != ECDSA.RecoverError.NoError) revert InvalidDispatchSignature(tradeId);
        if (!_hasRole(Roles.DISPATCH, signer)) revert NotDispatchSigner(signer, tradeId);
        _write(result, signer, _signerId(signer));
    }

    /// @dev ResultAlreadyRecorded, then SettlementAlreadyOpen.
    function _checkOpen(DispatchResult calldata result) private view {
        if (_results[result.tradeId].recorded) revert ResultAlreadyRecorded(result.tradeId);
        uint64 opensAt = _opensAt[result.period];
        if (opensAt != 0 && block.timestamp >= opensAt) {
            revert SettlementAlreadyOpen(result.period, opensAt);
        }
    }

    function _write(DispatchResult calldata result, address signer, uint16 signerId) private {
        uint256 tradeId = result.tradeId;
        _results[tradeId] = PackedResult({
            recorded: true,
            period: result.period,
            executedWh: result.executedWh,
            curtailedWh: result.curtailedWh,
            reasonCode: result.reasonCode,
            signerId: signerId
        });
        emit DispatchResultRecorded(
            tradeId,
            result.period,
            result.executedWh,
            result.curtailedWh,
            result.reasonCode,
            signer
        );
    }

    function _signerId(address signer) private returns (uint16 id) {
        id = _signerIds[signer];
        if (id == 0) {
            id = ++_signerCount;
            _signerIds[signer] = id;
            _signers[id] = signer;
        }
    }
}
