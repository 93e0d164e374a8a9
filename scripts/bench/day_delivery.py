"""The benchmark engine's delivery stages: dispatch (security check, signed results),
metering (node totals with proofs) and settlement (trades, deviations, withdrawals), by the
rules of :mod:`scripts.day.plan`, sent in waves. See :mod:`scripts.bench.market_day`."""

from __future__ import annotations

from collections import defaultdict

from web3 import Web3

from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.token import SettlementTokenClient
from ledger.scenario import INTERVAL_S, INTERVALS_PER_DAY
from oracle.dispatch import ChainTradeSource
from oracle.eip712 import node_total_leaf
from oracle.merkle import MerkleTree
from scripts.bench.common import BenchError, Call, role
from scripts.bench.day_base import DayBase
from scripts.bench.day_waves import logs_of, read_many, word
from scripts.day import plan
from scripts.dispatch_sim import security_check, sign_batch

#: Per transaction: dispatch results, trades settled; and their gas limit.
DISPATCH_PER_TX = 100
SETTLE_PER_TX = 40
BATCH_GAS = 40_000_000


class DeliveryStages(DayBase):
    """Dispatch, metering and settlement."""

    def dispatch(self) -> None:
        period = self.the_period()
        self.set_time(period.taking_closes_at + 1)
        trades = ChainTradeSource.from_context(self.ctx, role("DISPATCH")).trades(period.id)
        corridors = plan.corridor_limits(self.scenario)
        results = security_check(trades, corridors)
        contract = self.address("DispatchResults")
        key = role("DISPATCH")
        chain_id = self.waves.blaster.chain_id
        relay = role("METER_ORACLE")
        desk = self.abi(DispatchResultsClient)
        calls = []
        for start in range(0, len(results), DISPATCH_PER_TX):
            sub = sign_batch(key, results[start : start + DISPATCH_PER_TX], chain_id, contract)
            rows = [
                (r.trade_id, r.period, r.executed_wh, r.curtailed_wh, r.reason_code)
                for r in sub.results
            ]
            data = desk("submitResultBatch", rows, bytes.fromhex(sub.signature[2:]))
            calls.append(Call(relay, desk.address, data, gas=BATCH_GAS))
        self.waves.run(calls, [(desk, "DispatchResultRecorded")])
        executed = {r.trade_id: r.executed_wh for r in results}
        if set(executed) != {t.id for t in self.trades}:
            raise BenchError("the trades dispatch read are not the trades the day formed")
        for t in self.trades:
            t.executed_wh = executed[t.id]
        self.facts.executed_wh = sum(r.executed_wh for r in results)
        self.facts.curtailed_wh = sum(r.curtailed_wh for r in results)

    def metering(self) -> None:
        """The demo's meters, summed per node: executed contracted energy per quarter-hour
        with noise (abusers 25 % over), capped at each meter's capacity."""
        period = self.the_period()
        self._metered()
        self.set_time(period.delivery_end + self.ctx.settings.oracle_max_age_s + 60)
        rows: list[tuple[str, int, int, int, int, bytes]] = []
        for p in self.people:
            node = self.accounts[p.index].address
            rows.append(
                (
                    node,
                    period.id,
                    self.import_wh[p.index],
                    self.export_wh[p.index],
                    plan.meter_count(p) * INTERVALS_PER_DAY,
                    bytes(Web3.keccak(text=f"bench-readings/{period.id}/{node}")),
                )
            )
        tree = MerkleTree([node_total_leaf(*r) for r in rows])
        relay = role("METER_ORACLE")
        oracle = self.abi(MeterOracleClient)
        calls = [
            Call(
                relay,
                oracle.address,
                oracle("postPeriod", period.id, tree.root, len(rows), sum(r[4] for r in rows)),
            )
        ]
        calls += [
            Call(relay, oracle.address, oracle("submitNodeTotal", r, tree.proof(i)))
            for i, r in enumerate(rows)
        ]
        self.waves.run(calls, [(oracle, "PeriodPosted"), (oracle, "NodeTotalRecorded")])
        self.facts.node_totals = len(rows)

    def _metered(self) -> None:
        """Every node's metered import and export of the day (its meters summed)."""
        rng = plan.metering_rng(self.scenario)
        contracted: dict[int, list[int]] = defaultdict(lambda: [0] * INTERVALS_PER_DAY)
        for t in self.trades:
            for k, share in plan.spread_wh(t.executed_wh, *plan.BLOCKS[t.block]):
                contracted[t.seller][k] += share
                contracted[t.buyer][k] -= share
        for p in self.people:
            self.import_wh[p.index] = self.export_wh[p.index] = 0
        for k in range(INTERVALS_PER_DAY):
            for p in self.people:
                net = contracted[p.index][k]
                skew = plan.meter_skew(rng, p)
                count = plan.meter_count(p)
                cap_wh = plan.meter_cap_wh(plan.meter_power_w(p), INTERVAL_S)
                value = plan.metered_per_meter_wh(net, skew, count, cap_wh) * count
                if net > 0:
                    self.export_wh[p.index] += value
                else:
                    self.import_wh[p.index] += value

    def settle(self) -> None:
        """Accounts and rates, then every trade, every trading node's deviation, and every
        payee withdraws what it is owed."""
        self._open_settlement()
        self._settle_trades()
        self._settle_deviations()
        self._withdraw()

    def _open_settlement(self) -> None:
        period = self.the_period()
        operator, bank, dispatch = role("OPERATOR"), role("CLEARING_BANK"), role("DISPATCH")
        balancing = self.node(plan.BALANCING_N)
        engine = self.abi(SettlementEngineClient)
        token = self.abi(SettlementTokenClient)
        results = self.abi(DispatchResultsClient)
        opens = self.chain_time() + 30
        setup = [
            Call(
                operator,
                engine.address,
                engine("setGridAccount", r.id, self.node(plan.GRID_BASE + r.id).address),
            )
            for r in self.scenario.regions
        ]
        setup += [
            Call(operator, engine.address, engine("setBalancingAccount", balancing.address)),
            Call(
                operator,
                engine.address,
                engine("setRemainderAccount", self.node(plan.REMAINDER_N).address),
            ),
            Call(
                bank,
                token.address,
                token(
                    "mint",
                    balancing.address,
                    plan.BALANCING_FUNDS_FEN,
                    Web3.keccak(text=f"bench-balancing/{period.id}"),
                ),
            ),
            Call(balancing, token.address, token("approve", engine.address, 2**255)),
            Call(
                dispatch,
                engine.address,
                engine(
                    "setDeviationRates",
                    period.id,
                    plan.RAMP_DOWN_FEN_PER_MWH,
                    plan.RAMP_UP_FEN_PER_MWH,
                ),
            ),
            Call(
                operator,
                results.address,
                results("setSettlementOpensAt", period.id, opens),
            ),
        ]
        self.waves.run(
            setup,
            [
                (engine, "GridAccountSet"),
                (engine, "BalancingAccountSet"),
                (engine, "RemainderAccountSet"),
                (engine, "DeviationRatesSet"),
                (token, "Minted"),
                (token, "Approval"),
                (results, "SettlementScheduled"),
            ],
        )
        self.set_time(opens + 1)

    def _settle_trades(self) -> None:
        settler = self.node(plan.SETTLER_N)
        engine = self.abi(SettlementEngineClient)
        ids = sorted(t.id for t in self.trades)
        batches = [
            Call(
                settler,
                engine.address,
                engine("settleBatch", ids[i : i + SETTLE_PER_TX]),
                gas=BATCH_GAS,
            )
            for i in range(0, len(ids), SETTLE_PER_TX)
        ]
        settled: set[int] = set()
        by_id = {t.id: t for t in self.trades}
        witness = [(engine, "TradeSettled"), (engine, "TransmissionFeePaid")]
        for receipt in self.waves.run(batches, witness):
            for log in logs_of(receipt, engine, "TradeSettled"):
                # data words: seller, energy, executed, curtailed, reason, substituted,
                # failed, by, price, sellerFen, refundFen
                self.facts.trades_settled += 1
                self.facts.seller_income_fen += word(log, 9)
                self.facts.refunds_fen += word(log, 10)
                if word(log, 6):
                    self.facts.trades_failed += 1
                else:
                    settled.add(int(log["topics"][1], 16))
            self.facts.transmission_fees_fen += sum(
                word(x, 2) for x in logs_of(receipt, engine, "TransmissionFeePaid")
            )
        if self.facts.trades_settled != len(ids):
            raise BenchError(f"{len(ids) - self.facts.trades_settled} trades not settled")
        self.settled = [by_id[i] for i in sorted(settled)]

    def _settle_deviations(self) -> None:
        period = self.the_period()
        settler = self.node(plan.SETTLER_N)
        engine = self.abi(SettlementEngineClient)
        # Deviations (formulas 2 and 3) of every node that traded (the market counts
        # each node's trades per period; settleDeviation reads the count).
        trades_of: dict[int, int] = defaultdict(int)
        for t in self.trades:
            trades_of[t.buyer] += 1
            trades_of[t.seller] += 1
        deviations = [
            Call(
                settler,
                engine.address,
                engine("settleDeviation", self.accounts[i].address, period.id),
                gas=BATCH_GAS,
            )
            for i in sorted(trades_of)
        ]
        for receipt in self.waves.run(deviations, [(engine, "DeviationSettled")]):
            for log in logs_of(receipt, engine, "DeviationSettled"):
                self.facts.deviation_nodes += 1
                if word(log, 3):
                    self.facts.deviation_paid_fen += word(log, 5)
                else:
                    self.facts.deviation_received_fen += word(log, 5)

    def _withdraw(self) -> None:
        engine = self.abi(SettlementEngineClient)
        # Everyone with a credit withdraws it (sellers' income, refunds, the grid's fees).
        holders = [self.accounts[p.index] for p in self.people]
        holders += [self.node(plan.GRID_BASE + r.id) for r in self.scenario.regions]
        claimable = read_many(self.rpc, engine, "claimableOf", [(a.address,) for a in holders])
        withdrawals = [
            Call(a, engine.address, engine("withdraw"))
            for a, amount in zip(holders, claimable, strict=True)
            if amount
        ]
        self.waves.run(withdrawals, [(engine, "Withdrawn")])
        self.facts.withdrawals = len(withdrawals)
