// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGenerationSource} from "./IGenerationSource.sol";

/// @title IOracleGenerationSource
/// @notice The main-chain generation source: a stateless adapter over MeterOracle
/// (`meteredEnergyOf`: recorded, importWh, exportWh), NodeRegistry (`statusOf`, `kindOf`) and
/// TradingMarket (`trade`: status Settled, seller, buyer, periodId, executedWh).
interface IOracleGenerationSource is IGenerationSource {
    /// @notice A required address was zero (the trading market may be zero: no trades then).
    error ZeroAddress();

    function meterOracle() external view returns (address);
    function nodeRegistry() external view returns (address);
    /// @notice The trading market (zero: `settledTrade` always answers not settled).
    function tradingMarket() external view returns (address);
}
