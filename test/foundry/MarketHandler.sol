// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IDispatchResults} from "../../contracts/interfaces/IDispatchResults.sol";
import {IMeterOracle} from "../../contracts/interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../../contracts/interfaces/INodeRegistry.sol";
import {ISettlementEngine} from "../../contracts/interfaces/ISettlementEngine.sol";
import {ISettlementToken} from "../../contracts/interfaces/ISettlementToken.sol";
import {ITradingMarket} from "../../contracts/interfaces/ITradingMarket.sol";
import {IDefaultFund} from "../../contracts/settlement/IDefaultFund.sol";
import {ITradeCloser} from "../../contracts/settlement/ITradeCloser.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {CheatCodes} from "./Vm.sol";
import {Suite} from "./Suite.sol";

/// @notice Drives random, realistic sequences through the role accounts: mint, transfer,
/// burn, bond deposits/withdrawals, slashes, post + take, cancel, signed dispatch results,
/// closing a period (meter totals + settlement opening), settle (also of settled trades),
/// settle deviations, withdraw credits and new periods; trades withheld from dispatch and
/// closed undispatched (TradeCloser); default fund contributions, replenishments and
/// assessments. `drain` closes every open trade. Every refusal must be one of the
/// custom errors the action may legitimately meet; anything else fails the run.
contract MarketHandler is CheatCodes {
    uint256 internal constant NODES = 4; // nodes 0, 1 sell; 2, 3 buy
    uint32 internal constant INTERVAL_S = 900;
    uint16 internal constant INTERVALS = 96;

    Suite public immutable suite;
    ISettlementToken internal immutable _token;
    INodeRegistry internal immutable _registry;
    ITradingMarket internal immutable _market;
    ISettlementEngine internal immutable _engine;
    IMeterOracle internal immutable _oracle;
    IDispatchResults internal immutable _dispatch;
    ITradeCloser internal immutable _closer;
    IDefaultFund internal immutable _fund;

    uint32 public currentPeriod;
    bool public settling;
    uint256[] internal _trades;
    mapping(uint256 tradeId => bool) public dispatched;
    mapping(uint256 tradeId => bool) public withheld;
    uint256 public closedUndispatched;
    mapping(uint256 tradeId => uint256) public settleSuccesses;
    uint256 public settledTrades;
    uint256 public doubleSettleAttempts;
    uint256 internal _refs;
    mapping(bytes32 => uint256) public calls;

    constructor(Suite suite_) {
        suite = suite_;
        _token = suite_.token();
        _registry = suite_.registry();
        _market = suite_.market();
        _engine = suite_.engine();
        _oracle = suite_.oracle();
        _dispatch = suite_.dispatch();
        _closer = suite_.closer();
        _fund = suite_.fund();
        _openPeriod();
    }

    // ------------------------------------------------------------------ views for invariants

    function tradeIds() external view returns (uint256[] memory) {
        return _trades;
    }

    // ------------------------------------------------------------------ money moves

    function mint(uint256 who, uint256 amountFen) external {
        address to = suite.holder(who);
        amountFen = _bound(amountFen, 1, 50_000_000);
        VM.prank(suite.bank());
        _token.mint(to, amountFen, bytes32(++_refs));
        calls["mint"] += 1;
    }

    function burn(uint256 who, uint256 amountFen) external {
        address from = suite.holder(who);
        amountFen = _bound(amountFen, 1, _token.balanceOf(from) + 1);
        address bank = suite.bank();
        VM.prank(from);
        _token.approve(bank, amountFen);
        VM.prank(bank);
        try _token.burn(from, amountFen, bytes32(++_refs)) {
            calls["burn"] += 1;
        } catch (bytes memory err) {
            _allowOnly(err, _errs(IERC20Errors.ERC20InsufficientBalance.selector));
        }
    }

    function transfer(uint256 from, uint256 to, uint256 amountFen) external {
        address a = suite.holder(from);
        amountFen = _bound(amountFen, 0, _token.balanceOf(a));
        address b = suite.holder(to);
        VM.prank(a);
        _token.transfer(b, amountFen);
        calls["transfer"] += 1;
    }

    function depositBond(uint256 node, uint256 amountFen) external {
        address n = suite.node(node);
        amountFen = _bound(amountFen, 1, _token.balanceOf(n) + 1);
        VM.prank(n);
        try _registry.depositBond(amountFen) {
            calls["depositBond"] += 1;
        } catch (bytes memory err) {
            _allowOnly(err, _errs(IERC20Errors.ERC20InsufficientBalance.selector));
        }
    }

    function withdrawBond(uint256 node, uint256 amountFen) external {
        address n = suite.node(node);
        amountFen = _bound(amountFen, 1, _registry.withdrawableBondOf(n) + 1);
        VM.prank(n);
        try _registry.withdrawBond(amountFen) {
            calls["withdrawBond"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    INodeRegistry.WithdrawalExceedsExcess.selector,
                    INodeRegistry.OpenObligations.selector,
                    INodeRegistry.ReservedBondOutstanding.selector
                )
            );
        }
    }

    function slash(uint256 node, uint256 amountFen) external {
        amountFen = _bound(amountFen, 1, 2_000_000);
        address n = suite.node(node);
        address sink = suite.penaltySink();
        VM.prank(suite.regulator()); // arguments first: a view call would use up the prank
        _registry.slash(n, amountFen, sink, bytes32("FUZZ"));
        calls["slash"] += 1;
    }

    // ------------------------------------------------------------------ trading

    function trade(uint256 seller, uint256 buyer, uint256 energyWh, uint256 priceFenPerMwh)
        external
    {
        if (settling) return;
        address s = suite.node(seller % 2);
        address b = suite.node(2 + buyer % 2);
        energyWh = _bound(energyWh, 1, 3_000_000);
        priceFenPerMwh = _bound(priceFenPerMwh, 1, 600_000);
        uint256 listingId = _post(s, energyWh, priceFenPerMwh);
        if (listingId == 0) return;
        VM.prank(b);
        try _market.take(listingId, energyWh, 0) returns (uint256 tradeId) {
            _trades.push(tradeId);
            calls["take"] += 1;
        } catch (bytes memory err) {
            _allowOnly(err, _takeRefusals());
            VM.prank(s);
            _market.cancel(listingId);
        }
    }

    function postAndCancel(uint256 seller, uint256 energyWh) external {
        if (settling) return;
        address s = suite.node(seller % 2);
        uint256 listingId = _post(s, _bound(energyWh, 1, 3_000_000), 300_000);
        if (listingId == 0) return;
        VM.prank(s);
        _market.cancel(listingId);
        calls["cancel"] += 1;
    }

    function dispatchOne(uint256 tradeSeed, uint256 executedSeed, uint256 reasonSeed) external {
        if (settling || _trades.length == 0) return;
        uint256 tradeId = _trades[tradeSeed % _trades.length];
        ITradingMarket.Trade memory t = _market.trade(tradeId);
        if (dispatched[tradeId] || t.periodId != currentPeriod) return;
        uint256 executed = executedSeed % (t.energyWh + 1);
        uint256 curtailed = (executedSeed / 7) % (t.energyWh - executed + 1);
        _submitResult(tradeId, t.periodId, executed, curtailed, uint16(reasonSeed % 4));
    }

    // ------------------------------------------------------------------ settlement

    /// @notice End the current period: dispatch what is left, meter every node, open
    /// settlement.
    function closePeriod(uint256 meterSeed) external {
        if (settling) return;
        _closePeriod(meterSeed);
    }

    function _closePeriod(uint256 meterSeed) internal {
        for (uint256 i = 0; i < _trades.length; ++i) {
            uint256 tradeId = _trades[i];
            if (dispatched[tradeId] || withheld[tradeId]) continue;
            ITradingMarket.Trade memory t = _market.trade(tradeId);
            _submitResult(tradeId, t.periodId, t.energyWh, 0, 0);
        }
        ITradingMarket.Period memory p = _market.period(currentPeriod);
        if (block.timestamp < p.takingClosesAt) VM.warp(p.takingClosesAt);
        _meter(meterSeed);
        uint64 deliveryEnd = p.deliveryStart + uint64(p.intervalS) * p.intervals;
        uint64 opensAt = deliveryEnd > block.timestamp ? deliveryEnd : uint64(block.timestamp + 1);
        VM.prank(suite.operator());
        _dispatch.setSettlementOpensAt(currentPeriod, opensAt);
        VM.warp(opensAt + 1);
        settling = true;
        calls["closePeriod"] += 1;
    }

    function settle(uint256 tradeSeed) external {
        if (_trades.length == 0) return;
        uint256 tradeId = _trades[tradeSeed % _trades.length];
        bool wasSettled = settleSuccesses[tradeId] != 0;
        try _engine.settle(tradeId) {
            // no double settlement: a settled trade can never be settled again
            require(!wasSettled, "trade settled twice");
            settleSuccesses[tradeId] += 1;
            settledTrades += 1;
            calls["settle"] += 1;
        } catch (bytes memory err) {
            if (wasSettled) {
                doubleSettleAttempts += 1;
                _allowOnly(err, _errs(ISettlementEngine.TradeAlreadySettled.selector));
            } else {
                _allowOnly(
                    err,
                    _errs(
                        ISettlementEngine.DispatchResultMissing.selector,
                        ISettlementEngine.SettlementNotOpen.selector
                    )
                );
            }
        }
    }

    function settleDeviation(uint256 node) external {
        if (!settling) return;
        try _engine.settleDeviation(suite.node(node), currentPeriod) {
            calls["settleDeviation"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    ISettlementEngine.DeviationAlreadySettled.selector,
                    ISettlementEngine.TradesUnsettled.selector,
                    ISettlementEngine.BalancingAccountShort.selector
                )
            );
        }
    }

    function withdrawCredits(uint256 who) external {
        address a = suite.holder(who);
        VM.prank(a);
        try _engine.withdraw() {
            calls["withdraw"] += 1;
        } catch (bytes memory err) {
            _allowOnly(err, _errs(ISettlementEngine.NothingToWithdraw.selector));
        }
    }

    function repayDebt(uint256 node, uint256 amountFen) external {
        address n = suite.node(node);
        uint256 debt = _engine.debtOf(n);
        if (debt == 0) return;
        amountFen = _bound(amountFen, 1, debt);
        VM.prank(n);
        try _engine.repayDebt(n, amountFen) {
            calls["repayDebt"] += 1;
        } catch (bytes memory err) {
            _allowOnly(err, _errs(ISettlementEngine.InsufficientFunds.selector));
        }
    }

    // ------------------------------------------------------------------ closure, defaults

    /// @notice The dispatch center never reports trade `tradeSeed` (of the open period).
    function withhold(uint256 tradeSeed) external {
        if (settling || _trades.length == 0) return;
        uint256 tradeId = _trades[tradeSeed % _trades.length];
        if (dispatched[tradeId]) return;
        withheld[tradeId] = true;
        calls["withhold"] += 1;
    }

    /// @notice Anyone closes a trade without a dispatch result (waiting for its deadline when
    /// `waitSeed` is even and the open period is over: a warp must not skip a trading window).
    function closeUndispatched(uint256 tradeSeed, uint256 waitSeed) external {
        if (_trades.length == 0) return;
        uint256 tradeId = _trades[tradeSeed % _trades.length];
        uint64 due = _closer.closureDueAt(tradeId);
        if (waitSeed % 2 == 0 && settling && block.timestamp < due) VM.warp(due);
        try _closer.closeUndispatched(tradeId) {
            require(settleSuccesses[tradeId] == 0, "closed after settling");
            settleSuccesses[tradeId] += 1;
            settledTrades += 1;
            closedUndispatched += 1;
            calls["closeUndispatched"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    ITradeCloser.ClosureNotDue.selector,
                    ITradeCloser.DispatchResultPresent.selector,
                    ITradeCloser.TradeAlreadyClosed.selector
                )
            );
        }
    }

    function contribute(uint256 node) external {
        address n = suite.node(node);
        VM.prank(n);
        _token.approve(address(_fund), type(uint256).max);
        try _fund.contribute(n) {
            calls["contribute"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    IDefaultFund.AlreadyContributed.selector,
                    IDefaultFund.InsufficientFunds.selector
                )
            );
        }
    }

    function requireContribution(uint256 node) external {
        try _fund.requireContribution(suite.node(node)) {
            calls["requireContribution"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    IDefaultFund.AlreadyContributed.selector,
                    IDefaultFund.ContributionAlreadyRequired.selector
                )
            );
        }
    }

    function replenish(uint256 amountFen) external {
        amountFen = _bound(amountFen, 1, 20_000_000);
        address op = suite.operator();
        VM.prank(suite.bank());
        _token.mint(op, amountFen, bytes32(++_refs));
        VM.startPrank(op);
        _token.approve(address(_fund), amountFen);
        _fund.replenish(amountFen);
        VM.stopPrank();
        calls["replenish"] += 1;
    }

    function payAssessment(uint256 node) external {
        address n = suite.node(node);
        VM.prank(n);
        try _fund.payAssessment(n) {
            calls["payAssessment"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(IDefaultFund.NoAssessment.selector, IDefaultFund.InsufficientFunds.selector)
            );
        }
    }

    function claimRecovery(uint256 node) external {
        address n = suite.node(node);
        try _fund.claimRecovery(n) {
            calls["claimRecovery"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err,
                _errs(
                    IDefaultFund.NothingToClaim.selector,
                    IDefaultFund.AssessmentOutstanding.selector
                )
            );
        }
    }

    /// @notice The nodes stay enrolled in this campaign: only the refusals are exercised.
    function refundContribution(uint256 node) external {
        try _fund.refundContribution(suite.node(node)) {
            calls["refundContribution"] += 1;
        } catch (bytes memory err) {
            _allowOnly(
                err, _errs(IDefaultFund.NotMember.selector, IDefaultFund.StillEnrolled.selector)
            );
        }
    }

    /// @notice The finite path to closure, from any state the run reached: end the open
    /// period (meter, open settlement; withheld trades stay without a result), then settle
    /// every dispatched trade and close every other one once due. Nothing may refuse.
    function drain() external {
        if (!settling) {
            _closePeriod(1);
            settling = true;
        }
        for (uint256 i = 0; i < _trades.length; ++i) {
            uint256 tradeId = _trades[i];
            if (settleSuccesses[tradeId] != 0) continue;
            if (dispatched[tradeId]) {
                _engine.settle(tradeId);
            } else {
                uint64 due = _closer.closureDueAt(tradeId);
                if (block.timestamp < due) VM.warp(due);
                _closer.closeUndispatched(tradeId);
                closedUndispatched += 1;
            }
            settleSuccesses[tradeId] += 1;
            settledTrades += 1;
        }
    }

    function nextPeriod() external {
        if (!settling) return;
        _openPeriod();
        settling = false;
        calls["nextPeriod"] += 1;
    }

    // ------------------------------------------------------------------ internals

    function _openPeriod() internal {
        uint64 nowS = uint64(block.timestamp);
        VM.prank(suite.operator());
        currentPeriod =
            _market.openPeriod(nowS + 1 days, INTERVAL_S, INTERVALS, nowS, nowS, nowS + 2 hours);
        VM.prank(suite.dispatchSigner());
        _engine.setDeviationRates(currentPeriod, 200_000, 500_000);
    }

    function _post(address seller, uint256 energyWh, uint256 priceFenPerMwh)
        internal
        returns (uint256 listingId)
    {
        VM.prank(seller);
        try _market.post(
            ITradingMarket.ListingSide.Sell,
            currentPeriod,
            0,
            3,
            energyWh,
            priceFenPerMwh,
            0,
            0,
            bytes32("terms")
        ) returns (uint256 id) {
            return id;
        } catch (bytes memory err) {
            _allowOnly(err, _takeRefusals());
            return 0;
        }
    }

    function _submitResult(
        uint256 tradeId,
        uint32 period,
        uint256 executedWh,
        uint256 curtailedWh,
        uint16 reason
    ) internal {
        IDispatchResults.DispatchResult[] memory results = new IDispatchResults.DispatchResult[](1);
        results[0] = IDispatchResults.DispatchResult({
            tradeId: tradeId,
            period: period,
            executedWh: uint64(executedWh),
            curtailedWh: uint64(curtailedWh),
            reasonCode: reason
        });
        (uint8 v, bytes32 r, bytes32 s) =
            VM.sign(suite.DISPATCH_KEY(), _dispatch.resultDigest(results[0]));
        bytes[] memory signatures = new bytes[](1);
        signatures[0] = abi.encodePacked(r, s, v);
        VM.prank(suite.oracleRelay());
        _dispatch.submitResults(results, signatures);
        dispatched[tradeId] = true;
        calls["dispatch"] += 1;
    }

    /// @dev Post the period's node totals as a 4-leaf Merkle tree and record every node's.
    function _meter(uint256 seed) internal {
        IMeterOracle.NodeTotal[] memory totals = new IMeterOracle.NodeTotal[](NODES);
        bytes32[] memory leaves = new bytes32[](NODES);
        for (uint256 i = 0; i < NODES; ++i) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            totals[i] = IMeterOracle.NodeTotal({
                node: suite.node(i),
                period: currentPeriod,
                importWh: uint64(h % 6_000_000),
                exportWh: uint64((h >> 64) % 6_000_000),
                readingCount: 96,
                readingsRoot: bytes32(uint256(0x11))
            });
            leaves[i] = _oracle.nodeTotalLeaf(totals[i]);
        }
        bytes32 h01 = _pair(leaves[0], leaves[1]);
        bytes32 h23 = _pair(leaves[2], leaves[3]);
        VM.prank(suite.oracleRelay());
        _oracle.postPeriod(currentPeriod, _pair(h01, h23), uint32(NODES), uint32(96 * NODES));
        for (uint256 i = 0; i < NODES; ++i) {
            bytes32[] memory proof = new bytes32[](2);
            proof[0] = leaves[i ^ 1];
            proof[1] = i < 2 ? h23 : h01;
            _oracle.submitNodeTotal(totals[i], proof);
        }
    }

    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _takeRefusals() internal pure returns (bytes4[] memory) {
        return _errs(
            ITradingMarket.InsufficientBalance.selector,
            INodeRegistry.InsufficientBond.selector,
            INodeRegistry.TradingBlocked.selector,
            INodeRegistry.BondBelowRequirement.selector
        );
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function _errs(bytes4 a) internal pure returns (bytes4[] memory out) {
        out = new bytes4[](1);
        out[0] = a;
    }

    function _errs(bytes4 a, bytes4 b) internal pure returns (bytes4[] memory out) {
        out = new bytes4[](2);
        (out[0], out[1]) = (a, b);
    }

    function _errs(bytes4 a, bytes4 b, bytes4 c) internal pure returns (bytes4[] memory out) {
        out = new bytes4[](3);
        (out[0], out[1], out[2]) = (a, b, c);
    }

    function _errs(bytes4 a, bytes4 b, bytes4 c, bytes4 d)
        internal
        pure
        returns (bytes4[] memory out)
    {
        out = new bytes4[](4);
        (out[0], out[1], out[2], out[3]) = (a, b, c, d);
    }
}
