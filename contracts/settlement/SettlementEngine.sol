// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../interfaces/IMarketAccess.sol";
import {IMeterOracle} from "../interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";
import {IDefaultFund} from "./IDefaultFund.sol";
import {SettlementDeviations} from "./SettlementDeviations.sol";
import {SettlementEngineStorage} from "./SettlementEngineStorage.sol";
import {SettlementEngineViews} from "./SettlementEngineViews.sol";
import {SettlementTrades} from "./SettlementTrades.sol";

/// @title SettlementEngine
/// @notice Trade settlement, contract guarantees and deviation charges (see ISettlementEngine).
/// @dev This file holds the accounts and FTR sales (OPERATOR), deviation rates and
/// substitute nominations (DISPATCH), spare capacity and FTR purchases (nodes); the state
/// and shared helpers are SettlementEngineStorage, trade settlement SettlementTrades,
/// deviation charges, debts and withdrawals SettlementDeviations, the views
/// SettlementEngineViews.
contract SettlementEngine is SettlementTrades, SettlementDeviations, SettlementEngineViews {
    /// @param access_ The suite's access root.
    /// @param registry_ Node registry (regions, sides, bonds, trading blocks).
    /// @param market_ Trading market (trades and their escrows).
    /// @param tariff_ Transmission tariff (stamp rates and routes, formula 1).
    /// @param oracle_ Meter oracle (metered totals per node and period).
    /// @param dispatch_ Dispatch results (per trade; settlement opening times).
    /// @param token_ The settlement token.
    /// @param fund_ The default fund (charges a node cannot pay, recoveries of its debt).
    constructor(
        IMarketAccess access_,
        INodeRegistry registry_,
        ITradingMarket market_,
        ITransmissionTariff tariff_,
        IMeterOracle oracle_,
        IDispatchResults dispatch_,
        IERC20 token_,
        IDefaultFund fund_
    )
        MarketAccessed(access_)
        SettlementEngineStorage(registry_, market_, tariff_, oracle_, dispatch_, token_, fund_)
    {
        if (
            address(access_) == address(0) || address(registry_) == address(0)
                || address(market_) == address(0) || address(tariff_) == address(0)
                || address(oracle_) == address(0) || address(dispatch_) == address(0)
                || address(token_) == address(0) || address(fund_) == address(0)
        ) revert ZeroAddress();
    }

    // ================================================================ OPERATOR

    /// @inheritdoc ISettlementEngine
    function setGridAccount(uint8 region, address account) external onlyRole(Roles.OPERATOR) {
        if (account == address(0)) revert ZeroAddress();
        if (region >= 32) revert GridAccountNotSet(region);
        _grid[region] = account;
        emit GridAccountSet(region, account, msg.sender);
    }

    /// @inheritdoc ISettlementEngine
    function setBalancingAccount(address account) external onlyRole(Roles.OPERATOR) {
        if (account == address(0)) revert ZeroAddress();
        _balancing = account;
        emit BalancingAccountSet(account, msg.sender);
    }

    /// @inheritdoc ISettlementEngine
    function setRemainderAccount(address account) external onlyRole(Roles.OPERATOR) {
        if (account == address(0)) revert ZeroAddress();
        _remainder = account;
        emit RemainderAccountSet(account, msg.sender);
    }

    /// @inheritdoc ISettlementEngine
    function sellFtr(
        uint8 fromRegion,
        uint8 toRegion,
        uint32 period,
        uint64 capacityWh,
        uint128 rateFenPerMwh,
        uint128 priceFen
    ) external onlyRole(Roles.OPERATOR) returns (uint256 ftrId) {
        if (capacityWh == 0) revert ZeroEnergy();
        if (rateFenPerMwh == 0) revert ZeroAmount();
        _requireBeforeDelivery(period);
        ftrId = ++_ftrCount;
        _ftrs[ftrId] = Ftr({
            id: ftrId,
            period: period,
            fromRegion: fromRegion,
            toRegion: toRegion,
            holder: address(0),
            capacityWh: capacityWh,
            usedWh: 0,
            rateFenPerMwh: rateFenPerMwh,
            priceFen: priceFen
        });
        emit FtrOffered(
            ftrId, period, fromRegion, toRegion, capacityWh, rateFenPerMwh, priceFen, msg.sender
        );
    }

    // ================================================================ DISPATCH

    /// @inheritdoc ISettlementEngine
    function setDeviationRates(uint32 period, uint120 downFenPerMwh, uint120 upFenPerMwh)
        external
        onlyRole(Roles.DISPATCH)
    {
        _market.period(period); // reverts UnknownPeriod
        DeviationRates storage r = _rates[period];
        if (r.locked) revert DeviationRatesLocked(period);
        r.downFenPerMwh = downFenPerMwh;
        r.upFenPerMwh = upFenPerMwh;
        r.set = true;
        emit DeviationRatesSet(period, downFenPerMwh, upFenPerMwh, msg.sender);
    }

    /// @inheritdoc ISettlementEngine
    function nominateSubstitute(uint256 tradeId, address substitute)
        external
        onlyRole(Roles.DISPATCH)
    {
        ITradingMarket.Trade memory t = _market.trade(tradeId);
        if (
            t.status != ITradingMarket.TradeStatus.Formed
                && t.status != ITradingMarket.TradeStatus.Dispatched
        ) revert TradeNotOpen(tradeId, uint8(t.status));
        uint64 opensAt = _dispatch.settlementOpensAt(t.periodId);
        if (opensAt != 0 && block.timestamp >= opensAt) {
            revert SettlementAlreadyOpen(t.periodId, opensAt);
        }
        if (substitute != address(0)) {
            if (substitute == t.buyer || substitute == t.seller) {
                revert InvalidSubstitute(tradeId, substitute);
            }
            if (_spare[substitute][t.periodId].remainingWh == 0) {
                revert NoSpareCapacity(substitute, t.periodId);
            }
        }
        _nominee[tradeId] = substitute;
        emit SubstituteNominated(tradeId, substitute, msg.sender);
    }

    // ================================================================ nodes

    /// @inheritdoc ISettlementEngine
    function declareSpareCapacity(uint32 period, uint64 energyWh, uint128 priceFenPerMwh)
        external
    {
        if (!_registry.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        if (_registry.sideOf(msg.sender) != INodeRegistry.Side.Seller) revert NotASeller(msg.sender);
        _requireBeforeDelivery(period);
        _spare[msg.sender][period] = SpareCapacity({
            declaredWh: energyWh,
            remainingWh: energyWh,
            priceFenPerMwh: priceFenPerMwh
        });
        emit SpareCapacityDeclared(msg.sender, period, energyWh, priceFenPerMwh);
    }

    /// @inheritdoc ISettlementEngine
    function buyFtr(uint256 ftrId) external nonReentrant {
        Ftr storage f = _ftr(ftrId);
        if (f.holder != address(0)) revert FtrAlreadySold(ftrId, f.holder);
        if (!_registry.isActive(msg.sender)) revert NodeNotActive(msg.sender);
        _requireBeforeDelivery(f.period);
        bytes32 key = _ftrKey(msg.sender, f.period, f.fromRegion, f.toRegion);
        uint256 held = _ftrOf[key];
        if (held != 0) revert FtrAlreadyHeld(msg.sender, f.period, f.fromRegion, f.toRegion, held);
        f.holder = msg.sender;
        _ftrOf[key] = ftrId;
        uint256 price = f.priceFen;
        _ftrFund += price;
        emit FtrBought(ftrId, msg.sender, price, _ftrFund);
        _pull(msg.sender, address(this), price);
    }

    /// @inheritdoc ISettlementEngine
    function fundFtr(uint256 amountFen) external nonReentrant {
        if (amountFen == 0) revert ZeroAmount();
        _ftrFund += amountFen;
        emit FtrFunded(msg.sender, amountFen, _ftrFund);
        _pull(msg.sender, address(this), amountFen);
    }

}
