// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISurveillanceDesk
/// @notice Mechanism 6, on-chain half (issue #8). The REGULATOR registers each surveillance
/// model (model id = keccak256 of the model file, the feature schema hash, the flagging
/// threshold in ppm), so every report names the exact model. Any active node files a report
/// on another node with its evidence: feature-vector hash, model id, score (ppm, at or above
/// the model's threshold), the window of trading periods and up to `MAX_TRADE_IDS` trade ids.
/// The accused may answer with the hash of a response document before the ruling. The
/// REGULATOR rules once, before the ruling deadline (filing time + `rulingPeriod`):
/// confirmed -> the accused's bond is slashed by the ruled amount to the penalty account,
/// its reputation loses the ruled points and `ViolationAnnounced` is the network-wide
/// announcement; dismissed -> the reporter's dismissal count grows and every
/// `dismissalLimit`-th dismissal costs it `reporterPenaltyPoints` reputation. A report not
/// ruled by its deadline can be expired by anyone. The pending queue is not stored: it is
/// the ViolationReported events without a later ViolationRuled or ReportExpired.
/// @dev O(1) per call (storage layout: docs/gas.md).
/// The part of a confirmed penalty the bond did not cover stays owed (`unpaidPenaltyOf`):
/// while it is unpaid the desk holds one registry obligation on the node (any state), so it
/// cannot exit and its entity cannot register another address; `payPenalty` (anyone, in the
/// registry's settlement token, to the penalty account) releases it with the last fen.
/// This contract needs MARKET_CONTRACT (registry `slash` and obligations, reputation
/// `penalize`).
interface ISurveillanceDesk {
    /// @notice Lifecycle of a report.
    enum ReportStatus {
        None,
        Pending,
        Confirmed,
        Dismissed,
        Expired
    }

    /// @notice A registered surveillance model.
    struct ModelInfo {
        bytes32 modelId;
        bytes32 schemaHash;
        uint32 thresholdPpm;
        uint64 registeredAt;
        address regulator;
    }

    /// @notice One report and (once ruled) its ruling.
    struct ReportInfo {
        uint256 reportId;
        ReportStatus status;
        address reporter;
        address accused;
        bytes32 modelId;
        bytes32 featureHash;
        uint32 scorePpm;
        uint32 firstPeriod;
        uint32 lastPeriod;
        uint64 filedAt;
        uint64 ruleBy;
        bytes32 responseHash;
        uint64 respondedAt;
        uint64 ruledAt;
        uint256 penaltyFen;
        uint256 slashedFen;
        uint16 reputationPoints;
        bytes32 reasonHash;
        // The evidence trade ids are in the report's ViolationReported event (not stored).
    }

    /// @notice What a reporter's record holds.
    struct ReporterRecord {
        uint32 filed;
        uint32 confirmed;
        uint32 dismissed;
    }

    // ------------------------------------------------------------------ events

    /// @notice The REGULATOR registered model `modelId`.
    event ModelRegistered(
        bytes32 indexed modelId, bytes32 schemaHash, uint32 thresholdPpm, address regulator
    );
    /// @notice `reporter` filed report `reportId` on `accused`.
    event ViolationReported(
        uint256 indexed reportId,
        address indexed reporter,
        address indexed accused,
        bytes32 modelId,
        bytes32 featureHash,
        uint32 scorePpm,
        uint32 firstPeriod,
        uint32 lastPeriod,
        uint256[] tradeIds,
        uint64 ruleBy
    );
    /// @notice The accused answered report `reportId` with document `responseHash`.
    event ResponseFiled(uint256 indexed reportId, address indexed accused, bytes32 responseHash);
    /// @notice The REGULATOR ruled report `reportId`: `bondPenaltyFen` ruled, `slashedFen`
    /// taken (capped at the bond), `reputationPenalty` points deducted (0 when dismissed).
    event ViolationRuled(
        uint256 indexed reportId,
        address indexed accused,
        bool confirmed,
        uint256 bondPenaltyFen,
        uint256 slashedFen,
        uint16 reputationPenalty,
        bytes32 reasonHash,
        address regulator
    );
    /// @notice Network-wide announcement of a confirmed violation.
    event ViolationAnnounced(
        address indexed accused,
        uint256 indexed reportId,
        bytes32 modelId,
        bytes32 featureHash,
        uint256 slashedFen,
        uint16 reputationPoints,
        bytes32 reasonHash
    );
    /// @notice `reporter`'s report was dismissed; it has `dismissed` dismissals in total.
    event ReportDismissed(uint256 indexed reportId, address indexed reporter, uint32 dismissed);
    /// @notice `reporter` lost `points` reputation after `dismissed` dismissed reports.
    event ReporterPenalized(address indexed reporter, uint32 dismissed, uint16 points);
    /// @notice Report `reportId` was not ruled by `ruleBy`; it lapsed without consequence.
    event ReportExpired(uint256 indexed reportId, uint64 ruleBy, address by);
    /// @notice The ruling period (seconds from filing) is now `periodS`.
    event RulingPeriodSet(uint64 periodS, address by);
    /// @notice Every `dismissalLimit`-th dismissal costs the reporter `points` reputation.
    event ReporterPolicySet(uint32 dismissalLimit, uint16 points, address regulator);
    /// @notice Slashed bonds now go to `account`.
    event PenaltyAccountSet(address account, address regulator);
    /// @notice Report `reportId`'s penalty left `unpaidFen` unserved (bond too small);
    /// `node` (entity `entityHash`) now owes `totalUnpaidFen`; `obligationHeld` = the
    /// registry obligation is held for it.
    event PenaltyUnpaid(
        uint256 indexed reportId,
        address indexed node,
        bytes32 indexed entityHash,
        uint256 unpaidFen,
        uint256 totalUnpaidFen,
        bool obligationHeld
    );
    /// @notice `payer` paid `paidFen` of `node`'s unpaid penalties; `remainingFen` is owed.
    event PenaltyPaid(
        address indexed node, address indexed payer, uint256 paidFen, uint256 remainingFen
    );

    // ------------------------------------------------------------------ errors

    error ZeroAddress();
    /// @notice A model id, schema hash, feature hash or reason hash was zero.
    error ZeroHash();
    /// @notice Thresholds and scores are 0..1_000_000 ppm.
    error InvalidPpm(uint32 ppm);
    /// @notice `modelId` is already registered.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @notice `modelId` is not registered.
    error UnknownModel(bytes32 modelId);
    /// @notice The caller is not an active node.
    error ReporterNotActive(address reporter);
    /// @notice `node` (the accused) is not known to the registry.
    error UnknownNode(address node);
    /// @notice A node cannot report itself.
    error SelfReport(address node);
    /// @notice The score is below the model's threshold: nothing to report.
    error ScoreBelowThreshold(bytes32 modelId, uint32 scorePpm, uint32 thresholdPpm);
    /// @notice `firstPeriod` must not come after `lastPeriod`.
    error InvalidWindow(uint32 firstPeriod, uint32 lastPeriod);
    /// @notice A report names 1..`max` trade ids.
    error InvalidTradeIdCount(uint256 count, uint256 max);
    /// @notice `reporter` already has open report `reportId` on `accused` with this evidence.
    error DuplicateReport(
        address reporter, address accused, bytes32 featureHash, uint256 reportId
    );
    /// @notice No report `reportId`.
    error UnknownReport(uint256 reportId);
    /// @notice Report `reportId` is no longer pending (`status`).
    error AlreadyRuled(uint256 reportId, ReportStatus status);
    /// @notice Only the accused of report `reportId` may respond.
    error NotAccused(uint256 reportId, address caller);
    /// @notice The accused already responded to report `reportId`.
    error AlreadyResponded(uint256 reportId);
    /// @notice The ruling deadline of report `reportId` passed.
    error RulingDeadlinePassed(uint256 reportId, uint64 ruleBy, uint64 nowS);
    /// @notice Report `reportId` may still be ruled until `ruleBy`.
    error RulingDeadlineNotReached(uint256 reportId, uint64 ruleBy, uint64 nowS);
    /// @notice A dismissal carries no penalty; reputation points are at most 1000.
    error InvalidRuling(bool confirmed, uint256 penaltyFen, uint16 reputationPoints);
    /// @notice Periods and limits must be positive.
    error InvalidConfiguration();
    /// @notice The caller is neither OPERATOR nor REGULATOR.
    error UnauthorizedConfigurer(address account);
    /// @notice A payment of zero.
    error ZeroAmount();
    /// @notice `node` owes no unpaid penalty.
    error NoUnpaidPenalty(address node);

    // ------------------------------------------------------------------ REGULATOR

    /// @notice Register model `modelId` (keccak256 of the model file) with its feature
    /// schema hash and flagging threshold (ppm).
    function registerModel(bytes32 modelId, bytes32 schemaHash, uint32 thresholdPpm) external;

    /// @notice Rule pending report `reportId` once, before its deadline. Confirmed: slash
    /// min(`penaltyFen`, bond) of the accused to the penalty account, deduct
    /// `reputationPoints` (0..1000; 0 = none) and announce. Dismissed: both must be 0.
    function rule(
        uint256 reportId,
        bool confirmed,
        uint256 penaltyFen,
        uint16 reputationPoints,
        bytes32 reasonHash
    ) external;

    function setReporterPolicy(uint32 dismissalLimit, uint16 points) external;
    function setPenaltyAccount(address account) external;

    /// @notice OPERATOR or REGULATOR: seconds from filing to the ruling deadline.
    function setRulingPeriod(uint64 periodS) external;

    // ------------------------------------------------------------------ nodes

    /// @notice File a report on `accused` as msg.sender (an active node).
    /// @return reportId The new report's id (from 1).
    function fileReport(
        address accused,
        bytes32 modelId,
        bytes32 featureHash,
        uint32 scorePpm,
        uint32 firstPeriod,
        uint32 lastPeriod,
        uint256[] calldata tradeIds
    ) external returns (uint256 reportId);

    /// @notice The accused answers pending report `reportId` (once) with a document hash.
    function respond(uint256 reportId, bytes32 responseHash) external;

    /// @notice Anyone: pay min(`amountFen`, owed) of `node`'s unpaid penalties from the
    /// caller's allowance (settlement token) to the penalty account; paid in full, the
    /// registry obligation is released. @return paidFen What was paid.
    function payPenalty(address node, uint256 amountFen) external returns (uint256 paidFen);

    /// @notice Anyone: lapse pending report `reportId` after its ruling deadline.
    function expire(uint256 reportId) external;

    // ------------------------------------------------------------------ views

    function MAX_TRADE_IDS() external view returns (uint256);
    function registry() external view returns (address);
    function reputationLedger() external view returns (address);
    function penaltyAccount() external view returns (address);
    function rulingPeriod() external view returns (uint64);
    function reporterPolicy() external view returns (uint32 dismissalLimit, uint16 points);

    function isModelRegistered(bytes32 modelId) external view returns (bool);
    function modelInfo(bytes32 modelId) external view returns (ModelInfo memory);
    function modelCount() external view returns (uint256);
    function models(uint256 offset, uint256 limit) external view returns (ModelInfo[] memory);

    function reportCount() external view returns (uint256);
    function reportInfo(uint256 reportId) external view returns (ReportInfo memory);
    /// @notice The open report of (`reporter`, `accused`, `featureHash`), 0 if none.
    function openReportOf(address reporter, address accused, bytes32 featureHash)
        external
        view
        returns (uint256);
    function reporterRecord(address reporter) external view returns (ReporterRecord memory);
    /// @notice What `node` owes in unserved penalties, and whether the obligation is held.
    function unpaidPenaltyOf(address node)
        external
        view
        returns (uint256 unpaidFen, bool obligationHeld);

    // Pending reports are not listed on chain: they are the ViolationReported events
    // without a later ViolationRuled or ReportExpired of the same reportId (docs/gas.md).
}
