"""A hypothesis state machine over take (post + take), dispatch, nominate, meter (deliver),
settle, settle deviations, withdraw and new periods: total supply = wallets + escrows +
bonds + the engine's credits and FTR fund, to the fen, after every step; every refusal is
the expected custom error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradeStatus
from ledger.errors import ContractRevertError
from tests.settlement.conftest import Flow, advance_time, block_time
from tests.trading.conftest import DELIVERY_STARTS_IN_S, TAKING_CLOSES_IN_S, TAKING_OPENS_IN_S

SELLERS = ("seller", "seller2", "storage")
BUYERS = ("buyer", "buyer2")
NODES = SELLERS + BUYERS
MIN_STEPS = 200
#: Refusals a take may meet in a random walk (funds, bond, debt blocks).
TAKE_REFUSALS = {
    "InsufficientBalance",
    "InsufficientAllowance",
    "InsufficientBond",
    "TradingBlocked",
    "BondBelowRequirement",
}


def test_money_is_conserved_state_machine(flow: Flow) -> None:
    w3 = flow.ctx.w3
    steps = [0]
    done = {"take": 0, "settle": 0, "deviation": 0, "withdraw": 0}
    for name in NODES:  # let deviation charges come from wallets too
        flow.party(name).actor.token.approve(flow.engine.address, 2_000_000)

    class Settlement(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot: Any = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            self.period = flow.period
            self.phase = "posting"
            self.trades: list[int] = []
            self.dispatched: set[int] = set()
            self.metered: set[str] = set()
            self.settled: set[int] = set()
            self.deviations: set[str] = set()
            self._start_period(first=True)

        def teardown(self) -> None:
            w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]
            flow.ctx.nonces.reset()

        def _start_period(self, *, first: bool = False) -> None:
            if not first:
                now = block_time(flow.ctx)
                receipt = flow.market.operator.open_period(
                    now + DELIVERY_STARTS_IN_S,
                    now,
                    now + TAKING_OPENS_IN_S,
                    now + TAKING_CLOSES_IN_S,
                )
                self.period = flow.market.operator.opened_period_id(receipt)
            flow.party("storage").engine.declare_spare_capacity(self.period, 3_000_000, 200_000)
            ftr = flow.operator.offered_ftr_id(
                flow.operator.sell_ftr(0, 3, self.period, 2_000_000, 30_000, 5_000)
            )
            buyer = flow.party("buyer")
            buyer.actor.token.approve(flow.engine.address, 2_000_000 + 5_000)
            buyer.engine.buy_ftr(ftr)
            buyer.actor.token.approve(flow.engine.address, 2_000_000)
            p = flow.market.operator.period(self.period)
            advance_time(flow.ctx, p.taking_opens_at - block_time(flow.ctx))
            self.phase = "taking"
            self.trades, self.dispatched, self.settled = [], set(), set()
            self.parties: dict[int, tuple[str, str]] = {}
            self.metered, self.deviations = set(), set()

        @invariant()
        def conserved(self) -> None:
            steps[0] += 1
            supply, held = flow.conservation()
            assert supply == held

        @precondition(lambda self: self.phase == "taking" and len(self.trades) < 6)
        @rule(
            seller=st.sampled_from(SELLERS),
            buyer=st.sampled_from(BUYERS),
            energy=st.integers(1, 3_000_000),
            price=st.integers(1, 600_000),
        )
        def take(self, seller: str, buyer: str, energy: int, price: int) -> None:
            try:
                tid = flow.trade(seller, buyer, energy, price, period=self.period)
            except ContractRevertError as exc:
                refused = exc.name
            else:
                self.trades.append(tid)
                self.parties[tid] = (seller, buyer)
                done["take"] += 1
                return
            assert refused in TAKE_REFUSALS

        @precondition(lambda self: self.phase == "taking" and self.trades)
        @rule(data=st.data(), reason=st.integers(0, 3))
        def dispatch(self, data: st.DataObject, reason: int, tid: int | None = None) -> None:
            if tid is None:
                tid = data.draw(st.sampled_from(self.trades))
            if tid in self.dispatched:
                return
            energy = flow.market.settler.trade(tid).energy_wh
            executed = data.draw(st.integers(0, energy))
            curtailed = data.draw(st.integers(0, energy - executed))
            flow.dispatch(tid, executed, curtailed, reason)
            self.dispatched.add(tid)

        @precondition(lambda self: self.phase == "taking" and self.trades)
        @rule(data=st.data())
        def nominate(self, data: st.DataObject) -> None:
            tid = data.draw(st.sampled_from(self.trades))
            t = flow.market.settler.trade(tid)
            storage = flow.party("storage").address
            if storage in (t.seller, t.buyer):
                return
            flow.dispatcher.nominate_substitute(tid, storage)

        @precondition(lambda self: self.phase == "taking" and len(self.trades) >= 2)
        @rule(
            totals=st.fixed_dictionaries(
                {n: st.tuples(st.integers(0, 8_000_000), st.integers(0, 8_000_000)) for n in NODES}
            ),
            missing=st.sets(st.sampled_from(NODES), max_size=1),
            data=st.data(),
        )
        def meter(
            self, totals: dict[str, tuple[int, int]], missing: set[str], data: st.DataObject
        ) -> None:
            """Delivery ends: dispatch reports (most of) the rest, meters are read, rates
            are published, settlement opens."""
            for tid in self.trades:
                if tid not in self.dispatched and data.draw(st.integers(0, 4)) != 0:
                    self.dispatch(data, data.draw(st.integers(0, 3)), tid)
            flow.dispatcher.set_deviation_rates(self.period, 30_000, 70_000)
            submitted = [n for n in NODES if n not in missing]
            flow.meter(totals, period=self.period, submit=submitted)
            flow.open_settlement(self.period)
            self.metered = set(submitted)
            self.phase = "settling"

        @precondition(lambda self: self.phase == "settling" and self.trades)
        @rule(data=st.data())
        def settle(self, data: st.DataObject) -> None:
            open_ = [t for t in self.trades if t not in self.settled]
            pool = open_ if open_ and data.draw(st.integers(0, 5)) else self.trades
            tid = data.draw(st.sampled_from(pool))
            parties_metered = set(self.parties[tid]) <= self.metered
            try:
                flow.engine.settle(tid)
            except ContractRevertError as exc:
                refused = exc.name
            else:
                refused = None
            if refused is not None:
                if tid in self.settled:
                    expected = "TradeAlreadySettled"
                elif tid not in self.dispatched:
                    expected = "DispatchResultMissing"
                else:
                    assert not parties_metered
                    expected = "MeterDataMissing"
                assert refused == expected
                return
            assert tid in self.dispatched
            assert tid not in self.settled
            assert parties_metered
            assert flow.market.settler.trade(tid).status in (
                TradeStatus.SETTLED,
                TradeStatus.FAILED,
            )
            self.settled.add(tid)
            done["settle"] += 1

        @precondition(lambda self: self.phase == "settling")
        @rule(node=st.sampled_from(NODES))
        def settle_deviation(self, node: str) -> None:
            try:
                flow.engine.settle_deviation(flow.party(node).address, self.period)
            except ContractRevertError as exc:
                refused = exc.name
            else:
                refused = None
            if refused is not None:
                assert refused in {"TradesUnsettled", "MeterDataMissing", "DeviationAlreadySettled"}
                if node in self.deviations:
                    assert refused == "DeviationAlreadySettled"
                return
            assert node not in self.deviations
            assert node in self.metered
            self.deviations.add(node)
            done["deviation"] += 1

        @rule(who=st.sampled_from((*NODES, "grid0", "grid2", "grid3", "remainder")))
        def withdraw(self, who: str) -> None:
            if who.startswith("grid"):
                account = flow.grid[int(who[4:])]
            elif who == "remainder":
                account = flow.remainder
            else:
                account = flow.party(who).actor.account
            engine = flow.ctx.client(type(flow.engine), account)
            owed = engine.claimable_of(account.address)
            token = flow.ctx.client(SettlementTokenClient, account)
            before = token.balance_of(account.address)
            if owed == 0:
                return
            engine.withdraw()
            assert token.balance_of(account.address) == before + owed
            assert engine.claimable_of(account.address) == 0
            done["withdraw"] += 1

        def _settleable(self) -> list[int]:
            return [
                tid
                for tid in self.trades
                if tid in self.dispatched
                and tid not in self.settled
                and set(self.parties[tid]) <= self.metered
            ]

        @precondition(lambda self: self.phase == "settling" and not self._settleable())
        @rule()
        def next_period(self) -> None:
            self._start_period()

    settings_ = settings(
        max_examples=6,
        stateful_step_count=50,
        deadline=None,
        # Reproducible exploration: the coverage assertion below must not depend on luck.
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run_state_machine_as_test(Settlement, settings=settings_)
    assert steps[0] >= MIN_STEPS, steps[0]
    print(f"state machine: {steps[0]} steps, {done}")
    # The exploration is derandomized, so this coverage is the same on every run; withdraw
    # paths have their own exact tests (tests/settlement/test_settle.py and others).
    assert done["take"] > 0, done
    assert done["settle"] > 0, done
    assert done["deviation"] > 0, done
