// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MarketAccess} from "../../contracts/access/MarketAccess.sol";
import {Roles} from "../../contracts/access/Roles.sol";
import {IDispatchResults} from "../../contracts/interfaces/IDispatchResults.sol";
import {IMarketAccess} from "../../contracts/interfaces/IMarketAccess.sol";
import {IMeterOracle} from "../../contracts/interfaces/IMeterOracle.sol";
import {INodeRegistry} from "../../contracts/interfaces/INodeRegistry.sol";
import {INodeStatus} from "../../contracts/interfaces/INodeStatus.sol";
import {ISettlementEngine} from "../../contracts/interfaces/ISettlementEngine.sol";
import {ISettlementToken} from "../../contracts/interfaces/ISettlementToken.sol";
import {ITradingMarket} from "../../contracts/interfaces/ITradingMarket.sol";
import {ITransmissionTariff} from "../../contracts/interfaces/ITransmissionTariff.sol";
import {DispatchResults} from "../../contracts/oracle/DispatchResults.sol";
import {MeterOracle} from "../../contracts/oracle/MeterOracle.sol";
import {NodeRegistry} from "../../contracts/registry/NodeRegistry.sol";
import {DefaultFund} from "../../contracts/settlement/DefaultFund.sol";
import {ISettlementMarket} from "../../contracts/settlement/ISettlementMarket.sol";
import {ITradeCloser} from "../../contracts/settlement/ITradeCloser.sol";
import {SettlementEngine} from "../../contracts/settlement/SettlementEngine.sol";
import {TradeCloser} from "../../contracts/settlement/TradeCloser.sol";
import {SettlementToken} from "../../contracts/token/SettlementToken.sol";
import {TransmissionTariff} from "../../contracts/tariff/TransmissionTariff.sol";
import {TradingMarket} from "../../contracts/trading/TradingMarket.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {CheatCodes} from "./Vm.sol";

/// @notice The money path of the real suite (ledger/suite/s00..s50), deployed and wired as
/// `gridledger deploy` does: MarketAccess, SettlementToken, NodeRegistry, TransmissionTariff,
/// TradingMarket (MARKET_CONTRACT), MeterOracle, DispatchResults, DefaultFund,
/// SettlementEngine (MARKET_CONTRACT), TradeCloser (MARKET_CONTRACT); one account per role; two regions; two sellers and two buyers admitted
/// with a bond; grid, balancing and remainder accounts set.
contract Suite is CheatCodes {
    uint256 public constant DISPATCH_KEY = 0xD15A7C4;
    uint256 public constant NODE_COUNT = 4;
    uint256 public constant HOLDER_COUNT = 9;
    uint256 internal constant BOND_FEN = 1_000_000;
    uint256 internal constant FUNDS_FEN = 50_000_000;

    address public constant ADMIN = address(0xAD);
    address public constant operator = address(0x0BE);
    address public constant verifier = address(0x7E1);
    address public constant regulator = address(0x2E6);
    address public constant bank = address(0xBA4C);
    address public constant oracleRelay = address(0x0AC1);
    address public constant penaltySink = address(0x5111C);
    address public immutable dispatchSigner;

    MarketAccess public immutable access;
    ISettlementToken public immutable token;
    INodeRegistry public immutable registry;
    ITransmissionTariff public immutable tariff;
    ITradingMarket public immutable market;
    IMeterOracle public immutable oracle;
    IDispatchResults public immutable dispatch;
    ISettlementEngine public immutable engine;
    DefaultFund public immutable fund;
    ITradeCloser public immutable closer;

    address[NODE_COUNT] internal _nodes;
    address[HOLDER_COUNT] internal _holders;

    constructor() {
        dispatchSigner = VM.addr(DISPATCH_KEY);
        access = new MarketAccess(1 days, ADMIN);
        IMarketAccess a = IMarketAccess(address(access));
        token = new SettlementToken(a);
        uint256[9] memory bonds;
        for (uint256 i = 0; i < 9; ++i) {
            bonds[i] = BOND_FEN;
        }
        registry = new NodeRegistry(a, IERC20(address(token)), bonds, 8, 180 days);
        tariff = new TransmissionTariff(a);
        market = new TradingMarket(a, registry, tariff, IERC20(address(token)));
        oracle = new MeterOracle(a, INodeStatus(address(registry)));
        dispatch = new DispatchResults(a, ISettlementMarket(address(market)));
        fund = new DefaultFund(a, registry, IERC20(address(token)));
        engine = new SettlementEngine(
            a, registry, market, tariff, oracle, dispatch, IERC20(address(token)), fund
        );
        closer = new TradeCloser(a, market, dispatch, engine);
        _grantRoles();
        _tariff();
        for (uint256 i = 0; i < NODE_COUNT; ++i) {
            _nodes[i] = address(uint160(0x10000 + i));
            _holders[i] = _nodes[i];
        }
        _holders[4] = address(0x6E1D0); // grid account, region 0
        _holders[5] = address(0x6E1D1); // grid account, region 1
        _holders[6] = address(0xBA1A); // balancing account
        _holders[7] = address(0x4E3A); // remainder account
        _holders[8] = penaltySink;
        _accounts();
        _admit(0, INodeRegistry.NodeKind.Wind, INodeRegistry.Side.Seller, 0);
        _admit(1, INodeRegistry.NodeKind.Storage, INodeRegistry.Side.Seller, 1);
        _admit(2, INodeRegistry.NodeKind.Consumer, INodeRegistry.Side.Buyer, 1);
        _admit(3, INodeRegistry.NodeKind.Consumer, INodeRegistry.Side.Buyer, 0);
    }

    function node(uint256 i) external view returns (address) {
        return _nodes[i % NODE_COUNT];
    }

    /// @notice Every account outside the suite that may hold tokens.
    function holder(uint256 i) external view returns (address) {
        return _holders[i % HOLDER_COUNT];
    }

    function _grantRoles() internal {
        VM.startPrank(ADMIN);
        access.grantRole(Roles.OPERATOR, operator);
        access.grantRole(Roles.VERIFIER, verifier);
        access.grantRole(Roles.REGULATOR, regulator);
        access.grantRole(Roles.CLEARING_BANK, bank);
        access.grantRole(Roles.METER_ORACLE, oracleRelay);
        access.grantRole(Roles.DISPATCH, dispatchSigner);
        access.grantRole(Roles.MARKET_CONTRACT, address(market));
        access.grantRole(Roles.MARKET_CONTRACT, address(engine));
        access.grantRole(Roles.MARKET_CONTRACT, address(closer));
        access.grantRole(Roles.MARKET_CONTRACT, address(fund));
        // as ledger/deploy.py (docs/gas.md)
        ISettlementMarket(address(market)).setDispatchResults(address(dispatch));
        VM.stopPrank();
    }

    function _tariff() internal {
        VM.startPrank(regulator);
        tariff.defineRegion(0, bytes32("North"));
        tariff.defineRegion(1, bytes32("Hub"));
        tariff.scheduleStampRate(0, 3_000, uint64(block.timestamp));
        tariff.scheduleStampRate(1, 9_000, uint64(block.timestamp));
        tariff.setEdge(0, 1, true);
        VM.stopPrank();
    }

    function _accounts() internal {
        VM.startPrank(operator);
        engine.setGridAccount(0, _holders[4]);
        engine.setGridAccount(1, _holders[5]);
        engine.setBalancingAccount(_holders[6]);
        engine.setRemainderAccount(_holders[7]);
        VM.stopPrank();
        VM.prank(bank);
        token.mint(_holders[6], 100_000_000, bytes32("BALANCING"));
        VM.prank(_holders[6]);
        token.approve(address(engine), type(uint256).max);
    }

    function _admit(
        uint256 i,
        INodeRegistry.NodeKind kind,
        INodeRegistry.Side side,
        uint8 region
    ) internal {
        address n = _nodes[i];
        uint64 capacity = side == INodeRegistry.Side.Seller ? 20_000 : 0;
        VM.prank(n);
        registry.register(
            kind, side, region, capacity, 0, keccak256(abi.encode("entity", i)), bytes32(i + 1)
        );
        VM.prank(verifier);
        registry.approveNode(n);
        VM.prank(bank);
        token.mint(n, FUNDS_FEN, keccak256(abi.encode("funds", i)));
        VM.startPrank(n);
        token.approve(address(registry), type(uint256).max);
        token.approve(address(market), type(uint256).max);
        token.approve(address(engine), type(uint256).max);
        registry.depositBond(BOND_FEN * 3);
        VM.stopPrank();
    }
}
