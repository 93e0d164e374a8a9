// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {TypedDataDomain} from "../oracle/TypedDataDomain.sol";

/// @title BilateralContracts
/// @notice Co-signed bilateral contracts executed through the common trade store (see
/// IBilateralContracts).
/// @dev EIP-712 through TypedDataDomain (OpenZeppelin's EIP712 does not compile for the
/// suite's evmVersion paris, see there) and OpenZeppelin ECDSA. A schedule is bounded by
/// MAX_PERIODS, so registration and amendment loop over at most that many periods.
contract BilateralContracts is
    IBilateralContracts,
    MarketAccessed,
    TypedDataDomain,
    ReentrancyGuard
{
    using SafeCast for uint256;

    /// @dev A contract as stored (3 packed slots + the two hashes).
    struct StoredContract {
        address seller; // slot 0
        uint32 templateId;
        ContractStatus status;
        uint16 toleranceBps;
        uint32 sequence;
        address buyer; // slot 1
        uint32 firstPeriodId;
        uint16 firstInterval;
        uint16 lastInterval;
        uint16 periods;
        uint16 blockIntervals;
        uint96 priceFenPerMwh; // slot 2
        uint64 expiresAt;
        uint64 registeredAt;
        uint16 renewalNoticeDays;
        bytes32 documentHash;
        bytes32 termsDigest;
    }

    /// @dev One block of a period (the period itself when flat): its quantity and its trade
    /// (0 = not formed). Slot k * blocks + b is block b of period firstPeriodId + k.
    struct Slot {
        uint64 energyWh;
        uint64 tradeId;
    }

    /// @notice The longest schedule, in entries (periods x blocks).
    uint16 public constant MAX_PERIODS = 400;

    /// @notice EIP-712 type of the co-signed contract terms.
    bytes32 public constant CONTRACT_TERMS_TYPEHASH = keccak256(
        "ContractTerms(uint32 templateId,address seller,address buyer,bytes32 documentHash,"
        "uint32 firstPeriodId,uint16 firstInterval,uint16 lastInterval,uint256 priceFenPerMwh,"
        "uint256[] scheduleWh,uint16 toleranceBps,uint64 expiresAt,uint16 blockIntervals,"
        "uint16 renewalNoticeDays,bytes32 salt)"
    );
    /// @notice EIP-712 type of a co-signed amendment.
    bytes32 public constant AMENDMENT_TYPEHASH = keccak256(
        "Amendment(uint256 contractNo,uint32 sequence,bytes32 documentHash,"
        "uint256 priceFenPerMwh,uint256[] scheduleWh)"
    );
    /// @notice EIP-712 type of a co-signed termination.
    bytes32 public constant TERMINATION_TYPEHASH =
        keccak256("Termination(uint256 contractNo,uint32 sequence,bytes32 reasonHash)");

    ITradingMarket private immutable _market;
    INodeRegistry private immutable _registry;

    uint32 private _templateCount;
    uint256 private _contractCount;
    mapping(uint32 templateId => Template) private _templates;
    mapping(bytes32 templateHash => uint32 templateId) private _templateIds;
    mapping(uint256 contractNo => StoredContract) private _contracts;
    mapping(uint256 contractNo => mapping(uint256 index => Slot)) private _slots;
    mapping(bytes32 termsDigest => uint256 contractNo) private _registered;
    mapping(uint256 contractNo => PendingChange) private _pending;
    mapping(uint256 contractNo => mapping(uint32 periodId => bool)) private _deviationFlagged;
    mapping(address seller => mapping(address buyer => uint256[])) private _between;

    /// @param access_ The suite's access root.
    /// @param market_ The trade store (TradingMarket) whose venue hook forms the trades.
    /// @param registry_ The node registry (removed or banned parties).
    constructor(IMarketAccess access_, ITradingMarket market_, INodeRegistry registry_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger BilateralContracts", "1")
    {
        if (
            address(access_) == address(0) || address(market_) == address(0)
                || address(registry_) == address(0)
        ) revert ZeroAddress();
        _market = market_;
        _registry = registry_;
    }

    // ================================================================ OPERATOR

    /// @inheritdoc IBilateralContracts
    function publishTemplate(string calldata kind, uint16 version, bytes32 templateHash)
        external
        onlyRole(Roles.OPERATOR)
        returns (uint32 templateId)
    {
        uint32 existing = _templateIds[templateHash];
        if (existing != 0) revert TemplateAlreadyPublished(templateHash, existing);
        templateId = ++_templateCount;
        _templateIds[templateHash] = templateId;
        _templates[templateId] =
            Template(templateId, kind, version, templateHash, uint64(block.timestamp));
        emit TemplatePublished(templateId, kind, version, templateHash, msg.sender);
    }

    // ================================================================ PARTIES

    /// @inheritdoc IBilateralContracts
    function register(
        ContractTerms calldata terms,
        bytes32 signedDigest,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external returns (uint256 contractNo) {
        if (terms.templateId == 0 || terms.templateId > _templateCount) {
            revert UnknownTemplate(terms.templateId);
        }
        _checkTerms(terms);
        bytes32 digest = termsDigest(terms);
        if (digest != signedDigest) revert TermsHashMismatch(signedDigest, digest);
        uint256 existing = _registered[digest];
        if (existing != 0) revert TermsAlreadyRegistered(digest, existing);
        _checkSignature(digest, terms.seller, sellerSignature);
        _checkSignature(digest, terms.buyer, buyerSignature);

        contractNo = ++_contractCount;
        _registered[digest] = contractNo;
        _between[terms.seller][terms.buyer].push(contractNo);
        _store(_contracts[contractNo], terms, digest);
        for (uint256 k = 0; k < terms.scheduleWh.length; ++k) {
            _slots[contractNo][k].energyWh = terms.scheduleWh[k].toUint64();
        }
        _emitRegistered(contractNo, _contracts[contractNo]);
    }

    /// @inheritdoc IBilateralContracts
    function formPeriodTrade(uint256 contractNo, uint32 periodId)
        external
        nonReentrant
        returns (uint256 tradeId)
    {
        StoredContract storage c = _active(contractNo);
        _checkPartyOrOperator(c, contractNo);
        if (c.expiresAt != 0 && block.timestamp > c.expiresAt) {
            revert ContractExpired(contractNo, c.expiresAt);
        }
        uint256 first = _firstSlot(c, contractNo, periodId);
        uint256 blocks = _blocks(c);
        uint256 formed = _formedTrade(contractNo, first, blocks);
        if (formed != 0) revert PeriodAlreadyFormed(contractNo, periodId, formed);
        for (uint256 b = 0; b < blocks; ++b) {
            Slot storage s = _slots[contractNo][first + b];
            if (s.energyWh == 0) continue;
            uint256 id = _formBlock(c, periodId, b, s.energyWh);
            s.tradeId = id.toUint64();
            emit PeriodTradeFormed(
                contractNo, periodId, id, s.energyWh, c.priceFenPerMwh, msg.sender
            );
            if (tradeId == 0) tradeId = id;
        }
        if (tradeId == 0) revert NothingScheduled(contractNo, periodId);
        if (periodId == c.firstPeriodId + c.periods - 1) {
            c.status = ContractStatus.Completed;
            emit ContractCompleted(contractNo, _tradedWh(contractNo, c.periods * _blocks(c)));
        }
    }

    /// @inheritdoc IBilateralContracts
    function amend(
        Amendment calldata amendment,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external {
        uint256 contractNo = amendment.contractNo;
        StoredContract storage c = _active(contractNo);
        uint256 entries = amendment.scheduleWh.length;
        if (
            entries == 0 || entries > MAX_PERIODS || entries % _blocks(c) != 0
                || amendment.priceFenPerMwh == 0
        ) revert InvalidTerms(entries, c.firstInterval, c.lastInterval);
        bytes32 digest = amendmentDigest(amendment);
        _checkChange(c, contractNo, amendment.sequence, digest, sellerSignature, buyerSignature);
        uint32 closed = _amendmentGateClosed(c, amendment);
        if (closed != 0) {
            _hold(contractNo, ChangeKind.Amendment, amendment.sequence, digest, closed);
        } else {
            _applyAmendment(c, amendment);
        }
    }

    /// @inheritdoc IBilateralContracts
    function terminate(
        Termination calldata termination,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external {
        uint256 contractNo = termination.contractNo;
        StoredContract storage c = _active(contractNo);
        bytes32 digest = terminationDigest(termination);
        _checkChange(c, contractNo, termination.sequence, digest, sellerSignature, buyerSignature);
        uint32 closed = _terminationGateClosed(c, contractNo);
        if (closed != 0) {
            _hold(contractNo, ChangeKind.Termination, termination.sequence, digest, closed);
        } else {
            c.sequence = termination.sequence;
            _end(c, contractNo, ContractStatus.Terminated, termination.reasonHash);
        }
    }

    // ================================================================ OPERATOR review

    /// @inheritdoc IBilateralContracts
    function approveAmendment(Amendment calldata amendment) external onlyRole(Roles.OPERATOR) {
        StoredContract storage c = _active(amendment.contractNo);
        _release(amendment.contractNo, amendmentDigest(amendment), true, bytes32(0));
        _applyAmendment(c, amendment);
    }

    /// @inheritdoc IBilateralContracts
    function approveTermination(Termination calldata termination)
        external
        onlyRole(Roles.OPERATOR)
    {
        uint256 contractNo = termination.contractNo;
        StoredContract storage c = _active(contractNo);
        _release(contractNo, terminationDigest(termination), true, bytes32(0));
        c.sequence = termination.sequence;
        _end(c, contractNo, ContractStatus.Terminated, termination.reasonHash);
    }

    /// @inheritdoc IBilateralContracts
    function rejectChange(uint256 contractNo, bytes32 reasonHash)
        external
        onlyRole(Roles.OPERATOR)
    {
        _stored(contractNo);
        _release(contractNo, _pending[contractNo].digest, false, reasonHash);
    }

    /// @inheritdoc IBilateralContracts
    function terminateForCause(uint256 contractNo) external {
        StoredContract storage c = _active(contractNo);
        bool sellerOut = _registry.statusOf(c.seller) == INodeRegistry.NodeStatus.Removed;
        bool buyerOut = _registry.statusOf(c.buyer) == INodeRegistry.NodeStatus.Removed;
        if (!sellerOut && !buyerOut) revert NoCauseForTermination(contractNo);
        bytes32 reason = bytes32(uint256(uint160(sellerOut ? c.seller : c.buyer)));
        _end(c, contractNo, ContractStatus.TerminatedForCause, reason);
    }

    /// @inheritdoc IBilateralContracts
    function recordAnomaly(uint256 contractNo, uint32 periodId, uint8 kind, bytes32 detailHash)
        external
    {
        StoredContract storage c = _stored(contractNo);
        _checkPartyOrOperator(c, contractNo);
        _firstSlot(c, contractNo, periodId);
        if (kind == 1) _deviationFlagged[contractNo][periodId] = true; // flagDeviation: once
        emit AnomalyRecorded(contractNo, periodId, kind, detailHash, msg.sender);
    }

    /// @inheritdoc IBilateralContracts
    function flagDeviation(uint256 contractNo, uint32 periodId)
        external
        returns (uint256 deviationWh)
    {
        StoredContract storage c = _stored(contractNo);
        uint256 first = _firstSlot(c, contractNo, periodId);
        if (_deviationFlagged[contractNo][periodId]) {
            revert DeviationAlreadyRecorded(contractNo, periodId);
        }
        uint256 contractedWh;
        uint256 executedWh;
        (contractedWh, executedWh, deviationWh) = _executed(contractNo, periodId, first, _blocks(c));
        if (deviationWh * 10_000 <= contractedWh * c.toleranceBps) {
            revert NoDeviation(contractNo, periodId, contractedWh, deviationWh, c.toleranceBps);
        }
        _deviationFlagged[contractNo][periodId] = true;
        bytes32 detail = keccak256(abi.encode(contractedWh, executedWh, deviationWh));
        emit AnomalyRecorded(contractNo, periodId, 1, detail, msg.sender);
    }

    // ================================================================ VIEWS

    /// @inheritdoc IBilateralContracts
    function termsDigest(ContractTerms calldata terms) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                bytes.concat(
                    abi.encode(
                        CONTRACT_TERMS_TYPEHASH,
                        terms.templateId,
                        terms.seller,
                        terms.buyer,
                        terms.documentHash,
                        terms.firstPeriodId,
                        terms.firstInterval,
                        terms.lastInterval,
                        terms.priceFenPerMwh
                    ),
                    abi.encode(
                        keccak256(abi.encodePacked(terms.scheduleWh)),
                        terms.toleranceBps,
                        terms.expiresAt,
                        terms.blockIntervals,
                        terms.renewalNoticeDays,
                        terms.salt
                    )
                )
            )
        );
    }

    /// @inheritdoc IBilateralContracts
    function amendmentDigest(Amendment calldata amendment) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    AMENDMENT_TYPEHASH,
                    amendment.contractNo,
                    amendment.sequence,
                    amendment.documentHash,
                    amendment.priceFenPerMwh,
                    keccak256(abi.encodePacked(amendment.scheduleWh))
                )
            )
        );
    }

    /// @inheritdoc IBilateralContracts
    function terminationDigest(Termination calldata termination) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    TERMINATION_TYPEHASH,
                    termination.contractNo,
                    termination.sequence,
                    termination.reasonHash
                )
            )
        );
    }

    /// @notice The trade store this contract forms trades in.
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc IBilateralContracts
    function templateCount() external view returns (uint32) {
        return _templateCount;
    }

    /// @inheritdoc IBilateralContracts
    function template(uint32 templateId) external view returns (Template memory) {
        if (templateId == 0 || templateId > _templateCount) revert UnknownTemplate(templateId);
        return _templates[templateId];
    }

    /// @inheritdoc IBilateralContracts
    function contractCount() external view returns (uint256) {
        return _contractCount;
    }

    /// @inheritdoc IBilateralContracts
    function contractOf(uint256 contractNo) external view returns (BilateralContract memory) {
        StoredContract storage c = _stored(contractNo);
        return BilateralContract(
            contractNo,
            c.templateId,
            c.seller,
            c.buyer,
            c.status,
            c.documentHash,
            c.termsDigest,
            c.firstPeriodId,
            c.periods,
            c.firstInterval,
            c.lastInterval,
            c.priceFenPerMwh,
            c.toleranceBps,
            c.expiresAt,
            c.registeredAt,
            c.sequence
        );
    }

    /// @inheritdoc IBilateralContracts
    function schedule(uint256 contractNo, uint256 offset, uint256 limit)
        external
        view
        returns (ScheduledPeriod[] memory page)
    {
        StoredContract storage c = _stored(contractNo);
        uint256 end = offset + limit < c.periods ? offset + limit : c.periods;
        uint256 n = end > offset ? end - offset : 0;
        uint256 blocks = _blocks(c);
        page = new ScheduledPeriod[](n);
        for (uint256 k = 0; k < n; ++k) {
            uint256 first = (offset + k) * blocks;
            uint256 wh = 0;
            for (uint256 b = 0; b < blocks; ++b) {
                wh += _slots[contractNo][first + b].energyWh;
            }
            page[k] = ScheduledPeriod(
                uint32(c.firstPeriodId + offset + k), wh, _formedTrade(contractNo, first, blocks)
            );
        }
    }

    /// @inheritdoc IBilateralContracts
    function profile(uint256 contractNo, uint32 periodId)
        external
        view
        returns (ScheduledBlock[] memory blocks)
    {
        StoredContract storage c = _stored(contractNo);
        uint256 first = _firstSlot(c, contractNo, periodId);
        blocks = new ScheduledBlock[](_blocks(c));
        for (uint256 b = 0; b < blocks.length; ++b) {
            Slot storage s = _slots[contractNo][first + b];
            (uint16 from, uint16 to) = _blockWindow(c, b);
            blocks[b] = ScheduledBlock(periodId, from, to, s.energyWh, s.tradeId);
        }
    }

    /// @inheritdoc IBilateralContracts
    function profileTerms(uint256 contractNo)
        external
        view
        returns (uint16 blockIntervals, uint16 blocks, uint16 renewalNoticeDays)
    {
        StoredContract storage c = _stored(contractNo);
        return (c.blockIntervals, uint16(_blocks(c)), c.renewalNoticeDays);
    }

    /// @inheritdoc IBilateralContracts
    function pendingChange(uint256 contractNo) external view returns (PendingChange memory) {
        _stored(contractNo);
        return _pending[contractNo];
    }

    /// @inheritdoc IBilateralContracts
    function contractsBetween(address seller, address buyer)
        external
        view
        returns (uint256[] memory contractNos)
    {
        return _between[seller][buyer];
    }

    // ================================================================ INTERNALS

    function _store(StoredContract storage c, ContractTerms calldata terms, bytes32 digest)
        private
    {
        c.seller = terms.seller;
        c.templateId = terms.templateId;
        c.status = ContractStatus.Active;
        c.toleranceBps = terms.toleranceBps;
        c.buyer = terms.buyer;
        c.firstPeriodId = terms.firstPeriodId;
        c.firstInterval = terms.firstInterval;
        c.lastInterval = terms.lastInterval;
        c.blockIntervals = terms.blockIntervals;
        c.periods = uint16(terms.scheduleWh.length / _blocks(c)); // <= MAX_PERIODS
        c.priceFenPerMwh = terms.priceFenPerMwh.toUint96();
        c.renewalNoticeDays = terms.renewalNoticeDays;
        c.expiresAt = terms.expiresAt;
        c.registeredAt = uint64(block.timestamp);
        c.documentHash = terms.documentHash;
        c.termsDigest = digest;
    }

    function _emitRegistered(uint256 contractNo, StoredContract storage c) private {
        emit ContractRegistered(
            contractNo,
            c.templateId,
            c.seller,
            c.buyer,
            c.documentHash,
            c.termsDigest,
            c.firstPeriodId,
            c.periods,
            _untradedWh(contractNo, c.periods * _blocks(c)),
            c.priceFenPerMwh,
            msg.sender
        );
    }

    function _checkTerms(ContractTerms calldata terms) private pure {
        if (terms.seller == address(0) || terms.buyer == address(0) || terms.seller == terms.buyer)
        {
            revert InvalidParties(terms.seller, terms.buyer);
        }
        uint256 entries = terms.scheduleWh.length;
        uint256 width = terms.lastInterval >= terms.firstInterval
            ? uint256(terms.lastInterval) - terms.firstInterval + 1
            : 0;
        uint256 bi = terms.blockIntervals;
        uint256 blocks = bi == 0 || bi >= width ? 1 : (width + bi - 1) / bi;
        if (
            entries == 0 || entries > MAX_PERIODS || width == 0 || entries % blocks != 0
                || terms.priceFenPerMwh == 0
        ) revert InvalidTerms(entries, terms.firstInterval, terms.lastInterval);
    }

    /// @dev Reverts MissingSignature (empty) or InvalidSignature (malformed, or signed by
    /// someone else: a forged signature, or terms other than the ones signed).
    function _checkSignature(bytes32 digest, address party, bytes calldata signature)
        private
        pure
    {
        if (signature.length == 0) revert MissingSignature(party);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != party) {
            revert InvalidSignature(party, signer);
        }
    }

    function _checkCosigned(
        bytes32 digest,
        StoredContract storage c,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) private view {
        _checkSignature(digest, c.seller, sellerSignature);
        _checkSignature(digest, c.buyer, buyerSignature);
    }

    /// @dev A co-signed change: none held, the next sequence, both signatures.
    function _checkChange(
        StoredContract storage c,
        uint256 contractNo,
        uint32 given,
        bytes32 digest,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) private view {
        bytes32 held = _pending[contractNo].digest;
        if (held != bytes32(0)) revert ChangePending(contractNo, held);
        uint32 expected = c.sequence + 1;
        if (given != expected) revert StaleSequence(contractNo, expected, given);
        _checkCosigned(digest, c, sellerSignature, buyerSignature);
    }

    function _hold(
        uint256 contractNo,
        ChangeKind kind,
        uint32 sequence,
        bytes32 digest,
        uint32 periodId
    ) private {
        _pending[contractNo] = PendingChange(kind, sequence, periodId, uint64(block.timestamp), digest);
        uint64 closedAt = _market.period(periodId).takingClosesAt;
        emit ChangeHeld(contractNo, kind, sequence, digest, periodId, closedAt, msg.sender);
    }

    /// @dev Clear the held change `digest` (NoPendingChange if it is not the one held).
    function _release(uint256 contractNo, bytes32 digest, bool approved, bytes32 reasonHash)
        private
    {
        PendingChange storage p = _pending[contractNo];
        bytes32 held = p.digest;
        if (p.kind == ChangeKind.None || held != digest) {
            revert NoPendingChange(contractNo, held, digest);
        }
        ChangeKind kind = p.kind;
        uint32 sequence = p.sequence;
        delete _pending[contractNo];
        emit ChangeReviewed(contractNo, kind, sequence, digest, approved, reasonHash, msg.sender);
    }

    /// @dev Gate closure: the period's trading close (takingClosesAt) has passed and its
    /// delivery has not ended. A period not opened in the market is not inside it.
    function _gateClosed(uint32 periodId) private view returns (bool) {
        if (periodId > _market.periodCount()) return false;
        ITradingMarket.Period memory p = _market.period(periodId);
        uint256 nowS = block.timestamp;
        return nowS >= p.takingClosesAt
            && nowS < uint256(p.deliveryStart) + uint256(p.intervalS) * p.intervals;
    }

    /// @dev The first period an amendment touches (a quantity or, unformed, the price of)
    /// inside gate closure, 0 if none; FormedPeriodChanged if it changes a formed period.
    function _amendmentGateClosed(StoredContract storage c, Amendment calldata a)
        private
        view
        returns (uint32)
    {
        uint256 blocks = _blocks(c);
        uint256 entries = a.scheduleWh.length;
        uint256 longest = entries > c.periods * blocks ? entries : c.periods * blocks;
        bool repriced = a.priceFenPerMwh != c.priceFenPerMwh;
        for (uint256 first = 0; first < longest; first += blocks) {
            uint32 periodId = uint32(c.firstPeriodId + first / blocks);
            uint256 formed = _formedTrade(a.contractNo, first, blocks);
            bool touched = false;
            for (uint256 b = 0; b < blocks; ++b) {
                uint256 j = first + b;
                uint256 was = _slots[a.contractNo][j].energyWh;
                uint256 amended = j < entries ? a.scheduleWh[j] : 0;
                if (formed != 0 && amended != was) {
                    revert FormedPeriodChanged(a.contractNo, periodId, was, amended);
                }
                touched = touched || amended != was || (repriced && formed == 0 && was != 0);
            }
            if (touched && _gateClosed(periodId)) return periodId;
        }
        return 0;
    }

    /// @dev The first unformed scheduled period inside gate closure (a termination drops
    /// it), 0 if none.
    function _terminationGateClosed(StoredContract storage c, uint256 contractNo)
        private
        view
        returns (uint32)
    {
        uint256 blocks = _blocks(c);
        for (uint256 k = 0; k < c.periods; ++k) {
            uint256 first = k * blocks;
            if (_formedTrade(contractNo, first, blocks) != 0) continue;
            uint256 wh = 0;
            for (uint256 b = 0; b < blocks; ++b) {
                wh += _slots[contractNo][first + b].energyWh;
            }
            uint32 periodId = uint32(c.firstPeriodId + k);
            if (wh != 0 && _gateClosed(periodId)) return periodId;
        }
        return 0;
    }

    function _applyAmendment(StoredContract storage c, Amendment calldata a) private {
        uint256 contractNo = a.contractNo;
        uint256 blocks = _blocks(c);
        uint256 entries = a.scheduleWh.length;
        uint256 before = _untradedWh(contractNo, c.periods * blocks);
        uint256 longest = entries > c.periods * blocks ? entries : c.periods * blocks;
        for (uint256 first = 0; first < longest; first += blocks) {
            bool formed = _formedTrade(contractNo, first, blocks) != 0;
            for (uint256 b = 0; b < blocks; ++b) {
                Slot storage s = _slots[contractNo][first + b];
                uint256 amended = first + b < entries ? a.scheduleWh[first + b] : 0;
                if (formed && amended != s.energyWh) {
                    revert FormedPeriodChanged(
                        contractNo, uint32(c.firstPeriodId + first / blocks), s.energyWh, amended
                    );
                }
                s.energyWh = amended.toUint64();
            }
        }
        c.sequence = a.sequence;
        c.periods = uint16(entries / blocks);
        c.priceFenPerMwh = a.priceFenPerMwh.toUint96();
        c.documentHash = a.documentHash;
        emit ContractAmended(
            contractNo,
            a.sequence,
            a.documentHash,
            a.priceFenPerMwh,
            c.periods,
            before,
            _untradedWh(contractNo, entries),
            msg.sender
        );
    }

    /// @dev Form block b of a period as a venue trade at the contract price (the caller,
    /// nonReentrant, records it).
    function _formBlock(StoredContract storage c, uint32 periodId, uint256 b, uint256 energyWh)
        private
        returns (uint256)
    {
        (uint16 from, uint16 to) = _blockWindow(c, b);
        return _market.formVenueTrade(
            c.seller, c.buyer, c.buyer, periodId, from, to, energyWh, c.priceFenPerMwh
        );
    }

    /// @dev Contracted, executed and |executed - contracted| summed over blocks of a
    /// period's formed trades (a failed trade executed nothing); PeriodNotDispatched while
    /// one is not dispatched or none is formed.
    function _executed(uint256 contractNo, uint32 periodId, uint256 first, uint256 blocks)
        private
        view
        returns (uint256 contractedWh, uint256 executedWh, uint256 deviationWh)
    {
        for (uint256 b = 0; b < blocks; ++b) {
            Slot storage s = _slots[contractNo][first + b];
            if (s.tradeId == 0) continue;
            ITradingMarket.Trade memory t = _market.trade(s.tradeId);
            if (t.status == ITradingMarket.TradeStatus.Formed) {
                revert PeriodNotDispatched(contractNo, periodId, s.tradeId);
            }
            uint256 done = t.status == ITradingMarket.TradeStatus.Failed ? 0 : t.executedWh;
            contractedWh += s.energyWh;
            executedWh += done;
            deviationWh += done > s.energyWh ? done - s.energyWh : s.energyWh - done;
        }
        if (contractedWh == 0) revert PeriodNotDispatched(contractNo, periodId, 0);
    }

    /// @dev Blocks per period (1 when flat).
    function _blocks(StoredContract storage c) private view returns (uint256) {
        uint256 width = uint256(c.lastInterval) - c.firstInterval + 1;
        uint256 bi = c.blockIntervals;
        return bi == 0 || bi >= width ? 1 : (width + bi - 1) / bi;
    }

    /// @dev The intervals of block b.
    function _blockWindow(StoredContract storage c, uint256 b)
        private
        view
        returns (uint16 from, uint16 to)
    {
        if (c.blockIntervals == 0) return (c.firstInterval, c.lastInterval);
        uint256 start = c.firstInterval + b * c.blockIntervals;
        uint256 end = start + c.blockIntervals - 1;
        return (uint16(start), uint16(end < c.lastInterval ? end : c.lastInterval));
    }

    /// @dev The first trade formed among a period's blocks (0 = the period is not formed).
    function _formedTrade(uint256 contractNo, uint256 first, uint256 blocks)
        private
        view
        returns (uint256)
    {
        for (uint256 b = 0; b < blocks; ++b) {
            uint256 id = _slots[contractNo][first + b].tradeId;
            if (id != 0) return id;
        }
        return 0;
    }

    function _checkPartyOrOperator(StoredContract storage c, uint256 contractNo) private view {
        if (msg.sender != c.seller && msg.sender != c.buyer && !_hasRole(Roles.OPERATOR, msg.sender))
        {
            revert NotAParty(contractNo, msg.sender);
        }
    }

    /// @dev End an active contract: its unformed periods are dropped (they hold no escrow).
    function _end(
        StoredContract storage c,
        uint256 contractNo,
        ContractStatus status,
        bytes32 reasonHash
    ) private {
        uint256 untraded = _untradedWh(contractNo, c.periods * _blocks(c));
        c.status = status;
        emit ContractTerminated(contractNo, status, reasonHash, untraded, msg.sender);
    }

    function _untradedWh(uint256 contractNo, uint256 periods) private view returns (uint256 wh) {
        for (uint256 k = 0; k < periods; ++k) {
            Slot storage s = _slots[contractNo][k];
            if (s.tradeId == 0) wh += s.energyWh;
        }
    }

    function _tradedWh(uint256 contractNo, uint256 periods) private view returns (uint256 wh) {
        for (uint256 k = 0; k < periods; ++k) {
            Slot storage s = _slots[contractNo][k];
            if (s.tradeId != 0) wh += s.energyWh;
        }
    }

    /// @dev The index of the period's first slot (PeriodNotInContract outside the schedule).
    function _firstSlot(StoredContract storage c, uint256 contractNo, uint32 periodId)
        private
        view
        returns (uint256)
    {
        if (periodId < c.firstPeriodId || periodId >= uint256(c.firstPeriodId) + c.periods) {
            revert PeriodNotInContract(contractNo, periodId);
        }
        return (periodId - c.firstPeriodId) * _blocks(c);
    }

    function _stored(uint256 contractNo) private view returns (StoredContract storage c) {
        c = _contracts[contractNo];
        if (c.status == ContractStatus.None) revert UnknownContract(contractNo);
    }

    function _active(uint256 contractNo) private view returns (StoredContract storage c) {
        c = _stored(contractNo);
        if (c.status != ContractStatus.Active) revert ContractNotActive(contractNo, c.status);
    }
}
