// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Roles} from "../access/Roles.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ISettlementMarket} from "./ISettlementMarket.sol";
import {Checked, RouteRates, SettleWork, Work} from "./SettleWork.sol";
import {SettlementEngineStorage} from "./SettlementEngineStorage.sol";

/// @title SettlementTrades
/// @notice Trade settlement: a trade's escrow paid out on its dispatch result and the
/// parties' meter data, substitution of unexecuted energy from declared spare capacity,
/// the transmission fee split per region (formula 1) and FTR compensation of curtailment.
/// @dev No state of its own (SettlementEngineStorage).
abstract contract SettlementTrades is SettlementEngineStorage {
    // ================================================================ trade settlement

    /// @inheritdoc ISettlementEngine
    function settle(uint256 tradeId) external nonReentrant {
        Checked memory none;
        _settle(tradeId, false, none);
    }

    /// @inheritdoc ISettlementEngine
    function settleBatch(uint256[] calldata tradeIds)
        external
        nonReentrant
        returns (uint256 settledCount)
    {
        Checked memory checked;
        for (uint256 i = 0; i < tradeIds.length; ++i) {
            if (_settle(tradeIds[i], true, checked)) ++settledCount;
        }
    }

    /// @inheritdoc ISettlementEngine
    function noteUndispatched(address buyer, address seller, uint32 period)
        external
        onlyRole(Roles.MARKET_CONTRACT)
    {
        _np[buyer][period].settled += 1;
        _np[seller][period].settled += 1;
    }

    /// @inheritdoc ISettlementEngine
    function flagMissingMeter(address node, uint32 period) external {
        _requireSettlementOpen(period);
        if (_metered(node, period)) revert MeterDataPresent(node, period);
        _flag(node, period);
    }

    function _settle(uint256 tradeId, bool skipMissingMeter, Checked memory checked)
        internal
        returns (bool)
    {
        ISettlementMarket.SettlementTrade memory t = _lean.settlementTrade(tradeId);
        if (
            t.status != ITradingMarket.TradeStatus.Formed
                && t.status != ITradingMarket.TradeStatus.Dispatched
        ) revert TradeAlreadySettled(tradeId, uint8(t.status));
        IDispatchResults.Execution memory r = _dispatch.executionOf(tradeId);
        if (!r.recorded) revert DispatchResultMissing(tradeId);
        if (!_partiesMetered(t, skipMissingMeter, checked)) return false;
        if (_remainder == address(0)) revert RemainderAccountNotSet();

        Work memory w;
        w.tradeId = tradeId;
        w.period = t.periodId;
        w.executedWh = r.executedWh;
        w.unexecutedWh = t.energyWh - r.executedWh;
        w.sellerFen = w.executedWh * t.priceFenPerMwh / WH_PER_MWH;
        w.feeFen = w.executedWh * t.sumRateFenPerMwh / WH_PER_MWH;
        if (w.unexecutedWh != 0) _substitution(t, w);

        uint256 fromEscrow = w.sellerFen + w.feeFen + w.substituteFen + w.substituteFeeFen;
        bool failed = w.executedWh == 0 && w.substitutedWh == 0;
        w.failed = failed;
        w.curtailedWh = r.curtailedWh;
        w.reasonCode = r.reasonCode;
        // the market also counts the trade in the parties' totals of the period (settled,
        // the buyer's import, the seller's export: ISettlementMarket.periodTotalsOf)
        w.refundFen = _lean.settleTrade(
            tradeId, r.executedWh, r.curtailedWh, w.substitutedWh, fromEscrow, failed
        );

        // seller: price x executed energy (in TradeSettled)
        _credit(t.seller, w.sellerFen);
        // formula 1 on the executed energy, split over the trade's route
        _splitFee(
            tradeId,
            SettleWork.ratesFor(checked, t.packedRoute, t.formedAt),
            w.executedWh,
            w.feeFen,
            t.sumRateFenPerMwh,
            false
        );
        // contract-energy transfer
        if (w.substitutedWh != 0) {
            _credit(w.substitute, w.substituteFen);
            _splitFee(
                tradeId,
                SettleWork.ratesFor(checked, w.substituteRoute, uint64(block.timestamp)),
                w.substitutedWh,
                w.substituteFeeFen,
                w.substituteSumRate,
                true
            );
            _np[w.substitute][w.period].exportWh += uint64(w.substitutedWh);
        }
        // financial transmission right
        if (r.reasonCode == REASON_CONGESTION && r.curtailedWh != 0) {
            _compensate(tradeId, t, r.curtailedWh);
        }

        _emitSettled(t, w);
        return true;
    }

    /// @dev Settlement of the trade's period is open and both parties have meter data; a
    /// missing one reverts MeterDataMissing, or in a batch flags the parties and skips.
    function _partiesMetered(
        ISettlementMarket.SettlementTrade memory t,
        bool skipMissingMeter,
        Checked memory checked
    ) internal returns (bool) {
        uint32 period = t.periodId;
        bool samePeriod = checked.period == period && period != 0;
        if (!samePeriod) _requireSettlementOpen(period);
        bool buyerMetered = samePeriod && checked.buyer == t.buyer || _metered(t.buyer, period);
        bool sellerMetered =
            samePeriod && checked.seller == t.seller || _metered(t.seller, period);
        if (!buyerMetered || !sellerMetered) {
            if (!skipMissingMeter) {
                revert MeterDataMissing(buyerMetered ? t.seller : t.buyer, period);
            }
            if (!buyerMetered) _flag(t.buyer, period);
            if (!sellerMetered) _flag(t.seller, period);
            return false;
        }
        checked.period = period;
        checked.buyer = t.buyer;
        checked.seller = t.seller;
        return true;
    }

    function _emitSettled(ISettlementMarket.SettlementTrade memory t, Work memory w) internal {
        emit TradeSettled(
            w.tradeId,
            t.periodId,
            t.buyer,
            t.seller,
            t.energyWh,
            w.executedWh,
            w.curtailedWh,
            w.reasonCode,
            w.substitutedWh,
            w.failed,
            msg.sender,
            t.priceFenPerMwh,
            w.sellerFen,
            w.refundFen
        );
    }

    /// @dev Offer the unexecuted energy to the nominated substitute at its declared price.
    /// Taken when the substitute's energy and route fee cost the buyer no more than the
    /// same energy under its contract: floor(W x ps / 1e6) + floor(W x ss / 1e6) <=
    /// floor(W x p / 1e6) + floor(W x s / 1e6); then the escrow always covers it.
    function _substitution(ISettlementMarket.SettlementTrade memory t, Work memory w) internal {
        address sub = _nominee[w.tradeId];
        if (sub == address(0)) return;
        SpareCapacity storage spare = _spare[sub][w.period];
        uint256 energy = w.unexecutedWh < spare.remainingWh ? w.unexecutedWh : spare.remainingWh;
        if (energy == 0) {
            emit SubstitutionDeclined(w.tradeId, sub, _DECLINED_CAPACITY, 0, 0, 0);
            return;
        }
        if (_np[sub][w.period].deviationSettled) {
            emit SubstitutionDeclined(w.tradeId, sub, _DECLINED_SETTLED, energy, 0, 0);
            return;
        }
        try _tariff.transmissionFeeFen(
            _registry.regionOf(sub), SettleWork.lastRegion(t.packedRoute), energy
        ) returns (uint256 fee_, uint8[] memory route_, uint256 sum_) {
            w.substituteFeeFen = fee_;
            w.substituteRoute = SettleWork.pack(route_);
            w.substituteSumRate = sum_;
        } catch {
            emit SubstitutionDeclined(w.tradeId, sub, _DECLINED_ROUTE, energy, 0, 0);
            return;
        }
        w.substituteFen = energy * spare.priceFenPerMwh / WH_PER_MWH;
        uint256 cost = w.substituteFen + w.substituteFeeFen;
        uint256 value =
            energy * t.priceFenPerMwh / WH_PER_MWH + energy * t.sumRateFenPerMwh / WH_PER_MWH;
        if (cost > value) {
            emit SubstitutionDeclined(w.tradeId, sub, _DECLINED_PRICE, energy, cost, value);
            w.substituteFen = 0;
            w.substituteFeeFen = 0;
            return;
        }
        spare.remainingWh -= uint64(energy);
        w.substitute = sub;
        w.substitutedWh = energy;
        emit SubstitutionTaken(
            w.tradeId,
            sub,
            t.buyer,
            energy,
            spare.priceFenPerMwh,
            w.substituteFen,
            w.substituteSumRate,
            w.substituteFeeFen
        );
    }

    /// @dev Credit each region on `route` floor(energyWh x rate(region, at) / 1e6) and the
    /// remainder of `feeFen` to the remainder account.
    function _splitFee(
        uint256 tradeId,
        RouteRates memory rr,
        uint256 energyWh,
        uint256 feeFen,
        uint256 sumRate,
        bool substitution
    ) internal {
        if (feeFen == 0 && energyWh == 0) return;
        if (!rr.fetched) SettleWork.fetch(rr, _tariff);
        if (rr.total != sumRate) {
            _credit(_remainder, feeFen);
            emit FeeSplitUnavailable(tradeId, feeFen, rr.at);
            return;
        }
        uint256 shares;
        uint256 n = rr.route & 0xff;
        for (uint256 i = 0; i < n; ++i) {
            shares +=
                _payShare(tradeId, SettleWork.region(rr.route, i), energyWh, rr.rates[i], substitution);
        }
        uint256 rest = feeFen - shares;
        if (rest != 0) {
            _credit(_remainder, rest);
            emit RemainderPaid(tradeId, _remainder, feeFen, shares, rest);
        }
    }

    function _payShare(
        uint256 tradeId,
        uint8 region,
        uint256 energyWh,
        uint256 rate,
        bool substitution
    ) internal returns (uint256 share) {
        address account = _grid[region];
        if (account == address(0)) revert GridAccountNotSet(region);
        share = energyWh * rate / WH_PER_MWH;
        _credit(account, share);
        emit TransmissionFeePaid(tradeId, region, account, energyWh, rate, share, substitution);
    }

    /// @dev FTR compensation for energy curtailed for congestion, from the FTR fund.
    function _compensate(
        uint256 tradeId,
        ISettlementMarket.SettlementTrade memory t,
        uint256 curtailedWh
    ) internal {
        uint8 from = SettleWork.region(t.packedRoute, 0);
        uint8 to = SettleWork.lastRegion(t.packedRoute);
        uint256 ftrId = _ftrOf[_ftrKey(t.buyer, t.periodId, from, to)];
        if (ftrId == 0) return;
        Ftr storage f = _ftrs[ftrId];
        uint256 left = f.capacityWh - f.usedWh;
        uint256 eligible = curtailedWh < left ? curtailedWh : left;
        uint256 amount = eligible * f.rateFenPerMwh / WH_PER_MWH;
        uint256 fund = _ftrFund;
        uint256 paid = amount < fund ? amount : fund;
        f.usedWh += uint64(eligible);
        _ftrFund = fund - paid;
        _credit(t.buyer, paid);
        emit FtrCompensated(
            tradeId, ftrId, t.buyer, curtailedWh, eligible, f.rateFenPerMwh, paid, amount - paid
        );
    }
}
