// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IGenerationSource} from "../interfaces/IGenerationSource.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {IMeterOracle} from "../interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRelayedGeneration} from "../interfaces/IRelayedGeneration.sol";

/// @title RelayedGeneration
/// @notice The generation source of an auxiliary certificate chain (see IRelayedGeneration).
contract RelayedGeneration is IRelayedGeneration, MarketAccessed {
    struct StoredTotal {
        bool recorded;
        uint64 importWh;
        uint64 exportWh;
    }

    struct KnownKind {
        bool known;
        INodeRegistry.NodeKind kind;
    }

    struct RelayedTrade {
        bool relayed;
        address seller;
        address buyer;
        uint64 period;
        uint256 executedWh;
    }

    mapping(uint64 period => bytes32) private _roots;
    mapping(address node => mapping(uint64 period => StoredTotal)) private _totals;
    mapping(address node => KnownKind) private _kinds;
    mapping(uint256 tradeId => RelayedTrade) private _trades;

    /// @param access_ The auxiliary chain's own access root.
    constructor(IMarketAccess access_) MarketAccessed(access_) {
        if (address(access_) == address(0)) revert ZeroValue();
    }

    /// @inheritdoc IRelayedGeneration
    function relayPeriodRoot(uint64 period, bytes32 totalsRoot)
        external
        onlyRole(Roles.METER_ORACLE)
    {
        if (totalsRoot == bytes32(0)) revert ZeroValue();
        if (_roots[period] != bytes32(0)) revert PeriodRootAlreadyRelayed(period);
        _roots[period] = totalsRoot;
        emit PeriodRootRelayed(period, totalsRoot, msg.sender);
    }

    /// @inheritdoc IRelayedGeneration
    function submitNodeTotal(IMeterOracle.NodeTotal calldata total, bytes32[] calldata proof)
        external
    {
        bytes32 root = _roots[total.period];
        if (root == bytes32(0)) revert PeriodRootNotRelayed(total.period);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(total))) {
            revert InvalidNodeTotalProof(total.node, total.period);
        }
        StoredTotal storage stored = _totals[total.node][total.period];
        if (stored.recorded) revert NodeTotalAlreadyRecorded(total.node, total.period);
        stored.recorded = true;
        stored.importWh = total.importWh;
        stored.exportWh = total.exportWh;
        emit NodeTotalRelayed(total.node, total.period, total.importWh, total.exportWh);
    }

    /// @inheritdoc IRelayedGeneration
    function relayNodeKind(address node, INodeRegistry.NodeKind kind)
        external
        onlyRole(Roles.VERIFIER)
    {
        if (node == address(0)) revert ZeroValue();
        _kinds[node] = KnownKind({known: true, kind: kind});
        emit NodeKindRelayed(node, kind, msg.sender);
    }

    /// @inheritdoc IRelayedGeneration
    function relayTrade(
        uint256 tradeId,
        address seller,
        address buyer,
        uint64 period,
        uint256 executedWh
    ) external onlyRole(Roles.METER_ORACLE) {
        if (tradeId == 0 || seller == address(0) || buyer == address(0)) revert ZeroValue();
        RelayedTrade storage t = _trades[tradeId];
        if (t.relayed) revert TradeAlreadyRelayed(tradeId);
        _trades[tradeId] = RelayedTrade(true, seller, buyer, period, executedWh);
        emit TradeRelayed(tradeId, seller, buyer, period, executedWh, msg.sender);
    }

    /// @inheritdoc IGenerationSource
    function verifiedGenerationWh(address generator, uint64 period)
        external
        view
        returns (bool recorded, uint64 exportWh)
    {
        StoredTotal storage s = _totals[generator][period];
        return (s.recorded, s.exportWh);
    }

    /// @inheritdoc IGenerationSource
    function issuanceInputsOf(address generator, uint64 period)
        external
        view
        returns (bool known, INodeRegistry.NodeKind kind, bool recorded, uint64 exportWh)
    {
        KnownKind storage k = _kinds[generator];
        StoredTotal storage s = _totals[generator][period];
        return (k.known, k.kind, s.recorded, s.exportWh);
    }

    /// @inheritdoc IGenerationSource
    function verifiedConsumptionWh(address party, uint64 period)
        external
        view
        returns (bool recorded, uint64 importWh)
    {
        StoredTotal storage s = _totals[party][period];
        return (s.recorded, s.importWh);
    }

    /// @inheritdoc IGenerationSource
    function nodeKindOf(address node) external view returns (bool known, INodeRegistry.NodeKind kind) {
        KnownKind storage k = _kinds[node];
        return (k.known, k.kind);
    }

    /// @inheritdoc IGenerationSource
    function settledTrade(uint256 tradeId)
        external
        view
        returns (bool settled, address seller, address buyer, uint64 period, uint256 executedWh)
    {
        RelayedTrade storage t = _trades[tradeId];
        return (t.relayed, t.seller, t.buyer, t.period, t.executedWh);
    }

    /// @inheritdoc IRelayedGeneration
    function periodRootOf(uint64 period) external view returns (bytes32) {
        return _roots[period];
    }

    /// @inheritdoc IRelayedGeneration
    function nodeTotalLeaf(IMeterOracle.NodeTotal calldata total) external pure returns (bytes32) {
        return _leaf(total);
    }

    function _leaf(IMeterOracle.NodeTotal calldata total) private pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                keccak256(
                    abi.encode(
                        total.node,
                        total.period,
                        total.importWh,
                        total.exportWh,
                        total.readingCount,
                        total.readingsRoot
                    )
                )
            )
        );
    }
}
