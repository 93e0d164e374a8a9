// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

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
import {ISettlementMarket} from "./ISettlementMarket.sol";
import {Checked, RouteRates, SettleWork, Work} from "./SettleWork.sol";

/// @title SettlementEngine
/// @notice Trade settlement, contract guarantees and deviation charges (see ISettlementEngine).
contract SettlementEngine is ISettlementEngine, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Wh per MWh: amountFen = energyWh x rateFenPerMwh / WH_PER_MWH, rounded down.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Dispatch reason code of a curtailment for congestion (corridor limit).
    uint16 public constant REASON_CONGESTION = 1;
    /// @notice Registry block reason of an unpaid deviation charge.
    bytes32 public constant DEBT_REASON = "SETTLEMENT_DEBT";
    /// @notice Registry slash reason of a deviation charge taken from a bond.
    bytes32 public constant DEVIATION_REASON = "DEVIATION";

    uint8 private constant _DECLINED_PRICE = 1;
    uint8 private constant _DECLINED_CAPACITY = 2;
    uint8 private constant _DECLINED_ROUTE = 3;
    uint8 private constant _DECLINED_SETTLED = 4;

    INodeRegistry private immutable _registry;
    ITradingMarket private immutable _market;
    ISettlementMarket private immutable _lean; // the same market, its settlement functions
    ITransmissionTariff private immutable _tariff;
    IMeterOracle private immutable _oracle;
    IDispatchResults private immutable _dispatch;
    IERC20 private immutable _token;
    IDefaultFund private immutable _fund;

    address[32] private _grid;
    address private _balancing;
    address private _remainder;

    mapping(uint32 period => DeviationRates) private _rates;
    mapping(address node => mapping(uint32 period => SpareCapacity)) private _spare;
    mapping(uint256 tradeId => address) private _nominee;
    mapping(address node => mapping(uint32 period => NodePeriod)) private _np;

    uint256 private _ftrCount;
    mapping(uint256 ftrId => Ftr) private _ftrs;
    mapping(bytes32 key => uint256 ftrId) private _ftrOf;
    uint256 private _ftrFund;

    mapping(address account => uint256) private _claimable;
    uint256 private _totalClaimable;
    mapping(address node => uint256) private _debt;
    /// @dev Bit 0: trading blocked for the debt; bit 1: the debt holds a registry obligation.
    mapping(address node => uint8) private _debtFlags;

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
    ) MarketAccessed(access_) {
        if (
            address(access_) == address(0) || address(registry_) == address(0)
                || address(market_) == address(0) || address(tariff_) == address(0)
                || address(oracle_) == address(0) || address(dispatch_) == address(0)
                || address(token_) == address(0) || address(fund_) == address(0)
        ) revert ZeroAddress();
        _registry = registry_;
        _market = market_;
        _lean = ISettlementMarket(address(market_));
        _tariff = tariff_;
        _oracle = oracle_;
        _dispatch = dispatch_;
        _token = token_;
        _fund = fund_;
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
        private
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
        w.refundFen = _lean.settleTrade(tradeId, r.executedWh, r.curtailedWh, fromEscrow, failed);

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

        NodePeriod storage b = _np[t.buyer][w.period];
        b.importWh += uint64(w.executedWh + w.substitutedWh);
        b.settled += 1;
        NodePeriod storage s = _np[t.seller][w.period];
        s.exportWh += uint64(w.executedWh);
        s.settled += 1;

        _emitSettled(t, w);
        return true;
    }

    /// @dev Settlement of the trade's period is open and both parties have meter data; a
    /// missing one reverts MeterDataMissing, or in a batch flags the parties and skips.
    function _partiesMetered(
        ISettlementMarket.SettlementTrade memory t,
        bool skipMissingMeter,
        Checked memory checked
    ) private returns (bool) {
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

    function _emitSettled(ISettlementMarket.SettlementTrade memory t, Work memory w) private {
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
    function _substitution(ISettlementMarket.SettlementTrade memory t, Work memory w) private {
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
    ) private {
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
    ) private returns (uint256 share) {
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
    ) private {
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
        NodePeriod storage np = _np[node][period];
        if (np.deviationSettled) revert DeviationAlreadySettled(node, period);
        // final: a take needs now < takingClosesAt
        uint256 trades = _market.tradeCountIn(node, period);
        if (np.settled != trades) revert TradesUnsettled(node, period, trades, np.settled);
        (bool recorded,,, int256 meteredNet) = _oracle.meteredEnergyOf(node, period);
        if (!recorded) revert MeterDataMissing(node, period);

        np.deviationSettled = true;
        rates.locked = true;
        // the obligation the market added with the node's first trade of the period
        if (trades != 0) _registry.removeObligation(node);
        _applyDeviation(node, period, np, rates, meteredNet);
    }

    /// @dev Formulas 2 and 3 on deviationWh = meteredNet - (importWh - exportWh).
    function _applyDeviation(
        address node,
        uint32 period,
        NodePeriod storage np,
        DeviationRates storage rates,
        int256 meteredNet
    ) private {
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
    function _collect(address node, uint32 period, uint256 amount) private {
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
        returns (NodePeriod memory np)
    {
        np = _np[node][period];
        np.trades = uint32(_market.tradeCountIn(node, period));
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

    // ================================================================ internals

    function _credit(address account, uint256 amountFen) private {
        if (amountFen == 0) return;
        _claimable[account] += amountFen;
        _totalClaimable += amountFen;
    }

    function _pull(address from, address to, uint256 amountFen) private {
        if (amountFen == 0) return;
        uint256 balance = _token.balanceOf(from);
        uint256 allowance = _token.allowance(from, address(this));
        if (balance < amountFen || allowance < amountFen) {
            revert InsufficientFunds(from, balance, allowance, amountFen);
        }
        _token.safeTransferFrom(from, to, amountFen);
    }

    function _metered(address node, uint32 period) private view returns (bool recorded) {
        (recorded,,,) = _oracle.meteredEnergyOf(node, period);
    }

    function _flag(address node, uint32 period) private {
        NodePeriod storage np = _np[node][period];
        if (np.meterMissing) return;
        np.meterMissing = true;
        emit MeterDataFlagged(node, period, msg.sender);
    }

    function _requireSettlementOpen(uint32 period) private view {
        uint64 opensAt = _dispatch.settlementOpensAt(period);
        uint64 nowS = uint64(block.timestamp);
        if (opensAt == 0 || nowS < opensAt) revert SettlementNotOpen(period, opensAt, nowS);
    }

    function _requireBeforeDelivery(uint32 period) private view {
        ITradingMarket.Period memory p = _market.period(period);
        uint64 nowS = uint64(block.timestamp);
        if (nowS >= p.deliveryStart) revert DeliveryStarted(period, p.deliveryStart, nowS);
    }

    function _ftr(uint256 ftrId) private view returns (Ftr storage f) {
        f = _ftrs[ftrId];
        if (f.id == 0) revert UnknownFtr(ftrId);
    }

    function _ftrKey(address holder, uint32 period, uint8 fromRegion, uint8 toRegion)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(holder, period, fromRegion, toRegion));
    }
}
