// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {TypedDataDomain} from "./TypedDataDomain.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";

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

    /// @dev A result as stored: 128 bits, two trades (ids 2k and 2k + 1) per slot of
    /// `_results[k]`, the even id in the low half. In a half: executedWh bits 0..47,
    /// curtailedWh 48..95, reasonCode 96..111, the interned signer id 112..127 (ids from 1,
    /// so a half is recorded iff its signer id is not 0). Both energies are <= the trade's
    /// energy, a uint48 (checked at submission); the period is the trade's (checked too)
    /// and is read from the market.
    uint256 private constant _HALF = 128;
    uint256 private constant _MASK48 = (1 << 48) - 1;

    ISettlementMarket private immutable _market;

    mapping(uint256 pair => uint256 word) private _results;
    mapping(uint64 period => uint64 opensAt) private _opensAt;
    mapping(uint16 signerId => address) private _signers;
    mapping(address signer => uint16) private _signerIds;
    uint16 private _signerCount;

    /// @param access_ The suite's access root.
    /// @param market_ The trading market whose trades the results are of.
    constructor(IMarketAccess access_, ISettlementMarket market_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger DispatchResults", "1")
    {
        _market = market_;
    }

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
    function resultOf(uint256 tradeId) external view returns (StoredResult memory out) {
        uint256 half = _half(tradeId);
        uint16 signerId = uint16(half >> 112);
        if (signerId == 0) return out;
        out = StoredResult({
            recorded: true,
            period: _market.settlementTrade(tradeId).periodId,
            executedWh: uint64(half & _MASK48),
            curtailedWh: uint64((half >> 48) & _MASK48),
            reasonCode: uint16(half >> 96),
            signer: _signers[signerId]
        });
    }

    /// @inheritdoc IDispatchResults
    function executionOf(uint256 tradeId) external view returns (Execution memory) {
        uint256 half = _half(tradeId);
        return Execution({
            recorded: uint16(half >> 112) != 0,
            executedWh: uint64(half & _MASK48),
            curtailedWh: uint64((half >> 48) & _MASK48),
            reasonCode: uint16(half >> 96)
        });
    }

    /// @inheritdoc IDispatchResults
    function market() external view returns (address) {
        return address(_market);
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

    /// @dev ResultAlreadyRecorded, SettlementAlreadyOpen, then against the trade (UnknownTrade
    /// from the market): TradeNotOpen, DispatchPeriodMismatch, DispatchExceedsTrade.
    function _checkOpen(DispatchResult calldata result) private view {
        uint256 tradeId = result.tradeId;
        if (_half(tradeId) >> 112 != 0) revert ResultAlreadyRecorded(tradeId);
        uint64 opensAt = _opensAt[result.period];
        if (opensAt != 0 && block.timestamp >= opensAt) {
            revert SettlementAlreadyOpen(result.period, opensAt);
        }
        (ITradingMarket.TradeStatus status, uint32 periodId, uint64 energyWh) =
            _market.dispatchTerms(tradeId);
        if (
            status != ITradingMarket.TradeStatus.Formed
                && status != ITradingMarket.TradeStatus.Dispatched
        ) revert TradeNotOpen(tradeId, uint8(status));
        if (result.period != periodId) {
            revert DispatchPeriodMismatch(tradeId, result.period, periodId);
        }
        if (uint256(result.executedWh) + result.curtailedWh > energyWh) {
            revert DispatchExceedsTrade(
                tradeId, result.executedWh, result.curtailedWh, energyWh
            );
        }
    }

    function _write(DispatchResult calldata result, address signer, uint16 signerId) private {
        uint256 tradeId = result.tradeId;
        // energies fit 48 bits: their sum is <= the trade's energy, a uint48 (_checkOpen)
        uint256 half = uint256(result.executedWh) | uint256(result.curtailedWh) << 48
            | uint256(result.reasonCode) << 96 | uint256(signerId) << 112;
        _results[tradeId >> 1] |= half << (_HALF * (tradeId & 1));
        emit DispatchResultRecorded(
            tradeId,
            result.period,
            result.executedWh,
            result.curtailedWh,
            result.reasonCode,
            signer
        );
    }

    /// @dev The stored half of `tradeId` (0 if it has no result).
    function _half(uint256 tradeId) private view returns (uint256) {
        return (_results[tradeId >> 1] >> (_HALF * (tradeId & 1))) & type(uint128).max;
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
