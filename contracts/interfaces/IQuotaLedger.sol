// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {INodeRegistry} from "./INodeRegistry.sol";

/// @title IQuotaLedger
/// @notice Renewable portfolio quotas (mechanism 7): obligations, coverage, compliance
/// and fines per obligated party and delivery period.
///
/// Obligated parties are nodes of kind Retailer, Consumer or GridCompany.
/// Quota. The REGULATOR sets per period the renewable consumption weight `weightBps`, the
/// deadline and the fine rate (fen per MWh of shortfall), changeable until the deadline.
///   obligationWh = floor(importWh x weightBps / 10000)   (importWh = verified consumption)
/// Coverage. A retired certificate of type t covers `1e6 x typeWeightBps(t) / 10000` Wh
/// (REGULATOR-set weights: 1 MWh of different renewable types is worth slightly
/// different); the weight in force at retirement counts. Two ways:
///   - `retire`: the holder retires certificates for a beneficiary before the deadline;
///   - `coverTrade` (anyone, once per settled trade, before the deadline): a clean-energy
///     trade carries floor(executedWh / 1e6) certificates of the seller's vintage = trade
///     period; they are retired from the seller for the buyer (issued first if needed).
///     Carried = min(that, the seller's balance of the vintage): a seller that sold the
///     certificates elsewhere first carries fewer (`TradeCovered.shortCertificates`).
/// Compliance. After the deadline anyone calls `assess(party, period)` once:
///   shortfallWh = max(0, obligationWh - coveredWh); fineFen = floor(shortfallWh x
///   fineRateFenPerMwh / 1e6), paid to the fund account from the party's token balance
///   (up to its allowance to this contract), the rest slashed from its bond
///   (NodeRegistry.slash; this contract holds MARKET_CONTRACT); what neither covers is
///   recorded as `unpaidFen` and stays owed (`unpaidFineOf`): while it is unpaid this
///   contract holds one registry obligation on the party (if Active), so it cannot exit and
///   its entity cannot register another address; `payFine` (anyone, settlement token, to
///   the fund account) releases it with the last fen (docs/defaults.md section 2).
interface IQuotaLedger {
    /// @notice The quota of one period.
    struct Quota {
        bool set;
        uint16 weightBps;
        uint64 deadline;
        uint256 fineRateFenPerMwh;
    }

    /// @notice The compliance statement of one party and period (written by `assess`).
    struct Statement {
        bool assessed;
        uint64 importWh;
        uint256 obligationWh;
        uint256 coveredWh;
        uint256 shortfallWh;
        uint256 fineFen;
        uint256 paidFen;
        uint256 slashedFen;
        uint256 unpaidFen;
        uint64 assessedAt;
    }

    /// @notice The live view of one party and period.
    struct Compliance {
        bool quotaSet;
        bool consumptionRecorded;
        uint64 importWh;
        uint16 weightBps;
        uint256 obligationWh;
        uint256 coveredWh;
        uint256 shortfallWh;
        uint256 fineFen;
        uint64 deadline;
        bool assessed;
    }

    event QuotaSet(
        uint64 indexed period,
        uint16 weightBps,
        uint64 deadline,
        uint256 fineRateFenPerMwh,
        address regulator
    );
    event TypeWeightSet(uint8 indexed typeId, uint16 weightBps, address regulator);
    event FundAccountSet(address account, address regulator);
    /// @notice Retirement `retirementId` added `coveredWh` to `party`'s coverage of `period`
    /// (now `totalCoveredWh`).
    event CoverageCredited(
        address indexed party,
        uint64 indexed period,
        uint256 indexed retirementId,
        uint256 tokenId,
        uint256 amount,
        uint16 typeWeightBps,
        uint256 coveredWh,
        uint256 totalCoveredWh
    );
    /// @notice Trade `tradeId` carried `certificates` of `tokenId` (of `energyWh` executed;
    /// `shortCertificates` more were due but the seller no longer held them).
    event TradeCovered(
        uint256 indexed tradeId,
        address indexed seller,
        address indexed buyer,
        uint64 period,
        uint256 tokenId,
        uint256 energyWh,
        uint256 certificates,
        uint256 shortCertificates,
        uint256 retirementId
    );
    event ComplianceAssessed(
        address indexed party,
        uint64 indexed period,
        uint256 obligationWh,
        uint256 coveredWh,
        uint256 shortfallWh,
        uint256 fineFen,
        uint256 paidFen,
        uint256 slashedFen,
        uint256 unpaidFen,
        address by
    );

    /// @notice `party` (entity `entityHash`) did not pay `unpaidFen` of its `period` fine;
    /// it now owes `totalUnpaidFen`; `obligationHeld` = the registry obligation is held.
    event FineUnpaid(
        address indexed party,
        uint64 indexed period,
        bytes32 indexed entityHash,
        uint256 unpaidFen,
        uint256 totalUnpaidFen,
        bool obligationHeld
    );
    /// @notice `payer` paid `paidFen` of `party`'s unpaid fines; `remainingFen` is owed.
    event FinePaid(
        address indexed party, address indexed payer, uint256 paidFen, uint256 remainingFen
    );

    error ZeroAddress();
    error ZeroAmount();
    /// @notice `party` owes no unpaid fine.
    error NoUnpaidFine(address party);
    /// @notice Weights are 1..20000 basis points.
    error InvalidWeight(uint16 weightBps);
    /// @notice Type ids are the renewable node kinds 2..5.
    error InvalidType(uint8 typeId);
    /// @notice The deadline must lie in the future.
    error InvalidDeadline(uint64 deadline, uint64 nowS);
    error QuotaNotSet(uint64 period);
    /// @notice The period's deadline passed: the quota is fixed, coverage closed.
    error DeadlinePassed(uint64 period, uint64 deadline, uint64 nowS);
    error DeadlineNotPassed(uint64 period, uint64 deadline, uint64 nowS);
    /// @notice A certificate of a later vintage cannot cover an earlier period.
    error VintageAfterPeriod(uint256 tokenId, uint64 vintage, uint64 period);
    error TradeNotSettled(uint256 tradeId);
    error TradeAlreadyCovered(uint256 tradeId);
    error NotRenewableSeller(uint256 tradeId, address seller);
    error NotObligated(address party, INodeRegistry.NodeKind kind);
    error UnknownParty(address party);
    error ConsumptionNotRecorded(address party, uint64 period);
    error AlreadyAssessed(address party, uint64 period);
    error FundAccountNotSet();

    // REGULATOR
    function setQuota(uint64 period, uint16 weightBps, uint64 deadline, uint256 fineRateFenPerMwh)
        external;
    function setTypeWeight(uint8 typeId, uint16 weightBps) external;
    function setFundAccount(address account) external;

    /// @notice Retire `amount` of msg.sender's `tokenId` for `beneficiary`'s `period`.
    function retire(uint256 tokenId, uint256 amount, address beneficiary, uint64 period)
        external
        returns (uint256 retirementId);

    /// @notice Count a settled clean-energy trade for its buyer (anyone, once per trade).
    function coverTrade(uint256 tradeId) external returns (uint256 certificates);

    /// @notice Assess `party`'s compliance with `period`'s quota (anyone, after the deadline).
    function assess(address party, uint64 period) external returns (Statement memory);

    /// @notice Anyone: pay min(`amountFen`, owed) of `party`'s unpaid fines from the caller's
    /// allowance to the fund account; paid in full, the registry obligation is released.
    function payFine(address party, uint256 amountFen) external returns (uint256 paidFen);

    // views
    function unpaidFineOf(address party)
        external
        view
        returns (uint256 unpaidFen, bool obligationHeld);
    function certificate() external view returns (address);
    function generationSource() external view returns (address);
    function nodeRegistry() external view returns (address);
    function settlementToken() external view returns (address);
    function fundAccount() external view returns (address);
    function quotaOf(uint64 period) external view returns (Quota memory);
    function typeWeightBps(uint8 typeId) external view returns (uint16);
    function coveredWhOf(address party, uint64 period) external view returns (uint256);
    function tradeCovered(uint256 tradeId) external view returns (bool);
    function isObligatedKind(INodeRegistry.NodeKind kind) external pure returns (bool);
    function complianceOf(address party, uint64 period) external view returns (Compliance memory);
    function statementOf(address party, uint64 period) external view returns (Statement memory);
    function assessedCount(uint64 period) external view returns (uint256);
    /// @notice The parties assessed for `period`, in assessment order (paged).
    function assessedParties(uint64 period, uint256 offset, uint256 limit)
        external
        view
        returns (address[] memory);
}
