// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {Roles} from "../access/Roles.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ISettlementMarket} from "../settlement/ISettlementMarket.sol";
import {TradingMarketStorage} from "./TradingMarketStorage.sol";

/// @title TradingMarketEscrow
/// @notice The MARKET_CONTRACT side of a trade: dispatch results, escrow payouts, closing
/// and settling (the release of the seller's exposure and the buyer's refund).
/// @dev No state of its own (TradingMarketStorage).
abstract contract TradingMarketEscrow is TradingMarketStorage {
    using SafeERC20 for IERC20;

    /// @inheritdoc ITradingMarket
    function markDispatched(uint256 tradeId, uint256 executedWh, uint256 curtailedWh)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        StoredTrade storage t = _trade(tradeId);
        if (t.status != TradeStatus.Formed) revert InvalidTradeStatus(tradeId, t.status);
        _markDispatched(t, tradeId, executedWh, curtailedWh);
    }

    /// @inheritdoc ITradingMarket
    function dispatchAndPayOut(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 amountFen
    ) external onlyRole(Roles.MARKET_CONTRACT) nonReentrant {
        StoredTrade storage t = _openTrade(tradeId);
        if (t.status == TradeStatus.Formed) _markDispatched(t, tradeId, executedWh, curtailedWh);
        if (amountFen != 0) _payOut(t, tradeId, msg.sender, amountFen);
    }

    function _markDispatched(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) internal {
        _recordExecution(t, tradeId, executedWh, curtailedWh);
        t.status = TradeStatus.Dispatched;
        emit TradeDispatched(tradeId, executedWh, curtailedWh, msg.sender);
        emit TradeStatusChanged(tradeId, TradeStatus.Formed, TradeStatus.Dispatched, msg.sender);
    }

    /// @dev The executed and curtailed energy of `t` (DispatchExceedsTrade past its energy).
    function _recordExecution(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) internal {
        _checkExecution(t, tradeId, executedWh, curtailedWh);
        t.executedWh = uint64(executedWh); // both <= energyWh, a uint64
        t.curtailedWh = uint64(curtailedWh);
    }

    /// @inheritdoc ITradingMarket
    function payOut(uint256 tradeId, address to, uint256 amountFen)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        if (to == address(0)) revert ZeroAddress();
        StoredTrade storage t = _openTrade(tradeId);
        _payOut(t, tradeId, to, amountFen);
    }

    /// @inheritdoc ITradingMarket
    function closeTrade(uint256 tradeId, TradeStatus status)
        external
        onlyRole(Roles.MARKET_CONTRACT)
        nonReentrant
    {
        if (status != TradeStatus.Settled && status != TradeStatus.Failed) {
            revert InvalidFinalStatus(status);
        }
        _close(_openTrade(tradeId), tradeId, status);
    }

    /// @inheritdoc ISettlementMarket
    function settleTrade(
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh,
        uint256 substitutedWh,
        uint256 amountFen,
        bool failed
    ) external onlyRole(Roles.MARKET_CONTRACT) nonReentrant returns (uint256 refundFen) {
        StoredTrade storage t = _openTrade(tradeId);
        _addSettled(t, executedWh, substitutedWh);
        // a Formed trade goes straight to its end (no TradeDispatched: the engine's
        // TradeSettled and DispatchResultRecorded carry the energies)
        if (t.status == TradeStatus.Formed) {
            // slot 1 of a Formed trade is empty unless payOut wrote it (not read here)
            if (!t.paidWhileFormed) {
                _checkExecution(t, tradeId, executedWh, curtailedWh);
                return _settleFormed(t, tradeId, amountFen, failed);
            }
            _recordExecution(t, tradeId, executedWh, curtailedWh);
        }
        if (amountFen != 0) _payOut(t, tradeId, msg.sender, amountFen);
        refundFen = _close(t, tradeId, failed ? TradeStatus.Failed : TradeStatus.Settled);
    }

    /// @dev The trade counted settled in its parties' words of the period (_tradesIn):
    /// settled + 1 for both, the buyer's importWh + executed + substituted, the seller's
    /// exportWh + executed (checked uint32 / uint64 arithmetic, as the engine's NodePeriod).
    function _addSettled(StoredTrade storage t, uint256 executedWh, uint256 substitutedWh)
        internal
    {
        StoredListing storage l = _listings[t.listingId];
        uint32 periodId = l.periodId;
        (address buyer, address seller) = _parties(t);
        mapping(uint32 => uint256) storage b = _tradesIn[buyer];
        b[periodId] = _plusSettled(b[periodId], executedWh + substitutedWh, 96);
        mapping(uint32 => uint256) storage s = _tradesIn[seller];
        s[periodId] = _plusSettled(s[periodId], executedWh, 160);
    }

    /// @dev `word` with one more settled trade (bits 64..95) and `energyWh` added to the
    /// uint64 total at bit `at`; an overflow panics (0x11).
    function _plusSettled(uint256 word, uint256 energyWh, uint256 at)
        internal
        pure
        returns (uint256)
    {
        uint32 settled = uint32(word >> 64) + 1;
        uint64 total = uint64(word >> at) + uint64(energyWh); // energyWh < 2^49
        word &= ~(uint256(type(uint32).max) << 64 | uint256(type(uint64).max) << at);
        return word | uint256(settled) << 64 | uint256(total) << at;
    }

    function _checkExecution(
        StoredTrade storage t,
        uint256 tradeId,
        uint256 executedWh,
        uint256 curtailedWh
    ) internal view {
        if (executedWh + curtailedWh > t.energyWh) {
            revert DispatchExceedsTrade(tradeId, executedWh, curtailedWh, t.energyWh);
        }
    }

    /// @dev settleTrade of a Formed trade with an empty slot 1: payOut(amountFen) to the
    /// caller and _close, with the same checks, events and transfers in the same order,
    /// writing only the status (the paid-out amount of a closed trade is its whole escrow;
    /// its energies are DispatchResults' record, which `trade` reads).
    function _settleFormed(StoredTrade storage t, uint256 tradeId, uint256 amountFen, bool failed)
        internal
        returns (uint256 left)
    {
        uint256 energyFen = _energyFen(t);
        uint256 escrowFen = energyFen + _feeFen(t);
        if (amountFen > escrowFen) revert EscrowExceeded(tradeId, amountFen, escrowFen);
        left = escrowFen - amountFen;
        _totalEscrow -= uint128(escrowFen);
        if (amountFen != 0) _transferOut(tradeId, msg.sender, amountFen, left);
        TradeStatus status = failed ? TradeStatus.Failed : TradeStatus.Settled;
        t.status = status;
        (address buyer, address seller) = _parties(t);
        uint256 exposureFen = _exposure(energyFen, _exposureBpsOf(t));
        if (exposureFen != 0) _registry.releaseBond(seller, exposureFen);
        emit TradeStatusChanged(tradeId, TradeStatus.Formed, status, msg.sender);
        if (left != 0) _transferOut(tradeId, buyer, left, 0);
    }

    function _transferOut(uint256 tradeId, address to, uint256 amountFen, uint256 remainingFen)
        internal
    {
        emit EscrowPaidOut(tradeId, to, amountFen, remainingFen, msg.sender);
        _token.safeTransfer(to, amountFen);
    }

    /// @dev Close: release the obligations and exposure, refund the rest of the escrow.
    function _close(StoredTrade storage t, uint256 tradeId, TradeStatus status)
        internal
        returns (uint256 left)
    {
        TradeStatus previous = t.status;
        t.status = status;
        uint256 energyFen = _energyFen(t);
        left = energyFen + _feeFen(t) - t.paidOutFen;
        uint256 exposureFen = _exposure(energyFen, _exposureBpsOf(t));
        (address buyer, address seller) = _parties(t);
        // the parties' obligations of the period are released when their deviation of the
        // period settles (SettlementEngine.settleDeviation); the exposure here
        if (exposureFen != 0) _registry.releaseBond(seller, exposureFen);
        emit TradeStatusChanged(tradeId, previous, status, msg.sender);
        if (left != 0) _payOut(t, tradeId, buyer, left);
    }

    function _payOut(StoredTrade storage t, uint256 tradeId, address to, uint256 amountFen)
        internal
    {
        uint256 paid = t.paidOutFen;
        uint256 left = _energyFen(t) + _feeFen(t) - paid;
        if (amountFen > left) revert EscrowExceeded(tradeId, amountFen, left);
        if (t.status == TradeStatus.Formed) t.paidWhileFormed = true;
        t.paidOutFen = uint128(paid + amountFen); // <= escrow, below 2^128
        _totalEscrow -= uint128(amountFen);
        _transferOut(tradeId, to, amountFen, left - amountFen);
    }
}
