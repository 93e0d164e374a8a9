// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IBilateralContracts} from "../interfaces/IBilateralContracts.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {BilateralContractsStorage} from "./BilateralContractsStorage.sol";

/// @title BilateralPeriods
/// @notice Period formation of a bilateral contract: a period's blocks formed as venue
/// trades in the trade store, and its execution checked against the schedule (anomalies,
/// deviation beyond the tolerance).
/// @dev No state of its own (the layout is BilateralContractsStorage's).
abstract contract BilateralPeriods is BilateralContractsStorage, MarketAccessed, ReentrancyGuard {
    using SafeCast for uint256;

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

    // ================================================================ INTERNALS

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

    function _checkPartyOrOperator(StoredContract storage c, uint256 contractNo) private view {
        if (msg.sender != c.seller && msg.sender != c.buyer && !_hasRole(Roles.OPERATOR, msg.sender))
        {
            revert NotAParty(contractNo, msg.sender);
        }
    }
}
