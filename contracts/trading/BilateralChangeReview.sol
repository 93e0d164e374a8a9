// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {BilateralTerms} from "./BilateralTerms.sol";

/// @title BilateralChangeReview
/// @notice Co-signed amendments and terminations of a bilateral contract: applied at once,
/// or held for the OPERATOR's review when they touch a period inside gate closure.
/// @dev No state of its own (the layout is BilateralContractsStorage's).
abstract contract BilateralChangeReview is BilateralTerms, MarketAccessed {
    using SafeCast for uint256;

    // ================================================================ PARTIES

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

    // ================================================================ INTERNALS

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

    /// @dev End an active contract: its unformed periods are dropped (they hold no escrow).
    function _end(
        StoredContract storage c,
        uint256 contractNo,
        ContractStatus status,
        bytes32 reasonHash
    ) internal {
        uint256 untraded = _untradedWh(contractNo, c.periods * _blocks(c));
        c.status = status;
        emit ContractTerminated(contractNo, status, reasonHash, untraded, msg.sender);
    }
}
