// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {TypedDataDomain} from "./TypedDataDomain.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {IMeterOracle} from "../interfaces/IMeterOracle.sol";
import {INodeStatus} from "../interfaces/INodeStatus.sol";

/// @title MeterOracle
/// @notice Meter registry and Merkle anchor of signed smart-meter readings (see IMeterOracle).
contract MeterOracle is IMeterOracle, MarketAccessed, TypedDataDomain {
    /// @notice EIP-712 type hash of MeterReading.
    bytes32 public constant METER_READING_TYPEHASH = keccak256(
        "MeterReading(bytes32 meterId,uint64 intervalStart,uint32 intervalSeconds,"
        "uint64 importWh,uint64 exportWh,uint64 reactiveVarh,uint64 importRegisterWh,"
        "uint64 exportRegisterWh,uint64 sequence,uint16 powerFactorMilli,uint32 voltageL1Dv,"
        "uint32 voltageL2Dv,uint32 voltageL3Dv,uint64 currentL1Ma,uint64 currentL2Ma,"
        "uint64 currentL3Ma)"
    );

    /// @notice What `registerMeter` installs: a three-phase meter of 10 kV nominal.
    uint8 public constant DEFAULT_PHASES = 3;
    uint32 public constant DEFAULT_NOMINAL_VOLTAGE_DV = 100_000;

    struct StoredTotal {
        bool recorded;
        uint64 importWh;
        uint64 exportWh;
    }

    INodeStatus private _nodeStatus;
    mapping(bytes32 meterId => Meter) private _meters;
    mapping(bytes32 meterId => MeterLife) private _lives;
    bytes32[] private _meterIds;
    mapping(uint64 batchId => Batch) private _batches;
    uint64 private _nextBatchId = 1;
    mapping(uint64 period => PeriodRecord) private _periods;
    mapping(address node => mapping(uint64 period => StoredTotal)) private _totals;

    /// @param access_ The suite's access root.
    /// @param nodeStatus_ The node registry asked at registration (0 = none).
    constructor(IMarketAccess access_, INodeStatus nodeStatus_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger MeterOracle", "1")
    {
        _nodeStatus = nodeStatus_;
        emit NodeStatusSourceSet(address(nodeStatus_));
    }

    /// @inheritdoc IMeterOracle
    function registerMeter(bytes32 meterId, address node, address signer, uint64 capacityW)
        external
        onlyRole(Roles.OPERATOR)
    {
        _install(
            Installation({
                meterId: meterId,
                node: node,
                signer: signer,
                capacityW: capacityW,
                phases: DEFAULT_PHASES,
                nominalVoltageDv: DEFAULT_NOMINAL_VOLTAGE_DV,
                importRegisterWh: 0,
                exportRegisterWh: 0
            })
        );
    }

    /// @inheritdoc IMeterOracle
    function installMeter(Installation calldata installation) external onlyRole(Roles.OPERATOR) {
        _install(installation);
    }

    /// @inheritdoc IMeterOracle
    function recordCalibration(
        bytes32 meterId,
        bytes32 certificateHash,
        uint64 calibratedAt,
        uint64 nextDueAt
    ) external onlyRole(Roles.VERIFIER) {
        MeterLife storage life = _inService(meterId);
        if (certificateHash == bytes32(0) || calibratedAt == 0 || nextDueAt <= calibratedAt) {
            revert InvalidCalibration(meterId, certificateHash, calibratedAt, nextDueAt);
        }
        life.certificateHash = certificateHash;
        life.calibratedAt = calibratedAt;
        life.calibrationDueAt = nextDueAt;
        emit MeterCalibrated(meterId, certificateHash, calibratedAt, nextDueAt);
    }

    /// @inheritdoc IMeterOracle
    function retireMeter(
        bytes32 meterId,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 retiredAt
    ) external onlyRole(Roles.OPERATOR) {
        _retire(meterId, finalImportRegisterWh, finalExportRegisterWh, retiredAt);
    }

    /// @inheritdoc IMeterOracle
    function replaceMeter(
        bytes32 oldMeterId,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 retiredAt,
        Installation calldata next
    ) external onlyRole(Roles.OPERATOR) {
        address node = _retire(oldMeterId, finalImportRegisterWh, finalExportRegisterWh, retiredAt);
        if (next.node != node) revert ReplacementNodeMismatch(oldMeterId, node, next.node);
        _install(next);
        _lives[oldMeterId].replacedBy = next.meterId;
        _lives[next.meterId].replaces = oldMeterId;
        emit MeterReplaced(oldMeterId, next.meterId, node);
    }

    /// @inheritdoc IMeterOracle
    function revokeMeter(bytes32 meterId) external onlyRole(Roles.OPERATOR) {
        Meter storage meter = _meters[meterId];
        if (meter.signer == address(0)) revert UnknownMeter(meterId);
        if (meter.revokedAt != 0) revert MeterAlreadyRevoked(meterId, meter.revokedAt);
        meter.revokedAt = uint64(block.timestamp);
        emit MeterRevoked(meterId, meter.node, uint64(block.timestamp));
    }

    /// @inheritdoc IMeterOracle
    function setNodeStatusSource(address source) external onlyRole(Roles.OPERATOR) {
        _nodeStatus = INodeStatus(source);
        emit NodeStatusSourceSet(source);
    }

    /// @inheritdoc IMeterOracle
    function anchorBatch(
        uint64 batchId,
        bytes32 root,
        uint32 readingCount,
        uint64 firstIntervalStart
    ) external onlyRole(Roles.METER_ORACLE) {
        uint64 expected = _nextBatchId;
        if (batchId != expected) revert UnexpectedBatchId(batchId, expected);
        if (root == bytes32(0) || readingCount == 0) revert EmptyBatch(batchId);
        _nextBatchId = expected + 1;
        _batches[batchId] = Batch({
            root: root,
            readingCount: readingCount,
            firstIntervalStart: firstIntervalStart,
            anchoredAt: uint64(block.timestamp)
        });
        emit BatchAnchored(batchId, root, readingCount, firstIntervalStart);
    }

    /// @inheritdoc IMeterOracle
    function postPeriod(uint64 period, bytes32 totalsRoot, uint32 nodeCount, uint32 readingCount)
        external
        onlyRole(Roles.METER_ORACLE)
    {
        if (_periods[period].totalsRoot != bytes32(0)) revert PeriodAlreadyPosted(period);
        if (totalsRoot == bytes32(0) || nodeCount == 0) revert EmptyPeriod(period);
        _periods[period] = PeriodRecord({
            totalsRoot: totalsRoot,
            nodeCount: nodeCount,
            readingCount: readingCount,
            postedAt: uint64(block.timestamp)
        });
        emit PeriodPosted(period, totalsRoot, nodeCount, readingCount);
    }

    /// @inheritdoc IMeterOracle
    function submitNodeTotal(NodeTotal calldata total, bytes32[] calldata proof) external {
        bytes32 root = _periods[total.period].totalsRoot;
        if (root == bytes32(0)) revert PeriodNotPosted(total.period);
        if (!MerkleProof.verifyCalldata(proof, root, _nodeTotalLeaf(total))) {
            revert InvalidNodeTotalProof(total.node, total.period);
        }
        StoredTotal storage stored = _totals[total.node][total.period];
        if (stored.recorded) revert NodeTotalAlreadyRecorded(total.node, total.period);
        stored.recorded = true;
        stored.importWh = total.importWh;
        stored.exportWh = total.exportWh;
        emit NodeTotalRecorded(
            total.node,
            total.period,
            total.importWh,
            total.exportWh,
            total.readingCount,
            total.readingsRoot
        );
    }

    /// @inheritdoc IMeterOracle
    function meterOf(bytes32 meterId) external view returns (Meter memory) {
        return _meters[meterId];
    }

    /// @inheritdoc IMeterOracle
    function meterLifeOf(bytes32 meterId) external view returns (MeterLife memory) {
        return _lives[meterId];
    }

    /// @inheritdoc IMeterOracle
    function meterIds(uint256 offset, uint256 limit) external view returns (bytes32[] memory ids) {
        uint256 total = _meterIds.length;
        if (offset >= total) return new bytes32[](0);
        uint256 end = offset + limit > total ? total : offset + limit;
        ids = new bytes32[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            ids[i - offset] = _meterIds[i];
        }
    }

    /// @inheritdoc IMeterOracle
    function meterCount() external view returns (uint256) {
        return _meterIds.length;
    }

    /// @inheritdoc IMeterOracle
    function batchOf(uint64 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IMeterOracle
    function nextBatchId() external view returns (uint64) {
        return _nextBatchId;
    }

    /// @inheritdoc IMeterOracle
    function periodOf(uint64 period) external view returns (PeriodRecord memory) {
        return _periods[period];
    }

    /// @inheritdoc IMeterOracle
    function meteredEnergyOf(address node, uint64 period)
        external
        view
        returns (bool recorded, uint64 importWh, uint64 exportWh, int256 netWh)
    {
        StoredTotal storage stored = _totals[node][period];
        recorded = stored.recorded;
        importWh = stored.importWh;
        exportWh = stored.exportWh;
        netWh = int256(uint256(importWh)) - int256(uint256(exportWh));
    }

    /// @notice The node registry asked at registration (0 = none).
    function nodeStatusSource() external view returns (address) {
        return address(_nodeStatus);
    }

    /// @inheritdoc IMeterOracle
    function readingStructHash(MeterReading calldata reading) public pure returns (bytes32) {
        return keccak256(abi.encode(METER_READING_TYPEHASH, reading));
    }

    /// @inheritdoc IMeterOracle
    function readingDigest(MeterReading calldata reading) public view returns (bytes32) {
        return _hashTypedData(readingStructHash(reading));
    }

    /// @inheritdoc IMeterOracle
    function readingLeaf(MeterReading calldata reading, bytes calldata signature)
        public
        pure
        returns (bytes32)
    {
        return keccak256(
            bytes.concat(keccak256(abi.encode(readingStructHash(reading), keccak256(signature))))
        );
    }

    /// @inheritdoc IMeterOracle
    function nodeTotalLeaf(NodeTotal calldata total) external pure returns (bytes32) {
        return _nodeTotalLeaf(total);
    }

    /// @inheritdoc IMeterOracle
    function verifyReading(
        MeterReading calldata reading,
        bytes calldata signature,
        uint64 batchId,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Meter storage meter = _meters[reading.meterId];
        if (meter.signer == address(0)) return false;
        Batch storage batch = _batches[batchId];
        if (batch.root == bytes32(0)) return false;
        if (meter.revokedAt != 0 && batch.anchoredAt >= meter.revokedAt) return false;
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(readingDigest(reading), signature);
        if (err != ECDSA.RecoverError.NoError || recovered != meter.signer) return false;
        return MerkleProof.verifyCalldata(proof, batch.root, readingLeaf(reading, signature));
    }

    /// @inheritdoc IMeterOracle
    function verifyNodeTotal(NodeTotal calldata total, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _periods[total.period].totalsRoot;
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, _nodeTotalLeaf(total));
    }

    function _install(Installation memory m) private {
        bytes32 meterId = m.meterId;
        if (meterId == bytes32(0)) revert ZeroMeterId();
        if (m.node == address(0) || m.signer == address(0)) revert ZeroAddress();
        if (_meters[meterId].signer != address(0)) revert MeterAlreadyRegistered(meterId);
        if (m.phases != 1 && m.phases != 3) revert InvalidPhases(meterId, m.phases);
        if (m.nominalVoltageDv == 0) revert InvalidNominalVoltage(meterId, m.nominalVoltageDv);
        uint64 capacityW = m.capacityW;
        INodeStatus source = _nodeStatus;
        if (address(source) != address(0)) {
            if (!source.isActive(m.node)) revert NodeNotActive(m.node);
            if (capacityW == 0) capacityW = source.capacityKwOf(m.node) * 1000;
        }
        if (capacityW == 0) revert UnknownCapacity(m.node);
        _meters[meterId] = Meter({
            node: m.node,
            signer: m.signer,
            capacityW: capacityW,
            registeredAt: uint64(block.timestamp),
            revokedAt: 0
        });
        MeterLife storage life = _lives[meterId];
        life.phases = m.phases;
        life.nominalVoltageDv = m.nominalVoltageDv;
        life.initialImportRegisterWh = m.importRegisterWh;
        life.initialExportRegisterWh = m.exportRegisterWh;
        _meterIds.push(meterId);
        emit MeterRegistered(meterId, m.node, m.signer, capacityW);
        emit MeterInstalled(
            meterId,
            m.node,
            m.signer,
            capacityW,
            m.phases,
            m.nominalVoltageDv,
            m.importRegisterWh,
            m.exportRegisterWh
        );
    }

    /// @return node The retired meter's node.
    function _retire(bytes32 meterId, uint64 finalImport, uint64 finalExport, uint64 retiredAt)
        private
        returns (address node)
    {
        MeterLife storage life = _inService(meterId);
        if (finalImport < life.initialImportRegisterWh || finalExport < life.initialExportRegisterWh)
        {
            revert FinalRegisterBelowInitial(
                meterId,
                finalImport,
                finalExport,
                life.initialImportRegisterWh,
                life.initialExportRegisterWh
            );
        }
        if (retiredAt == 0) retiredAt = uint64(block.timestamp);
        life.finalImportRegisterWh = finalImport;
        life.finalExportRegisterWh = finalExport;
        life.retiredAt = retiredAt;
        node = _meters[meterId].node;
        emit MeterRetired(meterId, node, finalImport, finalExport, retiredAt);
    }

    /// @dev The life of a registered meter not yet retired, or revert.
    function _inService(bytes32 meterId) private view returns (MeterLife storage life) {
        if (_meters[meterId].signer == address(0)) revert UnknownMeter(meterId);
        life = _lives[meterId];
        if (life.retiredAt != 0) revert MeterIsRetired(meterId, life.retiredAt);
    }

    function _nodeTotalLeaf(NodeTotal calldata total) private pure returns (bytes32) {
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
