// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {SettlementEngineStorage} from "./SettlementEngineStorage.sol";

/// @title SettlementEngineViews
/// @notice The read side of SettlementEngine: its accounts and wiring, deviation rates,
/// spare capacity, nominees, node periods, FTRs, claimable amounts and debts.
/// @dev No state of its own (SettlementEngineStorage).
abstract contract SettlementEngineViews is SettlementEngineStorage {
    // ================================================================ views

    /// @inheritdoc ISettlementEngine
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ISettlementEngine
    function market() external view returns (address) {
        return address(_market);
    }

    /// @inheritdoc ISettlementEngine
    function tariff() external view returns (address) {
        return address(_tariff);
    }

    /// @inheritdoc ISettlementEngine
    function meterOracle() external view returns (address) {
        return address(_oracle);
    }

    /// @inheritdoc ISettlementEngine
    function dispatchResults() external view returns (address) {
        return address(_dispatch);
    }

    /// @inheritdoc ISettlementEngine
    function settlementToken() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ISettlementEngine
    function gridAccountOf(uint8 region) external view returns (address) {
        return region < 32 ? _grid[region] : address(0);
    }

    /// @inheritdoc ISettlementEngine
    function balancingAccount() external view returns (address) {
        return _balancing;
    }

    /// @inheritdoc ISettlementEngine
    function remainderAccount() external view returns (address) {
        return _remainder;
    }

    /// @inheritdoc ISettlementEngine
    function deviationRates(uint32 period) external view returns (DeviationRates memory) {
        return _rates[period];
    }

    /// @inheritdoc ISettlementEngine
    function spareCapacityOf(address node, uint32 period)
        external
        view
        returns (SpareCapacity memory)
    {
        return _spare[node][period];
    }

    /// @inheritdoc ISettlementEngine
    function nomineeOf(uint256 tradeId) external view returns (address) {
        return _nominee[tradeId];
    }

    /// @inheritdoc ISettlementEngine
    function nodePeriod(address node, uint32 period)
        external
        view
        returns (NodePeriod memory)
    {
        return _nodePeriod(node, period);
    }

    /// @inheritdoc ISettlementEngine
    function ftrCount() external view returns (uint256) {
        return _ftrCount;
    }

    /// @inheritdoc ISettlementEngine
    function ftr(uint256 ftrId) external view returns (Ftr memory) {
        return _ftr(ftrId);
    }

    /// @inheritdoc ISettlementEngine
    function ftrsPage(uint256 offset, uint256 limit) external view returns (Ftr[] memory page) {
        uint256 len = _ftrCount;
        uint256 end = offset >= len ? offset : offset + (limit < len - offset ? limit : len - offset);
        page = new Ftr[](end - offset);
        for (uint256 i = offset; i < end; ++i) {
            page[i - offset] = _ftrs[i + 1];
        }
    }

    /// @inheritdoc ISettlementEngine
    function ftrOf(address holder, uint32 period, uint8 fromRegion, uint8 toRegion)
        external
        view
        returns (uint256)
    {
        return _ftrOf[_ftrKey(holder, period, fromRegion, toRegion)];
    }

    /// @inheritdoc ISettlementEngine
    function ftrFundFen() external view returns (uint256) {
        return _ftrFund;
    }

    /// @inheritdoc ISettlementEngine
    function claimableOf(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @inheritdoc ISettlementEngine
    function totalClaimableFen() external view returns (uint256) {
        return _totalClaimable;
    }

    /// @inheritdoc ISettlementEngine
    function debtOf(address node) external view returns (uint256) {
        return _debt[node];
    }

    /// @inheritdoc ISettlementEngine
    function defaultFund() external view returns (address) {
        return address(_fund);
    }
}
