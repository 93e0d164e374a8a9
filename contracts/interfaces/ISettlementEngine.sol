// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ISettlementEngine
/// @notice Settlement of delivered trades with postage-stamp transmission fees (formula 1),
/// the contract guarantees of mechanism 3 (contract-energy transfer to a substitute seller
/// or storage node, financial transmission rights, deviation charges, formulas 2 and 3),
/// rounding remainders and debts. See docs/settlement.md.
///
/// Money. Every amount is in fen (1 token unit), energy in Wh, prices and rates in fen/MWh;
/// `amountFen = floor(energyWh x rateFenPerMwh / 1e6)`. Payments out of a trade's escrow are
/// credited here (pull payments: `withdraw`); refunds go straight to the buyer when the
/// trading market closes the trade. What is left of an escrow after the seller, the grid
/// accounts and a substitute are paid is the buyer's refund. The transmission fee of the
/// executed energy (formula 1 on the trade's route and sum of rates) is split per region
/// as floor(energyWh x rate(region) / 1e6) to each region's grid account; the rounding
/// remainder goes to the remainder account. FTR compensation is paid from the FTR fund
/// (FTR sale proceeds plus top-ups), never from escrows. Deviation charges (formula 3) go
/// to the balancing account; deviation payments (formula 2) are pulled from it.
///
/// Order. A trade settles once, after its dispatch result is recorded, the settlement of
/// its period has opened (IDispatchResults.settlementOpensAt) and both parties' meter
/// totals are recorded. A node's deviation of a period settles once, after every trade it
/// is party to in that period is settled (the trading market counts each node's trades
/// per period, `ITradingMarket.tradeCountIn`, final once taking has closed).
/// @dev No function loops over a growing set: a trade's settlement touches its route
/// (at most 32 regions); batches are caller-sized.
interface ISettlementEngine {
    /// @notice Per node and delivery period: contracted energy (after dispatch, incl.
    /// substitution), the census and settlement counters and flags.
    /// @param importWh Energy the node bought that was executed or substituted.
    /// @param exportWh Energy the node sold that was executed, or supplied as a substitute.
    /// @param trades The node's trades of the period (the market's tradeCountIn; filled
    /// in by the nodePeriod view, not stored here).
    /// @param settled The node's trades of the period settled here.
    /// @param deviationSettled Whether its deviation (formulas 2/3) is settled.
    /// @param meterMissing Whether it was flagged for missing meter data.
    struct NodePeriod {
        uint64 importWh;
        uint64 exportWh;
        uint32 trades;
        uint32 settled;
        bool deviationSettled;
        bool meterMissing;
    }

    /// @notice A seller's or storage node's standing offer of spare capacity for a period.
    struct SpareCapacity {
        uint64 declaredWh;
        uint64 remainingWh;
        uint128 priceFenPerMwh;
    }

    /// @notice Reserve regulation unit costs of a period (fen/MWh): `downFenPerMwh` is a
    /// (formula 2, paid to the node), `upFenPerMwh` is a' (formula 3, paid by the node).
    struct DeviationRates {
        uint120 downFenPerMwh;
        uint120 upFenPerMwh;
        bool set;
        bool locked;
    }

    /// @notice A financial transmission right for the corridor fromRegion -> toRegion
    /// (the trade's route endpoints) in one delivery period.
    struct Ftr {
        uint256 id;
        uint32 period;
        uint8 fromRegion;
        uint8 toRegion;
        address holder;
        uint64 capacityWh;
        uint64 usedWh;
        uint128 rateFenPerMwh;
        uint128 priceFen;
    }

    // ------------------------------------------------------------------ configuration

    /// @notice The OPERATOR set the grid account of `region` (receives its stamp fees).
    event GridAccountSet(uint8 indexed region, address account, address operator);
    /// @notice The OPERATOR set the balancing account (deviation charges and payments).
    event BalancingAccountSet(address account, address operator);
    /// @notice The OPERATOR set the remainder account (rounding remainders of fee splits).
    event RemainderAccountSet(address account, address operator);
    /// @notice DISPATCH published a (down) and a' (up) for `period`.
    event DeviationRatesSet(
        uint32 indexed period, uint256 downFenPerMwh, uint256 upFenPerMwh, address dispatch
    );

    // ------------------------------------------------------------------ guarantees

    /// @notice `node` declared `energyWh` of spare capacity for `period` at `priceFenPerMwh`.
    event SpareCapacityDeclared(
        address indexed node, uint32 indexed period, uint256 energyWh, uint256 priceFenPerMwh
    );
    /// @notice DISPATCH named `substitute` for the unexecuted energy of `tradeId` (0 clears).
    event SubstituteNominated(uint256 indexed tradeId, address indexed substitute, address dispatch);
    /// @notice The OPERATOR offered FTR `ftrId`.
    event FtrOffered(
        uint256 indexed ftrId,
        uint32 indexed period,
        uint8 fromRegion,
        uint8 toRegion,
        uint256 capacityWh,
        uint256 rateFenPerMwh,
        uint256 priceFen,
        address operator
    );
    /// @notice `holder` bought FTR `ftrId` for `priceFen`; the FTR fund is now `fundFen`.
    event FtrBought(uint256 indexed ftrId, address indexed holder, uint256 priceFen, uint256 fundFen);
    /// @notice `from` added `amountFen` to the FTR fund, now `fundFen`.
    event FtrFunded(address indexed from, uint256 amountFen, uint256 fundFen);

    // ------------------------------------------------------------------ trade settlement

    /// @notice One region's stamp fee of formula 1: floor(energyWh x rateFenPerMwh / 1e6),
    /// credited to `gridAccount`. `substitution` marks the substitute's route.
    event TransmissionFeePaid(
        uint256 indexed tradeId,
        uint8 indexed region,
        address indexed gridAccount,
        uint256 energyWh,
        uint256 rateFenPerMwh,
        uint256 amountFen,
        bool substitution
    );
    /// @notice The rounding remainder of a fee split: `feeFen` (formula 1 on the whole route)
    /// minus `sharesFen` (the regions' rounded-down shares) = `amountFen`, credited to `account`.
    event RemainderPaid(
        uint256 indexed tradeId,
        address indexed account,
        uint256 feeFen,
        uint256 sharesFen,
        uint256 amountFen
    );
    /// @notice The route's rates at `at` are no longer known (or no longer add up), so the
    /// whole fee `feeFen` was credited to the remainder account instead of being split.
    event FeeSplitUnavailable(uint256 indexed tradeId, uint256 feeFen, uint64 at);
    /// @notice Contract-energy transfer: `substitute` supplies `energyWh` of the unexecuted
    /// energy to `buyer` at its declared price (credited `amountFen`), over a route of
    /// `sumRateFenPerMwh` whose fee `feeFen` the buyer's escrow pays.
    event SubstitutionTaken(
        uint256 indexed tradeId,
        address indexed substitute,
        address indexed buyer,
        uint256 energyWh,
        uint256 priceFenPerMwh,
        uint256 amountFen,
        uint256 sumRateFenPerMwh,
        uint256 feeFen
    );
    /// @notice The substitution was not taken (reason: 1 it costs the buyer more than its
    /// contract, 2 no capacity left, 3 no route, 4 the substitute's deviation is settled).
    event SubstitutionDeclined(
        uint256 indexed tradeId,
        address indexed substitute,
        uint8 reason,
        uint256 energyWh,
        uint256 costFen,
        uint256 contractValueFen
    );
    /// @notice FTR compensation: floor(eligibleWh x rateFenPerMwh / 1e6) = `amountFen` paid to
    /// the holder from the FTR fund (`unpaidFen` of it the fund could not cover).
    event FtrCompensated(
        uint256 indexed tradeId,
        uint256 indexed ftrId,
        address indexed holder,
        uint256 curtailedWh,
        uint256 eligibleWh,
        uint256 rateFenPerMwh,
        uint256 amountFen,
        uint256 unpaidFen
    );
    /// @notice Trade `tradeId` settled (`failed`: nothing was executed nor substituted).
    /// The seller was credited `sellerFen` = floor(executedWh x priceFenPerMwh / 1e6); the
    /// rest of the escrow, `refundFen`, was refunded to the buyer when the trade closed (for
    /// the energyWh - executedWh - substitutedWh neither executed nor substituted).
    event TradeSettled(
        uint256 indexed tradeId,
        uint32 indexed period,
        address indexed buyer,
        address seller,
        uint256 energyWh,
        uint256 executedWh,
        uint256 curtailedWh,
        uint16 reasonCode,
        uint256 substitutedWh,
        bool failed,
        address by,
        uint256 priceFenPerMwh,
        uint256 sellerFen,
        uint256 refundFen
    );
    /// @notice `node` has no recorded meter data for `period` after its settlement opened.
    event MeterDataFlagged(address indexed node, uint32 indexed period, address by);

    // ------------------------------------------------------------------ deviations

    /// @notice Deviation of `node` in `period`: deviationWh = meteredNetWh - contractedNetWh
    /// (net = import - export). Negative: reserve ramps down, the node receives
    /// floor(|dQ| x a / 1e6) (formula 2); positive: ramps up, it pays floor(dQ x a' / 1e6)
    /// (formula 3). `rateFenPerMwh` is the rate applied, `amountFen` the amount.
    event DeviationSettled(
        address indexed node,
        uint32 indexed period,
        int256 meteredNetWh,
        int256 contractedNetWh,
        int256 deviationWh,
        bool rampUp,
        uint256 rateFenPerMwh,
        uint256 amountFen
    );
    /// @notice How a ramp-up charge was collected: from the node's credit here, its wallet
    /// (allowance), its bond (slashed to the balancing account); `debtFen` remained: the
    /// node's debt (an obligation in the registry, so it cannot exit), covered for the
    /// balancing account by the default fund (IDefaultFund.cover: rules FUND, ALLOCATION).
    event DeviationCollected(
        address indexed node,
        uint32 indexed period,
        uint256 fromCreditFen,
        uint256 fromWalletFen,
        uint256 fromBondFen,
        uint256 debtFen
    );
    /// @notice `payer` paid `amountFen` of `node`'s debt to the default fund.
    event DebtRepaid(address indexed node, address indexed payer, uint256 amountFen, uint256 debtFen);
    /// @notice `account` withdrew its credited `amountFen`.
    event Withdrawn(address indexed account, uint256 amountFen);

    // ------------------------------------------------------------------ errors

    error ZeroAddress();
    error ZeroAmount();
    /// @notice No grid account is configured for `region`.
    error GridAccountNotSet(uint8 region);
    error BalancingAccountNotSet();
    error RemainderAccountNotSet();
    /// @notice The trade is already closed (settled once, or failed).
    error TradeAlreadySettled(uint256 tradeId, uint8 status);
    /// @notice The dispatch center's result of the trade is not recorded yet.
    error DispatchResultMissing(uint256 tradeId);
    /// @notice Settlement of `period` has not opened (opensAt 0 = not scheduled).
    error SettlementNotOpen(uint32 period, uint64 opensAt, uint64 nowS);
    /// @notice Settlement of `period` has opened: nominations and rate changes are closed.
    error SettlementAlreadyOpen(uint32 period, uint64 opensAt);
    /// @notice The meter total of `node` in `period` is not recorded.
    error MeterDataMissing(address node, uint32 period);
    /// @notice The meter total of `node` in `period` is recorded (nothing to flag).
    error MeterDataPresent(address node, uint32 period);
    /// @notice The delivery of `period` started: declarations and FTR sales are closed.
    error DeliveryStarted(uint32 period, uint64 deliveryStart, uint64 nowS);
    /// @notice The taking window of `period` is still open.
    error TakingNotClosed(uint32 period, uint64 takingClosesAt, uint64 nowS);
    /// @notice The node is not active in the registry.
    error NodeNotActive(address node);
    /// @notice Spare capacity is declared by seller-side nodes (generators, storage).
    error NotASeller(address node);
    /// @notice The substitute is a party of the trade.
    error InvalidSubstitute(uint256 tradeId, address substitute);
    /// @notice The substitute declared no spare capacity for the period.
    error NoSpareCapacity(address substitute, uint32 period);
    /// @notice The trade is not open (no nomination).
    error TradeNotOpen(uint256 tradeId, uint8 status);
    error UnknownFtr(uint256 ftrId);
    error FtrAlreadySold(uint256 ftrId, address holder);
    /// @notice `holder` already holds FTR `ftrId` for this corridor and period.
    error FtrAlreadyHeld(address holder, uint32 period, uint8 fromRegion, uint8 toRegion, uint256 ftrId);
    error ZeroEnergy();
    error DeviationRatesNotSet(uint32 period);
    /// @notice A deviation of the period was settled with these rates: they are final.
    error DeviationRatesLocked(uint32 period);
    error DeviationAlreadySettled(address node, uint32 period);
    /// @notice Some of the node's trades of the period are not settled yet.
    error TradesUnsettled(address node, uint32 period, uint256 trades, uint256 settled);
    /// @notice The balancing account cannot pay a formula 2 payment.
    error BalancingAccountShort(address account, uint256 balanceFen, uint256 allowanceFen, uint256 neededFen);
    /// @notice The payer's balance or allowance to this contract is short.
    error InsufficientFunds(address payer, uint256 balanceFen, uint256 allowanceFen, uint256 neededFen);
    error NothingToWithdraw(address account);
    error NoDebt(address node);

    // ------------------------------------------------------------------ OPERATOR

    function setGridAccount(uint8 region, address account) external;
    function setBalancingAccount(address account) external;
    function setRemainderAccount(address account) external;
    /// @notice Offer an FTR for corridor from -> to in `period` (before delivery starts).
    function sellFtr(
        uint8 fromRegion,
        uint8 toRegion,
        uint32 period,
        uint64 capacityWh,
        uint128 rateFenPerMwh,
        uint128 priceFen
    ) external returns (uint256 ftrId);

    // ------------------------------------------------------------------ DISPATCH

    /// @notice Publish a (ramp-down, formula 2) and a' (ramp-up, formula 3) for `period`,
    /// in fen/MWh; changeable until the first deviation of the period is settled.
    function setDeviationRates(uint32 period, uint120 downFenPerMwh, uint120 upFenPerMwh)
        external;

    /// @notice Name the substitute (a node with declared spare capacity) for the energy of
    /// `tradeId` dispatch does not execute; only before the period's settlement opens.
    function nominateSubstitute(uint256 tradeId, address substitute) external;

    // ------------------------------------------------------------------ nodes / anyone

    /// @notice Declare (or replace) spare capacity for `period` before its delivery starts
    /// (active seller-side nodes: generators, storage, sellers among retailers).
    function declareSpareCapacity(uint32 period, uint64 energyWh, uint128 priceFenPerMwh)
        external;

    /// @notice Buy FTR `ftrId` (an active node; pays its price from its allowance).
    function buyFtr(uint256 ftrId) external;

    /// @notice Add `amountFen` to the FTR fund (from the caller's allowance).
    function fundFtr(uint256 amountFen) external;

    /// @notice Settle trade `tradeId` (anyone).
    function settle(uint256 tradeId) external;

    /// @notice Settle several trades; a trade whose party lacks meter data is skipped and the
    /// party flagged; any other failure reverts the batch. Returns how many settled.
    function settleBatch(uint256[] calldata tradeIds) external returns (uint256 settledCount);

    /// @notice Flag `node` for missing meter data of `period` (anyone, once settlement opened).
    function flagMissingMeter(address node, uint32 period) external;

    /// @notice Settle `node`'s deviation in `period` (anyone; once).
    function settleDeviation(address node, uint32 period) external;

    /// @notice Pay up to `amountFen` of `node`'s debt from the caller's allowance, to the
    /// default fund (which covered or allocated it); the last fen releases the node's debt
    /// obligation in the registry and unblocks its trading.
    function repayDebt(address node, uint256 amountFen) external;

    /// @notice Count a trade of `buyer` and `seller` in `period` closed without a dispatch
    /// result as settled (MARKET_CONTRACT: the TradeCloser), so their deviations can settle.
    function noteUndispatched(address buyer, address seller, uint32 period) external;

    /// @notice Withdraw everything credited to the caller.
    function withdraw() external;

    // ------------------------------------------------------------------ views

    function registry() external view returns (address);
    function market() external view returns (address);
    function tariff() external view returns (address);
    function meterOracle() external view returns (address);
    function dispatchResults() external view returns (address);
    function settlementToken() external view returns (address);
    function gridAccountOf(uint8 region) external view returns (address);
    function balancingAccount() external view returns (address);
    function remainderAccount() external view returns (address);
    function deviationRates(uint32 period) external view returns (DeviationRates memory);
    function spareCapacityOf(address node, uint32 period)
        external
        view
        returns (SpareCapacity memory);
    function nomineeOf(uint256 tradeId) external view returns (address);
    function nodePeriod(address node, uint32 period) external view returns (NodePeriod memory);
    function ftrCount() external view returns (uint256);
    function ftr(uint256 ftrId) external view returns (Ftr memory);
    function ftrsPage(uint256 offset, uint256 limit) external view returns (Ftr[] memory);
    /// @notice The FTR id `holder` holds for corridor from -> to in `period` (0 = none).
    function ftrOf(address holder, uint32 period, uint8 fromRegion, uint8 toRegion)
        external
        view
        returns (uint256);
    function ftrFundFen() external view returns (uint256);
    function claimableOf(address account) external view returns (uint256);
    /// @notice Sum of every account's credited, not yet withdrawn amount.
    function totalClaimableFen() external view returns (uint256);
    function debtOf(address node) external view returns (uint256);
    /// @notice The default fund behind charges a node cannot pay (IDefaultFund).
    function defaultFund() external view returns (address);
}
