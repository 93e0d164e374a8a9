// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IMeterOracle
/// @notice Smart-meter registry and the on-chain anchor of signed meter readings.
/// @dev Meters sign each 15-minute reading with their own key (EIP-712, domain
/// "GridLedger MeterOracle" version "1", bound to the chain id and this contract). The oracle
/// (METER_ORACLE) checks signatures off chain and anchors one Merkle root per batch of
/// accepted readings; per delivery period it posts one Merkle root over the per-node metered
/// totals. Anyone can audit a reading (`verifyReading`) or a node total (`verifyNodeTotal`)
/// on chain; anyone can record a proven node total (`submitNodeTotal`) so settlement reads it
/// with `meteredEnergyOf`.
///
/// Leaves are OpenZeppelin MerkleProof compatible (double-hashed, sorted-pair tree):
///   reading leaf = keccak256(bytes.concat(keccak256(abi.encode(structHash, keccak256(signature)))))
///   node-total leaf = keccak256(bytes.concat(keccak256(abi.encode(
///       node, period, importWh, exportWh, readingCount, readingsRoot))))
/// where structHash is the EIP-712 struct hash of the MeterReading and readingsRoot the
/// Merkle root over the reading leaves counted in that node total.
interface IMeterOracle {
    /// @notice A signed smart-meter reading (EIP-712 type `MeterReading`).
    /// @param meterId The metering point's id (bytes32).
    /// @param intervalStart Unix time (s) the interval starts.
    /// @param intervalSeconds Interval length (s), 900 for 15-minute collection.
    /// @param importWh Active energy drawn from the grid in the interval.
    /// @param exportWh Active energy fed into the grid in the interval.
    /// @param reactiveVarh Reactive energy in the interval.
    /// @param importRegisterWh Cumulative active import register at the interval's end.
    /// @param exportRegisterWh Cumulative active export register at the interval's end.
    /// @param sequence The meter's message counter.
    /// @param powerFactorMilli Mean power factor of the interval x 1000 (0..1000).
    /// @param voltageL1Dv Mean RMS voltage of phase L1 (decivolts; line-to-line on a
    /// three-phase meter, phase-to-neutral on a single-phase one).
    /// @param voltageL2Dv Phase L2 (0 on a single-phase meter).
    /// @param voltageL3Dv Phase L3 (0 on a single-phase meter).
    /// @param currentL1Ma Mean RMS current of phase L1 (milliamperes).
    /// @param currentL2Ma Phase L2 (0 on a single-phase meter).
    /// @param currentL3Ma Phase L3 (0 on a single-phase meter).
    struct MeterReading {
        bytes32 meterId;
        uint64 intervalStart;
        uint32 intervalSeconds;
        uint64 importWh;
        uint64 exportWh;
        uint64 reactiveVarh;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
        uint64 sequence;
        uint16 powerFactorMilli;
        uint32 voltageL1Dv;
        uint32 voltageL2Dv;
        uint32 voltageL3Dv;
        uint64 currentL1Ma;
        uint64 currentL2Ma;
        uint64 currentL3Ma;
    }

    /// @notice The metered energy of one node in one delivery period.
    struct NodeTotal {
        address node;
        uint64 period;
        uint64 importWh;
        uint64 exportWh;
        uint32 readingCount;
        bytes32 readingsRoot;
    }

    /// @notice A registered metering point.
    struct Meter {
        address node;
        address signer;
        uint64 capacityW;
        uint64 registeredAt;
        uint64 revokedAt;
    }

    /// @notice What an installation declares of a meter.
    /// @param phases 1 or 3.
    /// @param nominalVoltageDv Nominal voltage (decivolts): phase-to-neutral on a single-phase
    /// meter (2200 = 220 V), line-to-line on a three-phase one (100000 = 10 kV).
    /// @param importRegisterWh The active import register when installed.
    /// @param exportRegisterWh The active export register when installed.
    struct Installation {
        bytes32 meterId;
        address node;
        address signer;
        uint64 capacityW;
        uint8 phases;
        uint32 nominalVoltageDv;
        uint64 importRegisterWh;
        uint64 exportRegisterWh;
    }

    /// @notice A meter's life: installation, calibration, replacement, retirement.
    /// @param retiredAt When the meter was removed (0 = in service); no reading of an
    /// interval ending after it counts.
    /// @param replaces The meter this one replaced at the same metering point (0 = none).
    /// @param replacedBy The meter that replaced this one (0 = none).
    /// @param calibrationDueAt The next calibration is due (0 = never calibrated).
    struct MeterLife {
        uint8 phases;
        uint32 nominalVoltageDv;
        uint64 initialImportRegisterWh;
        uint64 initialExportRegisterWh;
        uint64 finalImportRegisterWh;
        uint64 finalExportRegisterWh;
        uint64 retiredAt;
        bytes32 replaces;
        bytes32 replacedBy;
        bytes32 certificateHash;
        uint64 calibratedAt;
        uint64 calibrationDueAt;
    }

    /// @notice An anchored batch of readings.
    struct Batch {
        bytes32 root;
        uint32 readingCount;
        uint64 firstIntervalStart;
        uint64 anchoredAt;
    }

    /// @notice An anchored delivery period.
    struct PeriodRecord {
        bytes32 totalsRoot;
        uint32 nodeCount;
        uint32 readingCount;
        uint64 postedAt;
    }

    /// @notice A meter was registered to `node` with signing key `signer`.
    event MeterRegistered(
        bytes32 indexed meterId, address indexed node, address indexed signer, uint64 capacityW
    );
    /// @notice A meter was installed with its phases, nominal voltage and initial registers.
    event MeterInstalled(
        bytes32 indexed meterId,
        address indexed node,
        address signer,
        uint64 capacityW,
        uint8 phases,
        uint32 nominalVoltageDv,
        uint64 importRegisterWh,
        uint64 exportRegisterWh
    );
    /// @notice A meter's calibration was recorded (certificate, when, next due).
    event MeterCalibrated(
        bytes32 indexed meterId, bytes32 certificateHash, uint64 calibratedAt, uint64 nextDueAt
    );
    /// @notice A meter was removed with its final registers.
    event MeterRetired(
        bytes32 indexed meterId,
        address indexed node,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 retiredAt
    );
    /// @notice `newMeterId` replaced `oldMeterId` at the same metering point of `node`.
    event MeterReplaced(
        bytes32 indexed oldMeterId, bytes32 indexed newMeterId, address indexed node
    );
    /// @notice A meter's key was revoked; readings anchored before stay auditable.
    event MeterRevoked(bytes32 indexed meterId, address indexed node, uint64 revokedAt);
    /// @notice A batch of readings was anchored.
    event BatchAnchored(
        uint64 indexed batchId, bytes32 root, uint32 readingCount, uint64 firstIntervalStart
    );
    /// @notice The node totals of a delivery period were anchored.
    event PeriodPosted(
        uint64 indexed period, bytes32 totalsRoot, uint32 nodeCount, uint32 readingCount
    );
    /// @notice A proven node total was recorded for settlement.
    event NodeTotalRecorded(
        address indexed node,
        uint64 indexed period,
        uint64 importWh,
        uint64 exportWh,
        uint32 readingCount,
        bytes32 readingsRoot
    );
    /// @notice The node registry asked at meter registration changed (0 = none).
    event NodeStatusSourceSet(address indexed source);

    /// @notice The meter id is zero.
    error ZeroMeterId();
    /// @notice A zero node or signer address.
    error ZeroAddress();
    /// @notice The meter id is already registered (revoked ids are not reused).
    error MeterAlreadyRegistered(bytes32 meterId);
    /// @notice No such meter.
    error UnknownMeter(bytes32 meterId);
    /// @notice The meter is already revoked.
    error MeterAlreadyRevoked(bytes32 meterId, uint64 revokedAt);
    /// @notice The node is not an active node of the registry.
    error NodeNotActive(address node);
    /// @notice No capacity given and none known for the node.
    error UnknownCapacity(address node);
    /// @notice A meter has 1 or 3 phases.
    error InvalidPhases(bytes32 meterId, uint8 phases);
    /// @notice The nominal voltage must be non-zero.
    error InvalidNominalVoltage(bytes32 meterId, uint32 nominalVoltageDv);
    /// @notice The meter was retired (removed) at `retiredAt`.
    error MeterIsRetired(bytes32 meterId, uint64 retiredAt);
    /// @notice Final registers may not be below the meter's initial registers.
    error FinalRegisterBelowInitial(
        bytes32 meterId,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 initialImportRegisterWh,
        uint64 initialExportRegisterWh
    );
    /// @notice A replacement stays at the old meter's metering point (`expected` node).
    error ReplacementNodeMismatch(bytes32 oldMeterId, address expected, address node);
    /// @notice A calibration needs a certificate hash and a due date after calibration.
    error InvalidCalibration(
        bytes32 meterId, bytes32 certificateHash, uint64 calibratedAt, uint64 nextDueAt
    );
    /// @notice Batches are anchored in order: `expected` is the next id.
    error UnexpectedBatchId(uint64 batchId, uint64 expected);
    /// @notice A batch root must be non-zero and hold at least one reading.
    error EmptyBatch(uint64 batchId);
    /// @notice The period's totals are already posted.
    error PeriodAlreadyPosted(uint64 period);
    /// @notice A period root must be non-zero.
    error EmptyPeriod(uint64 period);
    /// @notice The period's totals are not posted yet.
    error PeriodNotPosted(uint64 period);
    /// @notice The node total is not in the period's totals root.
    error InvalidNodeTotalProof(address node, uint64 period);
    /// @notice The node total was already recorded.
    error NodeTotalAlreadyRecorded(address node, uint64 period);

    /// @notice Register metering point `meterId` of `node`, signing with `signer` (OPERATOR):
    /// an installation of a three-phase 10 kV meter with zero registers.
    /// @param capacityW Upper bound of the point's power (W); 0 takes the node registry's
    /// capacity (kW x 1000).
    function registerMeter(bytes32 meterId, address node, address signer, uint64 capacityW)
        external;

    /// @notice Install a meter with its phases, nominal voltage and initial registers (OPERATOR).
    function installMeter(Installation calldata installation) external;

    /// @notice Record a calibration certificate of a meter in service (VERIFIER).
    function recordCalibration(
        bytes32 meterId,
        bytes32 certificateHash,
        uint64 calibratedAt,
        uint64 nextDueAt
    ) external;

    /// @notice Remove a meter with its final registers (OPERATOR); `retiredAt` 0 = now.
    function retireMeter(
        bytes32 meterId,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 retiredAt
    ) external;

    /// @notice Retire `oldMeterId` with its final registers and install `next` at the same
    /// metering point (OPERATOR): the old meter counts up to its final registers, the new one
    /// from its initial registers.
    function replaceMeter(
        bytes32 oldMeterId,
        uint64 finalImportRegisterWh,
        uint64 finalExportRegisterWh,
        uint64 retiredAt,
        Installation calldata next
    ) external;

    /// @notice Revoke a meter's key for good (OPERATOR).
    function revokeMeter(bytes32 meterId) external;

    /// @notice Set (or clear with 0) the node registry asked at registration (OPERATOR).
    function setNodeStatusSource(address source) external;

    /// @notice Anchor the Merkle root of batch `batchId` (METER_ORACLE, ids in order from 1).
    function anchorBatch(
        uint64 batchId,
        bytes32 root,
        uint32 readingCount,
        uint64 firstIntervalStart
    ) external;

    /// @notice Anchor the root over every node total of delivery `period` (METER_ORACLE, once).
    function postPeriod(uint64 period, bytes32 totalsRoot, uint32 nodeCount, uint32 readingCount)
        external;

    /// @notice Record a node total proven against its period root (anyone; once).
    function submitNodeTotal(NodeTotal calldata total, bytes32[] calldata proof) external;

    /// @notice The meter registered under `meterId` (all zero when none).
    function meterOf(bytes32 meterId) external view returns (Meter memory);

    /// @notice The life record of `meterId` (all zero when none).
    function meterLifeOf(bytes32 meterId) external view returns (MeterLife memory);

    /// @notice Registered meter ids, paged.
    function meterIds(uint256 offset, uint256 limit) external view returns (bytes32[] memory);

    /// @notice How many meter ids were ever registered.
    function meterCount() external view returns (uint256);

    /// @notice The anchored batch `batchId` (root zero when none).
    function batchOf(uint64 batchId) external view returns (Batch memory);

    /// @notice The next batch id `anchorBatch` accepts.
    function nextBatchId() external view returns (uint64);

    /// @notice The anchored period record (totalsRoot zero when not posted).
    function periodOf(uint64 period) external view returns (PeriodRecord memory);

    /// @notice The recorded metered energy of `node` in `period`.
    /// @return recorded False until `submitNodeTotal` recorded it.
    /// @return importWh Energy drawn from the grid.
    /// @return exportWh Energy fed into the grid.
    /// @return netWh importWh - exportWh.
    function meteredEnergyOf(address node, uint64 period)
        external
        view
        returns (bool recorded, uint64 importWh, uint64 exportWh, int256 netWh);

    /// @notice EIP-712 struct hash of a reading.
    function readingStructHash(MeterReading calldata reading) external pure returns (bytes32);

    /// @notice The EIP-712 digest a meter signs for `reading`.
    function readingDigest(MeterReading calldata reading) external view returns (bytes32);

    /// @notice The Merkle leaf of a signed reading.
    function readingLeaf(MeterReading calldata reading, bytes calldata signature)
        external
        pure
        returns (bytes32);

    /// @notice The Merkle leaf of a node total.
    function nodeTotalLeaf(NodeTotal calldata total) external pure returns (bytes32);

    /// @notice True when `signature` is the registered meter key's (low-s) signature of
    /// `reading` and the reading's leaf is in anchored batch `batchId`, anchored before any
    /// revocation of the meter.
    function verifyReading(
        MeterReading calldata reading,
        bytes calldata signature,
        uint64 batchId,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice True when `total` is in the posted totals root of its period.
    function verifyNodeTotal(NodeTotal calldata total, bytes32[] calldata proof)
        external
        view
        returns (bool);
}
