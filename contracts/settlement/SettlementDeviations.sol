// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {SettlementEngineStorage} from "./SettlementEngineStorage.sol";

/// @title SettlementDeviations
/// @notice Deviation charges (formulas 2 and 3) per node and period, their collection
/// from balance, bond and the default fund, debts and their repayment, and withdrawals
/// of credited amounts.
/// @dev No state of its own (SettlementEngineStorage).
abstract contract SettlementDeviations is SettlementEngineStorage {
    using SafeERC20 for IERC20;

    // ================================================================ deviations

    /// @inheritdoc ISettlementEngine
    function settleDeviation(address node, uint32 period) external nonReentrant {
        ITradingMarket.Period memory p = _market.period(period);
        uint64 nowS = uint64(block.timestamp);
        if (nowS < p.takingClosesAt) revert TakingNotClosed(period, p.takingClosesAt, nowS);
        _requireSettlementOpen(period);
        DeviationRates storage rates = _rates[period];
        if (!rates.set) revert DeviationRatesNotSet(period);
        if (_balancing == address(0)) revert BalancingAccountNotSet();
        NodePeriod memory np = _nodePeriod(node, period);
        if (np.deviationSettled) revert DeviationAlreadySettled(node, period);
        // final: a take needs now < takingClosesAt
        if (np.settled != np.trades) {
            revert TradesUnsettled(node, period, np.trades, np.settled);
        }
        (bool recorded,,, int256 meteredNet) = _oracle.meteredEnergyOf(node, period);
        if (!recorded) revert MeterDataMissing(node, period);

        _np[node][period].deviationSettled = true;
        rates.locked = true;
        // the obligation the market added with the node's first trade of the period
        if (np.trades != 0) _registry.removeObligation(node);
        _applyDeviation(node, period, np, rates, meteredNet);
    }

    /// @dev Formulas 2 and 3 on deviationWh = meteredNet - (importWh - exportWh).
    function _applyDeviation(
        address node,
        uint32 period,
        NodePeriod memory np,
        DeviationRates storage rates,
        int256 meteredNet
    ) internal {
        int256 contractedNet = int256(uint256(np.importWh)) - int256(uint256(np.exportWh));
        int256 deviation = meteredNet - contractedNet;
        bool rampUp = deviation > 0;
        uint256 rate = rampUp ? rates.upFenPerMwh : rates.downFenPerMwh;
        uint256 amount = uint256(deviation < 0 ? -deviation : deviation) * rate / WH_PER_MWH;
        emit DeviationSettled(
            node, period, meteredNet, contractedNet, deviation, rampUp, rate, amount
        );
        if (amount == 0) return;
        if (rampUp) {
            _collect(node, period, amount);
            return;
        }
        address balancing = _balancing;
        uint256 balance = _token.balanceOf(balancing);
        uint256 allowance = _token.allowance(balancing, address(this));
        if (balance < amount || allowance < amount) {
            revert BalancingAccountShort(balancing, balance, allowance, amount);
        }
        _credit(node, amount);
        _token.safeTransferFrom(balancing, address(this), amount);
    }

    /// @inheritdoc ISettlementEngine
    function repayDebt(address node, uint256 amountFen) external nonReentrant {
        uint256 debt = _debt[node];
        if (debt == 0) revert NoDebt(node);
        if (amountFen == 0) revert ZeroAmount();
        uint256 amount = amountFen < debt ? amountFen : debt;
        debt -= amount;
        _debt[node] = debt;
        emit DebtRepaid(node, msg.sender, amount, debt);
        _pull(msg.sender, address(_fund), amount);
        _fund.recover(node, amount);
        if (debt != 0) return;
        uint8 flags = _debtFlags[node];
        delete _debtFlags[node];
        if (flags & 1 != 0) _registry.unblockTrading(node, DEBT_REASON);
        if (flags & 2 != 0) _registry.removeObligation(node);
    }

    /// @inheritdoc ISettlementEngine
    function withdraw() external nonReentrant {
        uint256 amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _claimable[msg.sender] = 0;
        _totalClaimable -= amount;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @dev Formula 3 charge (the default waterfall, docs/defaults.md): the node's credit
    /// here, then its wallet (allowance), then its bond; the rest is the node's debt (it
    /// blocks trading and, as a registry obligation, exit) and the default fund covers it
    /// for the balancing account (fund, then allocation to the members).
    function _collect(address node, uint32 period, uint256 amount) internal {
        address balancing = _balancing;
        uint256 rest = amount;
        uint256 fromCredit = _claimable[node];
        if (fromCredit > rest) fromCredit = rest;
        if (fromCredit != 0) {
            _claimable[node] -= fromCredit;
            _totalClaimable -= fromCredit;
            rest -= fromCredit;
            _token.safeTransfer(balancing, fromCredit);
        }
        uint256 fromWallet;
        if (rest != 0) {
            uint256 balance = _token.balanceOf(node);
            uint256 allowance = _token.allowance(node, address(this));
            fromWallet = balance < allowance ? balance : allowance;
            if (fromWallet > rest) fromWallet = rest;
            if (fromWallet != 0) {
                rest -= fromWallet;
                _token.safeTransferFrom(node, balancing, fromWallet);
            }
        }
        uint256 fromBond;
        if (rest != 0) {
            fromBond = _registry.slash(node, rest, balancing, DEVIATION_REASON);
            rest -= fromBond;
        }
        emit DeviationCollected(node, period, fromCredit, fromWallet, fromBond, rest);
        if (rest != 0) {
            _debt[node] += rest;
            if (_debtFlags[node] == 0) {
                // the debt follows the entity: an obligation (held in any registry state)
                // keeps the node from exiting and its entity registered to this address
                _debtFlags[node] = 3;
                _registry.addObligation(node);
                _registry.blockTrading(node, DEBT_REASON);
            }
            _fund.cover(node, period, rest, balancing);
        }
    }
}
