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
        uint128 priceFenPerMwh; // slot 2
        uint64 expiresAt;
        uint64 registeredAt;
        bytes32 documentHash;
        bytes32 termsDigest;
    }

    /// @dev One period of a schedule: its quantity and its trade (0 = not formed).
    struct Slot {
        uint64 energyWh;
        uint64 tradeId;
    }

    /// @notice The longest schedule, in delivery periods.
    uint16 public constant MAX_PERIODS = 400;

    /// @notice EIP-712 type of the co-signed contract terms.
    bytes32 public constant CONTRACT_TERMS_TYPEHASH = keccak256(
        "ContractTerms(uint32 templateId,address seller,address buyer,bytes32 documentHash,"
        "uint32 firstPeriodId,uint16 firstInterval,uint16 lastInterval,uint256 priceFenPerMwh,"
        "uint256[] scheduleWh,uint16 toleranceBps,uint64 expiresAt,bytes32 salt)"
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
        Slot storage s = _slotOf(c, contractNo, periodId);
        if (s.tradeId != 0) revert PeriodAlreadyFormed(contractNo, periodId, s.tradeId);
        uint256 energyWh = s.energyWh;
        if (energyWh == 0) revert NothingScheduled(contractNo, periodId);
        uint256 price = c.priceFenPerMwh;
        tradeId = _market.formVenueTrade(
            c.seller, c.buyer, c.buyer, periodId, c.firstInterval, c.lastInterval, energyWh, price
        );
        s.tradeId = tradeId.toUint64();
        emit PeriodTradeFormed(contractNo, periodId, tradeId, energyWh, price, msg.sender);
        if (periodId == c.firstPeriodId + c.periods - 1) {
            c.status = ContractStatus.Completed;
            emit ContractCompleted(contractNo, _tradedWh(contractNo, c.periods));
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
        _checkSequence(c, contractNo, amendment.sequence);
        uint256 periods = amendment.scheduleWh.length;
        if (periods == 0 || periods > MAX_PERIODS || amendment.priceFenPerMwh == 0) {
            revert InvalidTerms(periods, c.firstInterval, c.lastInterval);
        }
        bytes32 digest = amendmentDigest(amendment);
        _checkCosigned(digest, c, sellerSignature, buyerSignature);

        uint256 before = _untradedWh(contractNo, c.periods);
        uint256 longest = periods > c.periods ? periods : c.periods;
        for (uint256 k = 0; k < longest; ++k) {
            Slot storage s = _slots[contractNo][k];
            uint256 amended = k < periods ? amendment.scheduleWh[k] : 0;
            if (s.tradeId != 0 && amended != s.energyWh) {
                revert FormedPeriodChanged(
                    contractNo, uint32(c.firstPeriodId + k), s.energyWh, amended
                );
            }
            s.energyWh = amended.toUint64();
        }
        c.sequence = amendment.sequence;
        c.periods = uint16(periods);
        c.priceFenPerMwh = amendment.priceFenPerMwh.toUint128();
        c.documentHash = amendment.documentHash;
        emit ContractAmended(
            contractNo,
            amendment.sequence,
            amendment.documentHash,
            amendment.priceFenPerMwh,
            uint16(periods),
            before,
            _untradedWh(contractNo, periods),
            msg.sender
        );
    }

    /// @inheritdoc IBilateralContracts
    function terminate(
        Termination calldata termination,
        bytes calldata sellerSignature,
        bytes calldata buyerSignature
    ) external {
        uint256 contractNo = termination.contractNo;
        StoredContract storage c = _active(contractNo);
        _checkSequence(c, contractNo, termination.sequence);
        bytes32 digest = terminationDigest(termination);
        _checkCosigned(digest, c, sellerSignature, buyerSignature);
        c.sequence = termination.sequence;
        _end(c, contractNo, ContractStatus.Terminated, termination.reasonHash);
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
        _slotOf(c, contractNo, periodId);
        emit AnomalyRecorded(contractNo, periodId, kind, detailHash, msg.sender);
    }

    // ================================================================ VIEWS

    /// @inheritdoc IBilateralContracts
    function termsDigest(ContractTerms calldata terms) public view returns (bytes32) {
        return _hashTypedData(
            keccak256(
                abi.encode(
                    CONTRACT_TERMS_TYPEHASH,
                    terms.templateId,
                    terms.seller,
                    terms.buyer,
                    terms.documentHash,
                    terms.firstPeriodId,
                    terms.firstInterval,
                    terms.lastInterval,
                    terms.priceFenPerMwh,
                    keccak256(abi.encodePacked(terms.scheduleWh)),
                    terms.toleranceBps,
                    terms.expiresAt,
                    terms.salt
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
        page = new ScheduledPeriod[](n);
        for (uint256 k = 0; k < n; ++k) {
            Slot storage s = _slots[contractNo][offset + k];
            page[k] = ScheduledPeriod(uint32(c.firstPeriodId + offset + k), s.energyWh, s.tradeId);
        }
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
        c.periods = uint16(terms.scheduleWh.length); // <= MAX_PERIODS
        c.priceFenPerMwh = terms.priceFenPerMwh.toUint128();
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
            _untradedWh(contractNo, c.periods),
            c.priceFenPerMwh,
            msg.sender
        );
    }

    function _checkTerms(ContractTerms calldata terms) private pure {
        if (terms.seller == address(0) || terms.buyer == address(0) || terms.seller == terms.buyer)
        {
            revert InvalidParties(terms.seller, terms.buyer);
        }
        uint256 periods = terms.scheduleWh.length;
        if (
            periods == 0 || periods > MAX_PERIODS || terms.firstInterval > terms.lastInterval
                || terms.priceFenPerMwh == 0
        ) revert InvalidTerms(periods, terms.firstInterval, terms.lastInterval);
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

    function _checkSequence(StoredContract storage c, uint256 contractNo, uint32 given)
        private
        view
    {
        uint32 expected = c.sequence + 1;
        if (given != expected) revert StaleSequence(contractNo, expected, given);
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
        uint256 untraded = _untradedWh(contractNo, c.periods);
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

    function _slotOf(StoredContract storage c, uint256 contractNo, uint32 periodId)
        private
        view
        returns (Slot storage)
    {
        if (periodId < c.firstPeriodId || periodId >= uint256(c.firstPeriodId) + c.periods) {
            revert PeriodNotInContract(contractNo, periodId);
        }
        return _slots[contractNo][periodId - c.firstPeriodId];
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
