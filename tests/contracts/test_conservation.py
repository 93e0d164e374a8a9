"""A hypothesis state machine over mints, burns, deposits, withdrawals and slashes:
token conservation stays exact and the registry's books match its token balance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger.clients.registry import code
from ledger.errors import ContractRevertError
from tests.contracts.conftest import CONSUMER, WIND, Market

REQUIRED_FEN = 1_000
NODES = (1, 2, 3)
amounts = st.integers(min_value=0, max_value=5_000)
nodes = st.sampled_from(NODES)


def attempt(action: Callable[[], object]) -> ContractRevertError | None:
    """Run ``action``; its decoded revert, or None when it succeeded."""
    try:
        action()
    except ContractRevertError as exc:
        return exc
    return None


def test_token_conservation_state_machine(market: Market) -> None:
    market.operator.set_bond_requirement(8, REQUIRED_FEN)
    participants = {n: market.admit(n, WIND if n != 2 else CONSUMER, bond_fen=0) for n in NODES}
    sink = market.node(60).address
    registry = market.verifier
    w3 = market.ctx.w3

    class Conservation(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.snapshot: Any = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            self.wallet = dict.fromkeys(NODES, 0)
            self.bond = dict.fromkeys(NODES, 0)
            self.sink = 0
            self.minted = 0
            self.burned = 0
            self.refs = 0

        def teardown(self) -> None:
            w3.provider.make_request("evm_revert", [self.snapshot])  # type: ignore[arg-type]
            market.ctx.nonces.reset()

        def _ref(self) -> bytes:
            self.refs += 1
            return code(f"R{self.refs}")

        @initialize()
        def start(self) -> None:
            for n in NODES:
                assert registry.bond_of(participants[n].address) == 0

        @rule(n=nodes, amount=amounts)
        def mint(self, n: int, amount: int) -> None:
            if amount == 0:
                return
            market.bank.mint(participants[n].address, amount, self._ref())
            self.wallet[n] += amount
            self.minted += amount

        @rule(n=nodes, amount=amounts)
        def burn(self, n: int, amount: int) -> None:
            p = participants[n]
            p.token.approve(market.bank.sender.address, amount)
            error = attempt(lambda: market.bank.burn(p.address, amount, self._ref()))
            if error is not None:
                expected = "ZeroAmount" if amount == 0 else "ERC20InsufficientBalance"
                assert error.name == expected
                assert amount == 0 or amount > self.wallet[n]
                return
            assert 0 < amount <= self.wallet[n]
            self.wallet[n] -= amount
            self.burned += amount

        @rule(n=nodes, amount=amounts)
        def deposit(self, n: int, amount: int) -> None:
            error = attempt(lambda: participants[n].deposit_bond(amount))
            if error is not None:
                assert error.name == ("ZeroAmount" if amount == 0 else "ERC20InsufficientBalance")
                return
            assert 0 < amount <= self.wallet[n]
            self.wallet[n] -= amount
            self.bond[n] += amount

        @rule(n=nodes, amount=amounts)
        def withdraw(self, n: int, amount: int) -> None:
            excess = max(self.bond[n] - REQUIRED_FEN, 0)
            error = attempt(lambda: participants[n].withdraw_bond(amount))
            if error is not None:
                if amount == 0:
                    assert error.name == "ZeroAmount"
                else:
                    assert error.name == "WithdrawalExceedsExcess"
                    assert error.arguments["excessFen"] == excess
                    assert amount > excess
                return
            assert 0 < amount <= excess
            self.bond[n] -= amount
            self.wallet[n] += amount

        @rule(n=nodes, amount=amounts, by_regulator=st.booleans())
        def slash(self, n: int, amount: int, by_regulator: bool) -> None:
            slasher = market.regulator if by_regulator else market.market
            if amount == 0:
                error = attempt(
                    lambda: slasher.slash(participants[n].address, amount, sink, code("X"))
                )
                assert error is not None
                assert error.name == "ZeroAmount"
                return
            receipt = slasher.slash(participants[n].address, amount, sink, code("X"))
            taken = min(amount, self.bond[n])
            (ev,) = slasher.events(receipt, "BondSlashed")
            assert ev["args"]["slashedFen"] == taken
            self.bond[n] -= taken
            self.sink += taken

        @rule(a=nodes, b=nodes, amount=amounts)
        def transfer(self, a: int, b: int, amount: int) -> None:
            error = attempt(lambda: participants[a].token.transfer(participants[b].address, amount))
            if error is not None:
                assert error.name == "ERC20InsufficientBalance"
                assert amount > self.wallet[a]
                return
            self.wallet[a] -= amount
            self.wallet[b] += amount

        @invariant()
        def books_balance(self) -> None:
            token = market.bank
            supply = token.total_supply()
            assert supply == self.minted - self.burned
            held = token.balance_of(registry.address)
            assert held == registry.total_bond_fen() == sum(self.bond.values())
            wallets = {n: token.balance_of(participants[n].address) for n in NODES}
            assert wallets == self.wallet
            assert token.balance_of(sink) == self.sink
            assert sum(wallets.values()) + held + self.sink == supply
            for n in NODES:
                assert registry.bond_of(participants[n].address) == self.bond[n]

    run_state_machine_as_test(
        Conservation,
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
