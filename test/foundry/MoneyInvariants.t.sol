// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITradingMarket} from "../../contracts/interfaces/ITradingMarket.sol";
import {IDefaultFund} from "../../contracts/settlement/IDefaultFund.sol";
import {MarketHandler} from "./MarketHandler.sol";
import {Suite} from "./Suite.sol";

/// @notice Invariants of the money path, checked by forge after every handler call:
/// (1) conservation: total supply = every known wallet + TradingMarket escrow + NodeRegistry
///     bonds + SettlementEngine credits and FTR fund, and each contract's books equal its
///     token balance; (2) escrow held >= the open trades' remaining escrow (and equals it);
/// (3) no double settlement: no trade settled twice, closed trades = successful settles and
///     undispatched closures <= formed trades; (4) after every run, every open trade has a
///     finite path to closure: `drain` (the handler) settles or closes each one and leaves no
///     escrow locked and no trade obligation open, conservation still holding. The default
///     fund's holdings count in (1); its recovery reserve is held and covers every
///     member's unclaimed recovery share.
contract MoneyInvariants {
    Suite internal _suite;
    MarketHandler internal _handler;

    function setUp() public {
        _suite = new Suite();
        _handler = new MarketHandler(_suite);
    }

    /// @dev forge fuzzes only the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(_handler);
    }

    /// @notice One campaign checks all three after every call (three invariant_ functions
    /// would each run their own campaign: three times the time for the same coverage).
    function invariant_money() public view {
        _checkConservation();
        _checkEscrow();
        _checkNoDoubleSettlement();
    }

    function _checkConservation() internal view {
        uint256 wallets;
        for (uint256 i = 0; i < _suite.HOLDER_COUNT(); ++i) {
            wallets += _suite.token().balanceOf(_suite.holder(i));
        }
        uint256 escrow = _suite.market().totalEscrowFen();
        uint256 bonds = _suite.registry().totalBondFen();
        uint256 engine = _suite.engine().totalClaimableFen() + _suite.engine().ftrFundFen();
        uint256 fund = _suite.token().balanceOf(address(_suite.fund()));
        require(_suite.fund().fundFen() == fund, "fund books");
        _checkRecoveryReserve(fund);
        require(_suite.token().balanceOf(address(_suite.closer())) == 0, "closer holds nothing");
        require(_suite.token().balanceOf(address(_suite.market())) == escrow, "escrow books");
        require(_suite.token().balanceOf(address(_suite.registry())) == bonds, "bond books");
        require(_suite.token().balanceOf(address(_suite.engine())) == engine, "engine books");
        require(
            _suite.token().totalSupply() == wallets + escrow + bonds + engine + fund,
            "supply conserved"
        );
        uint256 nodeBonds;
        for (uint256 i = 0; i < _suite.NODE_COUNT(); ++i) {
            nodeBonds += _suite.registry().bondOf(_suite.node(i));
        }
        require(nodeBonds == bonds, "bonds = sum of node bonds");
    }

    /// @dev Recoveries never pay out more than was recovered: the members' unclaimed shares
    /// fit in the reserve, and the reserve in the fund's holdings.
    function _checkRecoveryReserve(uint256 fund) internal view {
        uint256 reserve = _suite.fund().recoveryReserveFen();
        require(reserve <= fund, "reserve held");
        uint256 index = _suite.fund().recoveryIndex();
        uint256 due;
        for (uint256 i = 0; i < _suite.NODE_COUNT(); ++i) {
            IDefaultFund.Member memory m = _suite.fund().memberOf(_suite.node(i));
            due += uint256(m.baseFen) * (index - m.recoveryIndex) / 1e18;
        }
        require(due <= reserve, "recoveries due <= reserve");
    }

    function _checkEscrow() internal view {
        uint256[] memory ids = _handler.tradeIds();
        uint256 open;
        for (uint256 i = 0; i < ids.length; ++i) {
            open += _suite.market().escrowOf(ids[i]);
        }
        uint256 held = _suite.token().balanceOf(address(_suite.market()));
        require(held >= open, "escrow held < open obligations");
        require(_suite.market().totalEscrowFen() == open, "escrow = open trades' escrow");
    }

    function _checkNoDoubleSettlement() internal view {
        uint256[] memory ids = _handler.tradeIds();
        uint256 closed;
        for (uint256 i = 0; i < ids.length; ++i) {
            require(_handler.settleSuccesses(ids[i]) <= 1, "settled twice");
            ITradingMarket.TradeStatus s = _suite.market().trade(ids[i]).status;
            bool isClosed =
                s == ITradingMarket.TradeStatus.Settled || s == ITradingMarket.TradeStatus.Failed;
            require(isClosed == (_handler.settleSuccesses(ids[i]) == 1), "status vs settles");
            if (isClosed) ++closed;
        }
        require(closed == _handler.settledTrades(), "closed = settles");
        require(closed <= _suite.market().tradeCount(), "settled <= formed");
    }

    /// @notice Every open trade has a finite path to closure (checked at the end of each run).
    function afterInvariant() public {
        _handler.drain();
        require(_suite.market().totalEscrowFen() == 0, "escrow locked after drain");
        uint256[] memory ids = _handler.tradeIds();
        for (uint256 i = 0; i < ids.length; ++i) {
            ITradingMarket.TradeStatus s = _suite.market().trade(ids[i]).status;
            require(
                s == ITradingMarket.TradeStatus.Settled || s == ITradingMarket.TradeStatus.Failed,
                "open trade after drain"
            );
        }
        invariant_money();
    }

    /// @notice A withheld trade closes undispatched with its whole escrow refunded.
    function test_undispatchedWalk() public {
        _handler.trade(0, 0, 1_000_000, 300_000);
        _handler.trade(1, 1, 500_000, 250_000);
        _handler.withhold(1);
        _handler.closePeriod(7);
        _handler.closeUndispatched(1, 1); // not due yet
        require(_handler.closedUndispatched() == 0, "closed early");
        _handler.settle(0);
        _handler.closeUndispatched(1, 0); // waits for the deadline
        require(_handler.closedUndispatched() == 1, "closed once due");
        _handler.settleDeviation(1);
        _handler.settleDeviation(3);
        afterInvariant();
    }

    /// @notice A fixed walk through one period (a smoke test of the handler itself).
    function test_handlerWalk() public {
        _handler.trade(0, 0, 1_000_000, 300_000);
        _handler.trade(1, 1, 500_000, 250_000);
        _handler.dispatchOne(0, 400_000, 0);
        _handler.closePeriod(7);
        _handler.settle(0);
        _handler.settle(1);
        _handler.settle(0);
        _handler.settleDeviation(0);
        _handler.settleDeviation(2);
        _handler.withdrawCredits(0);
        _handler.nextPeriod();
        require(_handler.settledTrades() == 2, "both settled");
        require(_handler.doubleSettleAttempts() == 1, "double settle refused");
        invariant_money();
    }
}
