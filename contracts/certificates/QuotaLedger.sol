// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IGenerationSource} from "../interfaces/IGenerationSource.sol";
import {IGreenCertificate} from "../interfaces/IGreenCertificate.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IQuotaLedger} from "../interfaces/IQuotaLedger.sol";
import {DebtObligations} from "../registry/DebtObligations.sol";

/// @title QuotaLedger
/// @notice Renewable quotas: obligations, coverage by retirement and by clean-energy trades,
/// compliance assessment and fines (see IQuotaLedger).
contract QuotaLedger is IQuotaLedger, MarketAccessed, ReentrancyGuard, DebtObligations {
    using SafeERC20 for IERC20;

    uint256 public constant WH_PER_CERTIFICATE = 1_000_000;
    uint256 public constant WH_PER_MWH = 1_000_000;
    uint16 public constant BPS = 10_000;
    uint16 public constant MAX_WEIGHT_BPS = 20_000;
    bytes32 public constant FINE_REASON = "QUOTA_FINE";

    struct TradeFacts {
        bool settled;
        address seller;
        address buyer;
        uint64 period;
        uint256 executedWh;
        uint256 tokenId;
        uint256 due;
        uint256 retirementId;
    }

    IGreenCertificate private immutable _cert;
    IGenerationSource private immutable _source;
    INodeRegistry private immutable _registry;
    IERC20 private immutable _token;

    address private _fund;
    mapping(uint64 period => Quota) private _quotas;
    mapping(uint8 typeId => uint16) private _typeWeights;
    mapping(address party => mapping(uint64 period => uint256)) private _covered;
    mapping(uint256 tradeId => bool) private _tradeCovered;
    mapping(address party => mapping(uint64 period => Statement)) private _statements;
    mapping(uint64 period => address[]) private _assessed;

    /// @param access_ The access root (this contract needs MARKET_CONTRACT there to retire
    /// certificates and slash bonds).
    /// @param cert_ The green certificate token.
    /// @param source_ Verified consumption, node kinds and settled trades.
    /// @param registry_ The node registry whose bonds pay unpaid fines (zero on an
    /// auxiliary chain without one: the rest stays unpaid).
    /// @param token_ The settlement token fines are paid in.
    /// @param typeWeightsBps Initial weights of Wind, Solar, Hydro, Biomass.
    constructor(
        IMarketAccess access_,
        IGreenCertificate cert_,
        IGenerationSource source_,
        INodeRegistry registry_,
        IERC20 token_,
        uint16[4] memory typeWeightsBps
    ) MarketAccessed(access_) {
        if (
            address(access_) == address(0) || address(cert_) == address(0)
                || address(source_) == address(0) || address(token_) == address(0)
        ) revert ZeroAddress();
        _cert = cert_;
        _source = source_;
        _registry = registry_;
        _token = token_;
        for (uint8 i = 0; i < 4; ++i) {
            _setTypeWeight(uint8(INodeRegistry.NodeKind.Wind) + i, typeWeightsBps[i]);
        }
    }

    // ================================================================ REGULATOR

    /// @inheritdoc IQuotaLedger
    function setQuota(uint64 period, uint16 weightBps, uint64 deadline, uint256 fineRateFenPerMwh)
        external
        onlyRole(Roles.REGULATOR)
    {
        uint64 nowS = uint64(block.timestamp);
        Quota storage q = _quotas[period];
        if (q.set && nowS >= q.deadline) revert DeadlinePassed(period, q.deadline, nowS);
        if (weightBps > BPS) revert InvalidWeight(weightBps);
        if (deadline <= nowS) revert InvalidDeadline(deadline, nowS);
        q.set = true;
        q.weightBps = weightBps;
        q.deadline = deadline;
        q.fineRateFenPerMwh = fineRateFenPerMwh;
        emit QuotaSet(period, weightBps, deadline, fineRateFenPerMwh, msg.sender);
    }

    /// @inheritdoc IQuotaLedger
    function setTypeWeight(uint8 typeId, uint16 weightBps) external onlyRole(Roles.REGULATOR) {
        _setTypeWeight(typeId, weightBps);
    }

    /// @inheritdoc IQuotaLedger
    function setFundAccount(address account) external onlyRole(Roles.REGULATOR) {
        if (account == address(0)) revert ZeroAddress();
        _fund = account;
        emit FundAccountSet(account, msg.sender);
    }

    // ================================================================ coverage

    /// @inheritdoc IQuotaLedger
    function retire(uint256 tokenId, uint256 amount, address beneficiary, uint64 period)
        external
        nonReentrant
        returns (uint256 retirementId)
    {
        if (beneficiary == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        _requireOpen(period);
        uint64 vintage = uint64(tokenId);
        if (vintage > period) revert VintageAfterPeriod(tokenId, vintage, period);
        retirementId = _cert.retireFrom(msg.sender, tokenId, amount, beneficiary, period, 0);
        _credit(beneficiary, period, retirementId, tokenId, amount);
    }

    /// @inheritdoc IQuotaLedger
    function coverTrade(uint256 tradeId) external nonReentrant returns (uint256 certificates) {
        TradeFacts memory t;
        (t.settled, t.seller, t.buyer, t.period, t.executedWh) = _source.settledTrade(tradeId);
        if (!t.settled) revert TradeNotSettled(tradeId);
        if (_tradeCovered[tradeId]) revert TradeAlreadyCovered(tradeId);
        (, INodeRegistry.NodeKind kind) = _source.nodeKindOf(t.seller);
        uint8 typeId = _cert.renewableTypeOf(kind);
        if (typeId == 0) revert NotRenewableSeller(tradeId, t.seller);
        _requireOpen(t.period);
        _tradeCovered[tradeId] = true;

        if (!_cert.issuanceOf(t.seller, t.period).issued) _cert.issue(t.seller, t.period);
        t.tokenId = _cert.tokenIdOf(typeId, t.seller, t.period);
        t.due = t.executedWh / WH_PER_CERTIFICATE;
        uint256 held = _cert.balanceOf(t.seller, t.tokenId);
        certificates = t.due < held ? t.due : held;
        if (certificates != 0) {
            t.retirementId =
                _cert.retireFrom(t.seller, t.tokenId, certificates, t.buyer, t.period, tradeId);
            _credit(t.buyer, t.period, t.retirementId, t.tokenId, certificates);
        }
        emit TradeCovered(
            tradeId,
            t.seller,
            t.buyer,
            t.period,
            t.tokenId,
            t.executedWh,
            certificates,
            t.due - certificates,
            t.retirementId
        );
    }

    // ================================================================ compliance

    /// @inheritdoc IQuotaLedger
    function assess(address party, uint64 period)
        external
        nonReentrant
        returns (Statement memory s)
    {
        Quota storage q = _quotas[period];
        if (!q.set) revert QuotaNotSet(period);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < q.deadline) revert DeadlineNotPassed(period, q.deadline, nowS);
        Statement storage stored = _statements[party][period];
        if (stored.assessed) revert AlreadyAssessed(party, period);
        address fund = _fund;
        if (fund == address(0)) revert FundAccountNotSet();
        _requireObligated(party);
        (bool recorded, uint64 importWh) = _source.verifiedConsumptionWh(party, period);
        if (!recorded) revert ConsumptionNotRecorded(party, period);

        s.assessed = true;
        s.importWh = importWh;
        s.obligationWh = uint256(importWh) * q.weightBps / BPS;
        s.coveredWh = _covered[party][period];
        s.shortfallWh = s.obligationWh > s.coveredWh ? s.obligationWh - s.coveredWh : 0;
        s.fineFen = s.shortfallWh * q.fineRateFenPerMwh / WH_PER_MWH;
        s.paidFen = _min3(s.fineFen, _token.balanceOf(party), _token.allowance(party, address(this)));
        uint256 rest = s.fineFen - s.paidFen;
        if (rest != 0 && address(_registry) != address(0)) {
            uint256 bond = _registry.bondOf(party);
            s.slashedFen = rest < bond ? rest : bond;
        }
        s.unpaidFen = rest - s.slashedFen;
        s.assessedAt = nowS;
        _statements[party][period] = s;
        _assessed[period].push(party);
        _emitAssessed(party, period, s);
        if (s.paidFen != 0) _token.safeTransferFrom(party, fund, s.paidFen);
        if (s.slashedFen != 0) _registry.slash(party, s.slashedFen, fund, FINE_REASON);
        if (s.unpaidFen != 0) _recordUnpaidFine(party, period, s.unpaidFen);
    }

    /// @inheritdoc IQuotaLedger
    function payFine(address party, uint256 amountFen)
        external
        nonReentrant
        returns (uint256 paidFen)
    {
        if (amountFen == 0) revert ZeroAmount();
        address fund = _fund;
        if (fund == address(0)) revert FundAccountNotSet();
        uint256 restFen;
        (paidFen, restFen) = _payUnpaid(_registry, party, amountFen);
        if (paidFen == 0) revert NoUnpaidFine(party);
        emit FinePaid(party, msg.sender, paidFen, restFen);
        _token.safeTransferFrom(msg.sender, fund, paidFen);
    }

    // ================================================================ views

    /// @inheritdoc IQuotaLedger
    function unpaidFineOf(address party)
        external
        view
        returns (uint256 unpaidFen, bool obligationHeld)
    {
        return _unpaidOf(party);
    }

    /// @inheritdoc IQuotaLedger
    function certificate() external view returns (address) {
        return address(_cert);
    }

    /// @inheritdoc IQuotaLedger
    function generationSource() external view returns (address) {
        return address(_source);
    }

    /// @inheritdoc IQuotaLedger
    function nodeRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IQuotaLedger
    function settlementToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IQuotaLedger
    function fundAccount() external view returns (address) {
        return _fund;
    }

    /// @inheritdoc IQuotaLedger
    function quotaOf(uint64 period) external view returns (Quota memory) {
        return _quotas[period];
    }

    /// @inheritdoc IQuotaLedger
    function typeWeightBps(uint8 typeId) external view returns (uint16) {
        return _typeWeights[typeId];
    }

    /// @inheritdoc IQuotaLedger
    function coveredWhOf(address party, uint64 period) external view returns (uint256) {
        return _covered[party][period];
    }

    /// @inheritdoc IQuotaLedger
    function tradeCovered(uint256 tradeId) external view returns (bool) {
        return _tradeCovered[tradeId];
    }

    /// @inheritdoc IQuotaLedger
    function isObligatedKind(INodeRegistry.NodeKind kind) public pure returns (bool) {
        return kind == INodeRegistry.NodeKind.Retailer || kind == INodeRegistry.NodeKind.Consumer
            || kind == INodeRegistry.NodeKind.GridCompany;
    }

    /// @inheritdoc IQuotaLedger
    function complianceOf(address party, uint64 period)
        external
        view
        returns (Compliance memory c)
    {
        Quota storage q = _quotas[period];
        (c.consumptionRecorded, c.importWh) = _source.verifiedConsumptionWh(party, period);
        c.quotaSet = q.set;
        c.weightBps = q.weightBps;
        c.deadline = q.deadline;
        c.obligationWh = uint256(c.importWh) * q.weightBps / BPS;
        c.coveredWh = _covered[party][period];
        c.shortfallWh = c.obligationWh > c.coveredWh ? c.obligationWh - c.coveredWh : 0;
        c.fineFen = c.shortfallWh * q.fineRateFenPerMwh / WH_PER_MWH;
        c.assessed = _statements[party][period].assessed;
    }

    /// @inheritdoc IQuotaLedger
    function statementOf(address party, uint64 period) external view returns (Statement memory) {
        return _statements[party][period];
    }

    /// @inheritdoc IQuotaLedger
    function assessedCount(uint64 period) external view returns (uint256) {
        return _assessed[period].length;
    }

    /// @inheritdoc IQuotaLedger
    function assessedParties(uint64 period, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory out)
    {
        address[] storage all = _assessed[period];
        uint256 end = offset >= all.length
            ? offset
            : (limit < all.length - offset ? offset + limit : all.length);
        out = new address[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            out[i - offset] = all[i];
        }
    }

    // ================================================================ private

    function _setTypeWeight(uint8 typeId, uint16 weightBps) private {
        if (typeId < uint8(INodeRegistry.NodeKind.Wind) || typeId > uint8(INodeRegistry.NodeKind.Biomass))
        {
            revert InvalidType(typeId);
        }
        if (weightBps == 0 || weightBps > MAX_WEIGHT_BPS) revert InvalidWeight(weightBps);
        _typeWeights[typeId] = weightBps;
        emit TypeWeightSet(typeId, weightBps, msg.sender);
    }

    function _requireOpen(uint64 period) private view {
        Quota storage q = _quotas[period];
        if (!q.set) revert QuotaNotSet(period);
        uint64 nowS = uint64(block.timestamp);
        if (nowS >= q.deadline) revert DeadlinePassed(period, q.deadline, nowS);
    }

    function _requireObligated(address party) private view {
        (bool known, INodeRegistry.NodeKind kind) = _source.nodeKindOf(party);
        if (!known) revert UnknownParty(party);
        if (!isObligatedKind(kind)) revert NotObligated(party, kind);
    }

    function _credit(
        address party,
        uint64 period,
        uint256 retirementId,
        uint256 tokenId,
        uint256 amount
    ) private {
        uint16 weight = _typeWeights[uint8(tokenId >> 248)];
        uint256 coveredWh = amount * WH_PER_CERTIFICATE * weight / BPS;
        uint256 total = _covered[party][period] + coveredWh;
        _covered[party][period] = total;
        emit CoverageCredited(party, period, retirementId, tokenId, amount, weight, coveredWh, total);
    }

    function _recordUnpaidFine(address party, uint64 period, uint256 unpaidFen) private {
        (uint256 totalFen, bool held) = _recordUnpaid(_registry, party, unpaidFen);
        bytes32 entityHash = bytes32(0); // no registry on an auxiliary chain
        if (address(_registry) != address(0)) entityHash = _registry.nodeInfo(party).entityHash;
        emit FineUnpaid(party, period, entityHash, unpaidFen, totalFen, held);
    }

    function _emitAssessed(address party, uint64 period, Statement memory s) private {
        emit ComplianceAssessed(
            party,
            period,
            s.obligationWh,
            s.coveredWh,
            s.shortfallWh,
            s.fineFen,
            s.paidFen,
            s.slashedFen,
            s.unpaidFen,
            msg.sender
        );
    }

    function _min3(uint256 a, uint256 b, uint256 c) private pure returns (uint256 m) {
        m = a < b ? a : b;
        if (c < m) m = c;
    }
}
