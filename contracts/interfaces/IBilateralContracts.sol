// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IBilateralContracts
/// @notice Bilateral (中长期双边) contracts: templates published by the OPERATOR, contracts
/// co-signed by seller and buyer (EIP-712) and registered with a contract number, each
/// delivery period's scheduled quantity formed as a trade in the common trade store at the
/// contract price, amendments and termination co-signed by both, termination for cause
/// when a party is removed or banned, anomalies recorded against the contract.
/// @dev Nothing is escrowed by this contract: a period's escrow and exposure are taken by
/// the trade store when its trade is formed (payer = the buyer), so an untraded period holds
/// no money and amending or terminating it releases nothing (exactly zero).
interface IBilateralContracts {
    /// @notice Lifecycle of a registered contract.
    enum ContractStatus {
        None,
        Active,
        Completed,
        Terminated,
        TerminatedForCause
    }

    /// @notice A change co-signed by both parties.
    enum ChangeKind {
        None,
        Amendment,
        Termination
    }

    /// @notice The structured terms both parties sign (EIP-712 `ContractTerms`). Flat
    /// (`blockIntervals` 0): period `firstPeriodId + k` delivers `scheduleWh[k]` over
    /// intervals [firstInterval, lastInterval] at `priceFenPerMwh`. Profiled: the window is
    /// cut into blocks of `blockIntervals` 15-minute intervals (the last one shorter), and
    /// `scheduleWh[k * blocks + b]` is block b of period `firstPeriodId + k` (one trade per
    /// non-zero block). `renewalNoticeDays` (0 = no renewal terms): renewal must be agreed
    /// that many days before the contract ends.
    struct ContractTerms {
        uint32 templateId;
        address seller;
        address buyer;
        bytes32 documentHash;
        uint32 firstPeriodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint256 priceFenPerMwh;
        uint256[] scheduleWh;
        uint16 toleranceBps;
        uint64 expiresAt;
        uint16 blockIntervals;
        uint16 renewalNoticeDays;
        bytes32 salt;
    }

    /// @notice A co-signed change (EIP-712 `Amendment`): the new document, price (for
    /// periods not formed yet) and whole schedule from the first period (shorter = earlier
    /// end, longer = later end); formed periods keep their quantity.
    struct Amendment {
        uint256 contractNo;
        uint32 sequence;
        bytes32 documentHash;
        uint256 priceFenPerMwh;
        uint256[] scheduleWh;
    }

    /// @notice A co-signed termination by mutual consent (EIP-712 `Termination`).
    struct Termination {
        uint256 contractNo;
        uint32 sequence;
        bytes32 reasonHash;
    }

    /// @notice A published contract template.
    struct Template {
        uint32 id;
        string kind;
        uint16 version;
        bytes32 templateHash;
        uint64 publishedAt;
    }

    /// @notice A registered contract as read back.
    struct BilateralContract {
        uint256 contractNo;
        uint32 templateId;
        address seller;
        address buyer;
        ContractStatus status;
        bytes32 documentHash;
        bytes32 termsDigest;
        uint32 firstPeriodId;
        uint16 periods;
        uint16 firstInterval;
        uint16 lastInterval;
        uint256 priceFenPerMwh;
        uint16 toleranceBps;
        uint64 expiresAt;
        uint64 registeredAt;
        uint32 sequence;
    }

    /// @notice One delivery period of a contract: its scheduled quantity (a profile's total)
    /// and its trade (a profile's first block's trade; 0 = not formed yet).
    struct ScheduledPeriod {
        uint32 periodId;
        uint256 energyWh;
        uint256 tradeId;
    }

    /// @notice One block of a period's profile and its trade (0 = not formed yet).
    struct ScheduledBlock {
        uint32 periodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint256 energyWh;
        uint256 tradeId;
    }

    /// @notice A co-signed change held for OPERATOR review (it touches a period inside
    /// gate closure); `periodId` is the first such period.
    struct PendingChange {
        ChangeKind kind;
        uint32 sequence;
        uint32 periodId;
        uint64 heldAt;
        bytes32 digest;
    }

    /// @notice The OPERATOR published a template.
    event TemplatePublished(
        uint32 indexed templateId,
        string kind,
        uint16 version,
        bytes32 templateHash,
        address indexed publisher
    );
    /// @notice A contract co-signed by both parties was registered.
    event ContractRegistered(
        uint256 indexed contractNo,
        uint32 indexed templateId,
        address indexed seller,
        address buyer,
        bytes32 documentHash,
        bytes32 termsDigest,
        uint32 firstPeriodId,
        uint16 periods,
        uint256 scheduledWh,
        uint256 priceFenPerMwh,
        address registrant
    );
    /// @notice A period's scheduled quantity formed a trade in the trade store.
    event PeriodTradeFormed(
        uint256 indexed contractNo,
        uint32 indexed periodId,
        uint256 indexed tradeId,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        address by
    );
    /// @notice A co-signed amendment took effect.
    event ContractAmended(
        uint256 indexed contractNo,
        uint32 sequence,
        bytes32 documentHash,
        uint256 priceFenPerMwh,
        uint16 periods,
        uint256 untradedWhBefore,
        uint256 untradedWhAfter,
        address by
    );
    /// @notice A contract ended early; `untradedWh` was scheduled but never formed (it held
    /// no escrow).
    event ContractTerminated(
        uint256 indexed contractNo,
        ContractStatus status,
        bytes32 reasonHash,
        uint256 untradedWh,
        address by
    );
    /// @notice Every scheduled period of a contract was formed.
    event ContractCompleted(uint256 indexed contractNo, uint256 tradedWh);
    /// @notice An anomaly (deviation beyond tolerance, disputed fee, ...) was recorded.
    event AnomalyRecorded(
        uint256 indexed contractNo,
        uint32 indexed periodId,
        uint8 kind,
        bytes32 detailHash,
        address by
    );

    /// @notice A co-signed change touches `periodId`, inside gate closure since
    /// `gateClosedAt` (the period's trading close): it waits for OPERATOR review.
    event ChangeHeld(
        uint256 indexed contractNo,
        ChangeKind kind,
        uint32 sequence,
        bytes32 digest,
        uint32 periodId,
        uint64 gateClosedAt,
        address by
    );
    /// @notice The OPERATOR approved (applied) or rejected (dropped) a held change.
    event ChangeReviewed(
        uint256 indexed contractNo,
        ChangeKind kind,
        uint32 sequence,
        bytes32 digest,
        bool approved,
        bytes32 reasonHash,
        address by
    );

    /// @notice A constructor address was zero.
    error ZeroAddress();
    /// @notice A template with this hash is already published as `templateId`.
    error TemplateAlreadyPublished(bytes32 templateHash, uint32 templateId);
    /// @notice No template `templateId` is published.
    error UnknownTemplate(uint32 templateId);
    /// @notice Seller and buyer must be two different non-zero addresses.
    error InvalidParties(address seller, address buyer);
    /// @notice A schedule must have 1..MAX_PERIODS periods, intervals must be ordered and
    /// the price non-zero.
    error InvalidTerms(uint256 periods, uint16 firstInterval, uint16 lastInterval);
    /// @notice The submitted terms hash to `termsDigest`, not to the `signedDigest` signed.
    error TermsHashMismatch(bytes32 signedDigest, bytes32 termsDigest);
    /// @notice These signed terms were already registered as `contractNo` (a replay).
    error TermsAlreadyRegistered(bytes32 termsDigest, uint256 contractNo);
    /// @notice `party`'s signature is missing (empty).
    error MissingSignature(address party);
    /// @notice `party`'s signature is malformed or recovers `recovered`, not `party`.
    error InvalidSignature(address party, address recovered);
    /// @notice No contract `contractNo` is registered.
    error UnknownContract(uint256 contractNo);
    /// @notice The contract is not active.
    error ContractNotActive(uint256 contractNo, ContractStatus status);
    /// @notice The contract expired at `expiresAt`.
    error ContractExpired(uint256 contractNo, uint64 expiresAt);
    /// @notice `periodId` is not a delivery period of the contract.
    error PeriodNotInContract(uint256 contractNo, uint32 periodId);
    /// @notice The period's trade is already formed.
    error PeriodAlreadyFormed(uint256 contractNo, uint32 periodId, uint256 tradeId);
    /// @notice The period has no scheduled quantity.
    error NothingScheduled(uint256 contractNo, uint32 periodId);
    /// @notice An amendment or termination must carry sequence `expected` (replay guard).
    error StaleSequence(uint256 contractNo, uint32 expected, uint32 given);
    /// @notice An amendment must keep the quantity of a period already formed.
    error FormedPeriodChanged(
        uint256 contractNo, uint32 periodId, uint256 formedWh, uint256 amendedWh
    );
    /// @notice Neither party is removed or banned.
    error NoCauseForTermination(uint256 contractNo);
    /// @notice A change (`digest`) of the contract waits for OPERATOR review.
    error ChangePending(uint256 contractNo, bytes32 digest);
    /// @notice No held change of the contract is `given` (`pending` is, or zero).
    error NoPendingChange(uint256 contractNo, bytes32 pending, bytes32 given);
    /// @notice A period's trade `tradeId` is not dispatched yet (0: the period is not formed).
    error PeriodNotDispatched(uint256 contractNo, uint32 periodId, uint256 tradeId);
    /// @notice The executed energy deviates by `deviationWh` from `contractedWh`, within
    /// the contract's tolerance: no anomaly.
    error NoDeviation(
        uint256 contractNo,
        uint32 periodId,
        uint256 contractedWh,
        uint256 deviationWh,
        uint16 toleranceBps
    );
    /// @notice The period's deviation anomaly is already recorded.
    error DeviationAlreadyRecorded(uint256 contractNo, uint32 periodId);
    /// @notice `caller` is neither a party nor the OPERATOR.
    error NotAParty(uint256 contractNo, address caller);

    /// @notice Publish a template (OPERATOR); returns its id.
    function publishTemplate(string calldata kind, uint16 version, bytes32 templateHash)
        external
        returns (uint32 templateId);

    /// @notice Register co-signed terms; `signedDigest` is the EIP-712 digest both signed.
    function register(
        ContractTerms calldata terms,
        bytes32 signedDigest,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external returns (uint256 contractNo);

    /// @notice Form `periodId`'s scheduled quantity as a trade (a party or the OPERATOR);
    /// the buyer pays the escrow (it approved the trade store).
    function formPeriodTrade(uint256 contractNo, uint32 periodId)
        external
        returns (uint256 tradeId);

    /// @notice Apply a co-signed amendment.
    function amend(
        Amendment calldata amendment,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external;

    /// @notice Terminate by mutual consent (co-signed).
    function terminate(
        Termination calldata termination,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external;

    /// @notice Terminate because a party is removed or banned (anyone may call).
    function terminateForCause(uint256 contractNo) external;

    /// @notice Record an anomaly against a contract (a party or the OPERATOR).
    function recordAnomaly(uint256 contractNo, uint32 periodId, uint8 kind, bytes32 detailHash)
        external;

    /// @notice Approve a held amendment (OPERATOR): it is applied.
    function approveAmendment(Amendment calldata amendment) external;

    /// @notice Approve a held termination (OPERATOR): the contract ends.
    function approveTermination(Termination calldata termination) external;

    /// @notice Reject the contract's held change (OPERATOR): it is dropped.
    function rejectChange(uint256 contractNo, bytes32 reasonHash) external;

    /// @notice Record a deviation anomaly (anyone, e.g. a keeper) when the period's trades
    /// executed outside the contract's tolerance; returns the deviation (Wh, summed over
    /// blocks). Reverts NoDeviation within tolerance.
    function flagDeviation(uint256 contractNo, uint32 periodId)
        external
        returns (uint256 deviationWh);

    /// @notice The EIP-712 digest of `terms`.
    function termsDigest(ContractTerms calldata terms) external view returns (bytes32);
    /// @notice The EIP-712 digest of `amendment`.
    function amendmentDigest(Amendment calldata amendment) external view returns (bytes32);
    /// @notice The EIP-712 digest of `termination`.
    function terminationDigest(Termination calldata termination) external view returns (bytes32);
    /// @notice Number of templates published.
    function templateCount() external view returns (uint32);
    /// @notice Template `templateId`.
    function template(uint32 templateId) external view returns (Template memory);
    /// @notice Number of contracts registered (contract numbers are 1..count).
    function contractCount() external view returns (uint256);
    /// @notice Contract `contractNo`.
    function contractOf(uint256 contractNo) external view returns (BilateralContract memory);
    /// @notice A page of a contract's schedule (periods offset..offset+limit).
    function schedule(uint256 contractNo, uint256 offset, uint256 limit)
        external
        view
        returns (ScheduledPeriod[] memory page);

    /// @notice The blocks of `periodId` (one block for a flat contract).
    function profile(uint256 contractNo, uint32 periodId)
        external
        view
        returns (ScheduledBlock[] memory blocks);
    /// @notice The profile and renewal terms: block length (0 = flat), blocks per period,
    /// renewal notice (days, 0 = no renewal terms).
    function profileTerms(uint256 contractNo)
        external
        view
        returns (uint16 blockIntervals, uint16 blocks, uint16 renewalNoticeDays);
    /// @notice The change held for OPERATOR review (kind None: none).
    function pendingChange(uint256 contractNo) external view returns (PendingChange memory);
    /// @notice The contract numbers between `seller` and `buyer`, in registration order.
    function contractsBetween(address seller, address buyer)
        external
        view
        returns (uint256[] memory contractNos);
}
