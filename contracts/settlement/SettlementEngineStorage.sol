// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {MarketAccessed} from "../access/MarketAccessed.sol";
import {IDispatchResults} from "../interfaces/IDispatchResults.sol";
import {IMeterOracle} from "../interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ISettlementEngine} from "../interfaces/ISettlementEngine.sol";
import {ITradingMarket} from "../interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../interfaces/ITransmissionTariff.sol";
import {IDefaultFund} from "./IDefaultFund.sol";
import {ISettlementMarket} from "./ISettlementMarket.sol";

/// @title SettlementEngineStorage
/// @notice SettlementEngine's state and the helpers every part of it uses: credits and
/// token pulls, meter and settlement-window checks, FTRs by id and key.
/// @dev The whole storage layout of SettlementEngine, in its original order; the
/// contracts built on it (SettlementTrades, SettlementDeviations, SettlementEngineViews)
/// declare no state. Append only, never reorder: checked against the build's
/// storageLayout when this was split out of SettlementEngine.
abstract contract SettlementEngineStorage is ISettlementEngine, MarketAccessed, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Wh per MWh: amountFen = energyWh x rateFenPerMwh / WH_PER_MWH, rounded down.
    uint256 public constant WH_PER_MWH = 1_000_000;
    /// @notice Dispatch reason code of a curtailment for congestion (corridor limit).
    uint16 public constant REASON_CONGESTION = 1;
    /// @notice Registry block reason of an unpaid deviation charge.
    bytes32 public constant DEBT_REASON = "SETTLEMENT_DEBT";
    /// @notice Registry slash reason of a deviation charge taken from a bond.
    bytes32 public constant DEVIATION_REASON = "DEVIATION";

    uint8 internal constant _DECLINED_PRICE = 1;
    uint8 internal constant _DECLINED_CAPACITY = 2;
    uint8 internal constant _DECLINED_ROUTE = 3;
    uint8 internal constant _DECLINED_SETTLED = 4;

    INodeRegistry internal immutable _registry;
    ITradingMarket internal immutable _market;
    ISettlementMarket internal immutable _lean; // the same market, its settlement functions
    ITransmissionTariff internal immutable _tariff;
    IMeterOracle internal immutable _oracle;
    IDispatchResults internal immutable _dispatch;
    IERC20 internal immutable _token;
    IDefaultFund internal immutable _fund;

    address[32] internal _grid;
    address internal _balancing;
    address internal _remainder;

    mapping(uint32 period => DeviationRates) internal _rates;
    mapping(address node => mapping(uint32 period => SpareCapacity)) internal _spare;
    mapping(uint256 tradeId => address) internal _nominee;
    /// @dev What the engine keeps of a node-period itself: the flags, the energy the node
    /// supplied as a substitute (exportWh) and the trades closed undispatched (settled).
    /// The trades settled here and their energies are kept by the market beside the trade
    /// count (ISettlementMarket.periodTotalsOf, added by settleTrade); _nodePeriod sums.
    mapping(address node => mapping(uint32 period => NodePeriod)) internal _np;

    uint256 internal _ftrCount;
    mapping(uint256 ftrId => Ftr) internal _ftrs;
    mapping(bytes32 key => uint256 ftrId) internal _ftrOf;
    uint256 internal _ftrFund;

    mapping(address account => uint256) internal _claimable;
    uint256 internal _totalClaimable;
    mapping(address node => uint256) internal _debt;
    /// @dev Bit 0: trading blocked for the debt; bit 1: the debt holds a registry obligation.
    mapping(address node => uint8) internal _debtFlags;

    /// @param registry_ Node registry (regions, sides, bonds, trading blocks).
    /// @param market_ Trading market (trades and their escrows).
    /// @param tariff_ Transmission tariff (stamp rates and routes, formula 1).
    /// @param oracle_ Meter oracle (metered totals per node and period).
    /// @param dispatch_ Dispatch results (per trade; settlement opening times).
    /// @param token_ The settlement token.
    /// @param fund_ The default fund (charges a node cannot pay, recoveries of its debt).
    /// @dev SettlementEngine's constructor rejects zero addresses.
    constructor(
        INodeRegistry registry_,
        ITradingMarket market_,
        ITransmissionTariff tariff_,
        IMeterOracle oracle_,
        IDispatchResults dispatch_,
        IERC20 token_,
        IDefaultFund fund_
    ) {
        _registry = registry_;
        _market = market_;
        _lean = ISettlementMarket(address(market_));
        _tariff = tariff_;
        _oracle = oracle_;
        _dispatch = dispatch_;
        _token = token_;
        _fund = fund_;
    }

    // ================================================================ internals

    function _credit(address account, uint256 amountFen) internal {
        if (amountFen == 0) return;
        _claimable[account] += amountFen;
        _totalClaimable += amountFen;
    }

    function _pull(address from, address to, uint256 amountFen) internal {
        if (amountFen == 0) return;
        uint256 balance = _token.balanceOf(from);
        uint256 allowance = _token.allowance(from, address(this));
        if (balance < amountFen || allowance < amountFen) {
            revert InsufficientFunds(from, balance, allowance, amountFen);
        }
        _token.safeTransferFrom(from, to, amountFen);
    }

    function _metered(address node, uint32 period) internal view returns (bool recorded) {
        (recorded,,,) = _oracle.meteredEnergyOf(node, period);
    }

    /// @dev The node-period as ISettlementEngine.NodePeriod describes it: the engine's own
    /// record plus the market's totals (trades, settled, importWh, exportWh).
    function _nodePeriod(address node, uint32 period)
        internal
        view
        returns (NodePeriod memory np)
    {
        np = _np[node][period];
        (uint256 trades, uint256 settled, uint256 importWh, uint256 exportWh) =
            _lean.periodTotalsOf(node, period);
        np.trades = uint32(trades);
        np.settled += uint32(settled);
        np.importWh += uint64(importWh);
        np.exportWh += uint64(exportWh);
    }

    function _flag(address node, uint32 period) internal {
        NodePeriod storage np = _np[node][period];
        if (np.meterMissing) return;
        np.meterMissing = true;
        emit MeterDataFlagged(node, period, msg.sender);
    }

    function _requireSettlementOpen(uint32 period) internal view {
        uint64 opensAt = _dispatch.settlementOpensAt(period);
        uint64 nowS = uint64(block.timestamp);
        if (opensAt == 0 || nowS < opensAt) revert SettlementNotOpen(period, opensAt, nowS);
    }

    function _requireBeforeDelivery(uint32 period) internal view {
        ITradingMarket.Period memory p = _market.period(period);
        uint64 nowS = uint64(block.timestamp);
        if (nowS >= p.deliveryStart) revert DeliveryStarted(period, p.deliveryStart, nowS);
    }

    function _ftr(uint256 ftrId) internal view returns (Ftr storage f) {
        f = _ftrs[ftrId];
        if (f.id == 0) revert UnknownFtr(ftrId);
    }

    function _ftrKey(address holder, uint32 period, uint8 fromRegion, uint8 toRegion)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(holder, period, fromRegion, toRegion));
    }
}
