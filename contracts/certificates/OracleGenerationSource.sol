// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IGenerationSource} from "../interfaces/IGenerationSource.sol";
import {IMeterOracle} from "../interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IOracleGenerationSource} from "../interfaces/IOracleGenerationSource.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";

/// @title OracleGenerationSource
/// @notice The main-chain generation source: reads MeterOracle, NodeRegistry and
/// TradingMarket (see IOracleGenerationSource). Stateless.
contract OracleGenerationSource is IOracleGenerationSource {
    IMeterOracle private immutable _oracle;
    INodeRegistry private immutable _registry;
    ITradingMarket private immutable _market;

    /// @param oracle_ The meter oracle (verified node totals).
    /// @param registry_ The node registry (kinds).
    /// @param market_ The trading market (settled trades); zero for none.
    constructor(IMeterOracle oracle_, INodeRegistry registry_, ITradingMarket market_) {
        if (address(oracle_) == address(0) || address(registry_) == address(0)) {
            revert ZeroAddress();
        }
        _oracle = oracle_;
        _registry = registry_;
        _market = market_;
    }

    /// @inheritdoc IGenerationSource
    function verifiedGenerationWh(address generator, uint64 period)
        external
        view
        returns (bool recorded, uint64 exportWh)
    {
        (recorded,, exportWh,) = _oracle.meteredEnergyOf(generator, period);
    }

    /// @inheritdoc IGenerationSource
    function issuanceInputsOf(address generator, uint64 period)
        external
        view
        returns (bool known, INodeRegistry.NodeKind kind, bool recorded, uint64 exportWh)
    {
        (known, kind) = _nodeKindOf(generator);
        (recorded,, exportWh,) = _oracle.meteredEnergyOf(generator, period);
    }

    /// @inheritdoc IGenerationSource
    function verifiedConsumptionWh(address party, uint64 period)
        external
        view
        returns (bool recorded, uint64 importWh)
    {
        (recorded, importWh,,) = _oracle.meteredEnergyOf(party, period);
    }

    /// @inheritdoc IGenerationSource
    function nodeKindOf(address node) external view returns (bool known, INodeRegistry.NodeKind kind) {
        return _nodeKindOf(node);
    }

    /// @dev A node the registry never registered has the zero record (status None, kind
    /// Coal, the first of each enum), and registration writes both, so a kind other than
    /// Coal is a registered node's: only a Coal answer needs the status read as well.
    function _nodeKindOf(address node)
        private
        view
        returns (bool known, INodeRegistry.NodeKind kind)
    {
        kind = _registry.kindOf(node);
        if (kind != INodeRegistry.NodeKind.Coal) return (true, kind);
        known = _registry.statusOf(node) != INodeRegistry.NodeStatus.None;
    }

    /// @inheritdoc IGenerationSource
    function settledTrade(uint256 tradeId)
        external
        view
        returns (bool settled, address seller, address buyer, uint64 period, uint256 executedWh)
    {
        if (address(_market) == address(0) || tradeId == 0 || tradeId > _market.tradeCount()) {
            return (false, address(0), address(0), 0, 0);
        }
        ITradingMarket.Trade memory t = _market.trade(tradeId);
        if (t.status != ITradingMarket.TradeStatus.Settled) {
            return (false, t.seller, t.buyer, t.periodId, t.executedWh);
        }
        return (true, t.seller, t.buyer, t.periodId, t.executedWh);
    }

    /// @inheritdoc IOracleGenerationSource
    function meterOracle() external view returns (address) {
        return address(_oracle);
    }

    /// @inheritdoc IOracleGenerationSource
    function nodeRegistry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IOracleGenerationSource
    function tradingMarket() external view returns (address) {
        return address(_market);
    }
}
