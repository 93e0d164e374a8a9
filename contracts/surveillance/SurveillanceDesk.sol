// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IReputationLedger} from "../interfaces/IReputationLedger.sol";
import {ISurveillanceDesk} from "../interfaces/ISurveillanceDesk.sol";
import {DebtObligations} from "../registry/DebtObligations.sol";
import {PagedSets} from "../registry/PagedSets.sol";

/// @title SurveillanceDesk
/// @notice Registered surveillance models, node reports with evidence, responses and
/// REGULATOR rulings that slash bonds and deduct reputation. See ISurveillanceDesk.
contract SurveillanceDesk is ISurveillanceDesk, MarketAccessed, ReentrancyGuard, DebtObligations {
    using PagedSets for PagedSets.Bytes32Set;
    using SafeERC20 for IERC20;

    /// @inheritdoc ISurveillanceDesk
    uint256 public constant MAX_TRADE_IDS = 32;
    uint32 private constant PPM = 1_000_000;
    uint16 private constant MAX_POINTS = 1000;
    /// @dev The registry reason code of a surveillance slash.
    bytes32 private constant SLASH_REASON = "MARKET_VIOLATION";

    /// @dev Slot 1 also holds the model's 1-based position in `_modelIds` (the id a report
    /// stores), so filing reads one model slot.
    struct Model {
        bytes32 schemaHash;
        uint32 thresholdPpm;
        uint40 registeredAt;
        uint16 index;
        address regulator;
    }

    /// @dev Filing writes slots 0..2 (three fresh slots); the ruling and the response the
    /// rest. The model is interned (`Model.index`, its 1-based position in `_modelIds`);
    /// the evidence trade ids are not stored: they are in the ViolationReported event
    /// (see docs/gas.md).
    struct Report {
        // slot 0
        address reporter;
        ReportStatus status;
        uint24 scorePpm; // <= 1e6
        uint32 firstPeriod;
        uint32 lastPeriod;
        // slot 1
        address accused;
        uint40 filedAt;
        uint40 ruleBy;
        uint16 model;
        // slot 2
        bytes32 featureHash;
        // slot 3
        bytes32 responseHash;
        // slot 4: respondedAt + ruledAt + reputationPoints
        uint64 respondedAt;
        uint64 ruledAt;
        uint16 reputationPoints;
        uint256 penaltyFen;
        uint256 slashedFen;
        bytes32 reasonHash;
    }

    INodeRegistry private immutable _registry;
    IReputationLedger private immutable _reputation;

    address private _penaltyAccount;
    uint64 private _rulingPeriodS;
    /// @dev In the slot filing reads anyway (the ruling period); 2^32 reports at most.
    uint32 private _reportCount;
    uint32 private _dismissalLimit;
    uint16 private _reporterPenaltyPoints;

    mapping(bytes32 modelId => Model) private _models;
    PagedSets.Bytes32Set private _modelIds;

    mapping(uint256 reportId => Report) private _reports;
    mapping(bytes32 key => uint256 reportId) private _open;
    mapping(address reporter => ReporterRecord) private _records;

    /// @param access_ The suite's access root.
    /// @param registry_ The node registry (bonds are slashed there).
    /// @param reputation_ The reputation ledger (penalties are deducted there).
    /// @param penaltyAccount_ Where slashed bonds go.
    /// @param rulingPeriodS_ Seconds from filing to the ruling deadline.
    /// @param dismissalLimit_ Every this many dismissals the reporter is penalized.
    /// @param reporterPenaltyPoints_ Reputation points that costs (1..1000).
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        IReputationLedger reputation_,
        address penaltyAccount_,
        uint64 rulingPeriodS_,
        uint32 dismissalLimit_,
        uint16 reporterPenaltyPoints_
    ) MarketAccessed(access_) {
        if (address(registry_) == address(0) || address(reputation_) == address(0)) {
            revert ZeroAddress();
        }
        _registry = registry_;
        _reputation = reputation_;
        _setPenaltyAccount(penaltyAccount_);
        _setRulingPeriod(rulingPeriodS_);
        _setReporterPolicy(dismissalLimit_, reporterPenaltyPoints_);
    }

    // ================================================================ REGULATOR

    /// @inheritdoc ISurveillanceDesk
    function registerModel(bytes32 modelId, bytes32 schemaHash, uint32 thresholdPpm)
        external
        onlyRole(Roles.REGULATOR)
    {
        if (modelId == bytes32(0) || schemaHash == bytes32(0)) revert ZeroHash();
        if (thresholdPpm > PPM) revert InvalidPpm(thresholdPpm);
        if (_models[modelId].registeredAt != 0) revert ModelAlreadyRegistered(modelId);
        _modelIds.add(modelId);
        _models[modelId] = Model(
            schemaHash,
            thresholdPpm,
            uint40(block.timestamp),
            SafeCast.toUint16(_modelIds.length()),
            msg.sender
        );
        emit ModelRegistered(modelId, schemaHash, thresholdPpm, msg.sender);
    }

    /// @inheritdoc ISurveillanceDesk
    function rule(
        uint256 reportId,
        bool confirmed,
        uint256 penaltyFen,
        uint16 reputationPoints,
        bytes32 reasonHash
    ) external onlyRole(Roles.REGULATOR) nonReentrant {
        Report storage r = _pendingReport(reportId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS > r.ruleBy) revert RulingDeadlinePassed(reportId, r.ruleBy, nowS);
        if (reasonHash == bytes32(0)) revert ZeroHash();
        if (
            reputationPoints > MAX_POINTS
                || (!confirmed && (penaltyFen != 0 || reputationPoints != 0))
        ) {
            revert InvalidRuling(confirmed, penaltyFen, reputationPoints);
        }
        address accused = r.accused;
        address reporter = r.reporter;
        r.status = confirmed ? ReportStatus.Confirmed : ReportStatus.Dismissed;
        r.ruledAt = nowS;
        r.penaltyFen = penaltyFen;
        r.reputationPoints = reputationPoints;
        r.reasonHash = reasonHash;
        _close(r);

        if (confirmed) {
            _records[reporter].confirmed += 1;
            uint256 slashedFen;
            if (penaltyFen != 0) {
                slashedFen = _registry.slash(accused, penaltyFen, _penaltyAccount, SLASH_REASON);
                r.slashedFen = slashedFen;
                if (slashedFen < penaltyFen) {
                    _recordUnpaidPenalty(reportId, accused, penaltyFen - slashedFen);
                }
            }
            emit ViolationRuled(
                reportId,
                accused,
                true,
                penaltyFen,
                slashedFen,
                reputationPoints,
                reasonHash,
                msg.sender
            );
            if (reputationPoints != 0) {
                _reputation.penalize(accused, reputationPoints, reasonHash);
            }
            emit ViolationAnnounced(
                accused,
                reportId,
                _modelId(r),
                r.featureHash,
                slashedFen,
                reputationPoints,
                reasonHash
            );
        } else {
            uint32 dismissed = _records[reporter].dismissed + 1;
            _records[reporter].dismissed = dismissed;
            emit ViolationRuled(reportId, accused, false, 0, 0, 0, reasonHash, msg.sender);
            emit ReportDismissed(reportId, reporter, dismissed);
            if (dismissed % _dismissalLimit == 0) {
                uint16 points = _reporterPenaltyPoints;
                emit ReporterPenalized(reporter, dismissed, points);
                _reputation.penalize(reporter, points, reasonHash);
            }
        }
    }

    /// @inheritdoc ISurveillanceDesk
    function setReporterPolicy(uint32 dismissalLimit, uint16 points)
        external
        onlyRole(Roles.REGULATOR)
    {
        _setReporterPolicy(dismissalLimit, points);
    }

    /// @inheritdoc ISurveillanceDesk
    function setPenaltyAccount(address account) external onlyRole(Roles.REGULATOR) {
        _setPenaltyAccount(account);
    }

    /// @inheritdoc ISurveillanceDesk
    function setRulingPeriod(uint64 periodS) external {
        if (!_hasRole(Roles.OPERATOR, msg.sender) && !_hasRole(Roles.REGULATOR, msg.sender)) {
            revert UnauthorizedConfigurer(msg.sender);
        }
        _setRulingPeriod(periodS);
    }

    // ================================================================ nodes

    /// @inheritdoc ISurveillanceDesk
    function fileReport(
        address accused,
        bytes32 modelId,
        bytes32 featureHash,
        uint32 scorePpm,
        uint32 firstPeriod,
        uint32 lastPeriod,
        uint256[] calldata tradeIds
    ) external returns (uint256 reportId) {
        bytes32 key = _checkReport(
            accused, modelId, featureHash, scorePpm, firstPeriod, lastPeriod, tradeIds.length
        );
        reportId = ++_reportCount;
        uint64 ruleBy = uint64(block.timestamp) + _rulingPeriodS;
        // Slots 0 and 1 of the Report layout, each written once (not field by field).
        uint256 head = uint256(uint160(msg.sender)) | (uint256(ReportStatus.Pending) << 160)
            | (uint256(scorePpm) << 168) | (uint256(firstPeriod) << 192)
            | (uint256(lastPeriod) << 224); // scorePpm <= PPM < 2^24, checked
        uint256 parties = uint256(uint160(accused)) | (uint256(uint40(block.timestamp)) << 160)
            | (uint256(SafeCast.toUint40(ruleBy)) << 200)
            | (uint256(_models[modelId].index) << 240);
        _storeFiling(_reports[reportId], head, parties, featureHash);
        _open[key] = reportId;
        _records[msg.sender].filed += 1;
        emit ViolationReported(
            reportId,
            msg.sender,
            accused,
            modelId,
            featureHash,
            scorePpm,
            firstPeriod,
            lastPeriod,
            tradeIds,
            ruleBy
        );
    }

    /// @inheritdoc ISurveillanceDesk
    function respond(uint256 reportId, bytes32 responseHash) external {
        Report storage r = _pendingReport(reportId);
        if (msg.sender != r.accused) revert NotAccused(reportId, msg.sender);
        if (responseHash == bytes32(0)) revert ZeroHash();
        if (r.respondedAt != 0) revert AlreadyResponded(reportId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS > r.ruleBy) revert RulingDeadlinePassed(reportId, r.ruleBy, nowS);
        r.responseHash = responseHash;
        r.respondedAt = nowS;
        emit ResponseFiled(reportId, msg.sender, responseHash);
    }

    /// @inheritdoc ISurveillanceDesk
    function payPenalty(address node, uint256 amountFen)
        external
        nonReentrant
        returns (uint256 paidFen)
    {
        if (amountFen == 0) revert ZeroAmount();
        uint256 restFen;
        (paidFen, restFen) = _payUnpaid(_registry, node, amountFen);
        if (paidFen == 0) revert NoUnpaidPenalty(node);
        emit PenaltyPaid(node, msg.sender, paidFen, restFen);
        IERC20(_registry.settlementToken()).safeTransferFrom(msg.sender, _penaltyAccount, paidFen);
    }

    /// @inheritdoc ISurveillanceDesk
    function expire(uint256 reportId) external {
        Report storage r = _pendingReport(reportId);
        uint64 nowS = uint64(block.timestamp);
        if (nowS <= r.ruleBy) revert RulingDeadlineNotReached(reportId, r.ruleBy, nowS);
        r.status = ReportStatus.Expired;
        _close(r);
        emit ReportExpired(reportId, r.ruleBy, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc ISurveillanceDesk
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ISurveillanceDesk
    function reputationLedger() external view returns (address) {
        return address(_reputation);
    }

    /// @inheritdoc ISurveillanceDesk
    function penaltyAccount() external view returns (address) {
        return _penaltyAccount;
    }

    /// @inheritdoc ISurveillanceDesk
    function rulingPeriod() external view returns (uint64) {
        return _rulingPeriodS;
    }

    /// @inheritdoc ISurveillanceDesk
    function reporterPolicy() external view returns (uint32 dismissalLimit, uint16 points) {
        return (_dismissalLimit, _reporterPenaltyPoints);
    }

    /// @inheritdoc ISurveillanceDesk
    function isModelRegistered(bytes32 modelId) external view returns (bool) {
        return _models[modelId].registeredAt != 0;
    }

    /// @inheritdoc ISurveillanceDesk
    function modelInfo(bytes32 modelId) public view returns (ModelInfo memory) {
        Model storage m = _models[modelId];
        if (m.registeredAt == 0) revert UnknownModel(modelId);
        return ModelInfo(modelId, m.schemaHash, m.thresholdPpm, m.registeredAt, m.regulator);
    }

    /// @inheritdoc ISurveillanceDesk
    function modelCount() external view returns (uint256) {
        return _modelIds.length();
    }

    /// @inheritdoc ISurveillanceDesk
    function models(uint256 offset, uint256 limit) external view returns (ModelInfo[] memory out) {
        bytes32[] memory ids = _modelIds.page(offset, limit);
        out = new ModelInfo[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            out[i] = modelInfo(ids[i]);
        }
    }

    /// @inheritdoc ISurveillanceDesk
    function reportCount() external view returns (uint256) {
        return _reportCount;
    }

    /// @inheritdoc ISurveillanceDesk
    function reportInfo(uint256 reportId) public view returns (ReportInfo memory) {
        Report storage r = _reports[reportId];
        if (r.status == ReportStatus.None) revert UnknownReport(reportId);
        return ReportInfo({
            reportId: reportId,
            status: r.status,
            reporter: r.reporter,
            accused: r.accused,
            modelId: _modelId(r),
            featureHash: r.featureHash,
            scorePpm: r.scorePpm,
            firstPeriod: r.firstPeriod,
            lastPeriod: r.lastPeriod,
            filedAt: r.filedAt,
            ruleBy: r.ruleBy,
            responseHash: r.responseHash,
            respondedAt: r.respondedAt,
            ruledAt: r.ruledAt,
            penaltyFen: r.penaltyFen,
            slashedFen: r.slashedFen,
            reputationPoints: r.reputationPoints,
            reasonHash: r.reasonHash
        });
    }

    /// @inheritdoc ISurveillanceDesk
    function openReportOf(address reporter, address accused, bytes32 featureHash)
        external
        view
        returns (uint256)
    {
        return _open[_key(reporter, accused, featureHash)];
    }

    /// @inheritdoc ISurveillanceDesk
    function reporterRecord(address reporter) external view returns (ReporterRecord memory) {
        return _records[reporter];
    }

    /// @inheritdoc ISurveillanceDesk
    function unpaidPenaltyOf(address node)
        external
        view
        returns (uint256 unpaidFen, bool obligationHeld)
    {
        return _unpaidOf(node);
    }

    // ================================================================ internals

    function _recordUnpaidPenalty(uint256 reportId, address node, uint256 unpaidFen) private {
        (uint256 totalFen, bool held) = _recordUnpaid(_registry, node, unpaidFen);
        bytes32 entityHash = _registry.nodeInfo(node).entityHash;
        emit PenaltyUnpaid(reportId, node, entityHash, unpaidFen, totalFen, held);
    }

    function _checkReport(
        address accused,
        bytes32 modelId,
        bytes32 featureHash,
        uint32 scorePpm,
        uint32 firstPeriod,
        uint32 lastPeriod,
        uint256 tradeIdCount
    ) private view returns (bytes32 key) {
        if (!_registry.isActive(msg.sender)) revert ReporterNotActive(msg.sender);
        if (accused == msg.sender) revert SelfReport(msg.sender);
        if (accused == address(0)) revert ZeroAddress();
        if (_registry.statusOf(accused) == INodeRegistry.NodeStatus.None) {
            revert UnknownNode(accused);
        }
        Model storage m = _models[modelId];
        if (m.registeredAt == 0) revert UnknownModel(modelId);
        if (featureHash == bytes32(0)) revert ZeroHash();
        if (scorePpm > PPM) revert InvalidPpm(scorePpm);
        if (scorePpm < m.thresholdPpm) {
            revert ScoreBelowThreshold(modelId, scorePpm, m.thresholdPpm);
        }
        if (firstPeriod > lastPeriod) revert InvalidWindow(firstPeriod, lastPeriod);
        if (tradeIdCount == 0 || tradeIdCount > MAX_TRADE_IDS) {
            revert InvalidTradeIdCount(tradeIdCount, MAX_TRADE_IDS);
        }
        key = _key(msg.sender, accused, featureHash);
        uint256 existing = _open[key];
        if (existing != 0) revert DuplicateReport(msg.sender, accused, featureHash, existing);
    }
    function _modelId(Report storage r) private view returns (bytes32) {
        return _modelIds.items[r.model - 1];
    }


    /// @dev Write slots 0 (reporter, status, scorePpm, firstPeriod, lastPeriod), 1 (accused,
    /// filedAt, ruleBy, model) and 2 (featureHash) of a fresh report.
    function _storeFiling(Report storage r, uint256 head, uint256 parties, bytes32 featureHash)
        private
    {
        assembly ("memory-safe") {
            sstore(r.slot, head)
            sstore(add(r.slot, 1), parties)
        }
        r.featureHash = featureHash;
    }

    function _pendingReport(uint256 reportId) private view returns (Report storage r) {
        r = _reports[reportId];
        if (r.status == ReportStatus.None) revert UnknownReport(reportId);
        if (r.status != ReportStatus.Pending) revert AlreadyRuled(reportId, r.status);
    }

    function _close(Report storage r) private {
        delete _open[_key(r.reporter, r.accused, r.featureHash)];
    }

    function _key(address reporter, address accused, bytes32 featureHash)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(reporter, accused, featureHash));
    }

    function _setPenaltyAccount(address account) private {
        if (account == address(0)) revert ZeroAddress();
        _penaltyAccount = account;
        emit PenaltyAccountSet(account, msg.sender);
    }

    function _setRulingPeriod(uint64 periodS) private {
        if (periodS == 0) revert InvalidConfiguration();
        _rulingPeriodS = periodS;
        emit RulingPeriodSet(periodS, msg.sender);
    }

    function _setReporterPolicy(uint32 dismissalLimit, uint16 points) private {
        if (dismissalLimit == 0 || points == 0 || points > MAX_POINTS) {
            revert InvalidConfiguration();
        }
        _dismissalLimit = dismissalLimit;
        _reporterPenaltyPoints = points;
        emit ReporterPolicySet(dismissalLimit, points, msg.sender);
    }
}
