// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {TypedDataDomain} from "../oracle/TypedDataDomain.sol";
import {BilateralChangeReview} from "./BilateralChangeReview.sol";
import {BilateralContractsStorage} from "./BilateralContractsStorage.sol";
import {BilateralPeriods} from "./BilateralPeriods.sol";

/// @title BilateralContracts
/// @notice Co-signed bilateral contracts executed through the common trade store (see
/// IBilateralContracts).
/// @dev EIP-712 through TypedDataDomain (OpenZeppelin's EIP712 does not compile for the
/// suite's evmVersion paris, see there) and OpenZeppelin ECDSA. A schedule is bounded by
/// MAX_PERIODS, so registration and amendment loop over at most that many periods.
/// This file holds templates, registration, termination for cause and the views; the
/// state and schedule helpers are BilateralContractsStorage, the digests and signature
/// checks BilateralTerms, amendments and terminations BilateralChangeReview, period
/// formation and deviation BilateralPeriods.
contract BilateralContracts is BilateralChangeReview, BilateralPeriods {
    using SafeCast for uint256;

    /// @param access_ The suite's access root.
    /// @param market_ The trade store (TradingMarket) whose venue hook forms the trades.
    /// @param registry_ The node registry (removed or banned parties).
    constructor(IMarketAccess access_, ITradingMarket market_, INodeRegistry registry_)
        MarketAccessed(access_)
        TypedDataDomain("GridLedger BilateralContracts", "1")
        BilateralContractsStorage(market_, registry_)
    {
        if (
            address(access_) == address(0) || address(market_) == address(0)
                || address(registry_) == address(0)
        ) revert ZeroAddress();
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

    // ================================================================ CAUSE

    /// @inheritdoc IBilateralContracts
    function terminateForCause(uint256 contractNo) external {
        StoredContract storage c = _active(contractNo);
        bool sellerOut = _registry.statusOf(c.seller) == INodeRegistry.NodeStatus.Removed;
        bool buyerOut = _registry.statusOf(c.buyer) == INodeRegistry.NodeStatus.Removed;
        if (!sellerOut && !buyerOut) revert NoCauseForTermination(contractNo);
        bytes32 reason = bytes32(uint256(uint160(sellerOut ? c.seller : c.buyer)));
        _end(c, contractNo, ContractStatus.TerminatedForCause, reason);
    }

    // ================================================================ VIEWS

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
}
