from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.registry import code
from ledger.clients.token import bank_ref
from ledger.errors import ValidationError
from ledger.units import cny_to_fen, fen_to_cny
from tests.conftest import role_account
from tests.contracts.conftest import Market, addr
from tests.contracts.helpers import reverts


def test_metadata(market: Market) -> None:
    token = market.bank
    assert token.decimals() == 2
    assert token.contract.functions.name().call() == "GridLedger CNY"
    assert token.contract.functions.symbol().call() == "CNY"
    assert token.total_supply() == 0


def test_mint_and_burn_carry_the_bank_reference(market: Market, stranger: LocalAccount) -> None:
    bank = market.bank
    holder = addr(stranger)
    ref = code("DEP-2024-0001")
    receipt = bank.mint(holder, 123_456, ref)
    (ev,) = bank.events(receipt, "Minted")
    assert dict(ev["args"]) == {
        "to": holder,
        "amountFen": 123_456,
        "bankRef": ref,
        "bank": bank.sender.address,
    }
    assert bank.balance_of(holder) == 123_456
    assert bank.bank_ref_used(ref)
    with reverts("BankRefUsed", bankRef=ref):
        bank.mint(holder, 1, ref)
    out = code("WD-2024-0001")
    with reverts(
        "ERC20InsufficientAllowance", spender=bank.sender.address, allowance=0, needed=23_456
    ):
        bank.burn(holder, 23_456, out)
    market.token(stranger).approve(bank.sender.address, 23_456)
    receipt = bank.burn(holder, 23_456, out)
    (ev,) = bank.events(receipt, "Burned")
    assert dict(ev["args"]) == {
        "from": holder,
        "amountFen": 23_456,
        "bankRef": out,
        "bank": bank.sender.address,
    }
    assert bank.balance_of(holder) == 100_000
    assert bank.total_supply() == 100_000
    assert bank.allowance(holder, bank.sender.address) == 0


def test_mint_and_burn_bad_inputs(market: Market, stranger: LocalAccount) -> None:
    bank = market.bank
    zero = "0x" + "00" * 20
    with reverts("ZeroAddress"):
        bank.mint(zero, 1, code("R1"))
    with reverts("ZeroAmount"):
        bank.mint(addr(stranger), 0, code("R1"))
    with reverts("ZeroBankRef"):
        bank.mint(addr(stranger), 1, b"\x00" * 32)
    with reverts("ZeroAddress"):
        bank.burn(zero, 1, code("R2"))


def test_only_the_clearing_bank_mints_and_burns(market: Market, stranger: LocalAccount) -> None:
    role = bytes(market.bank.contract.w3.keccak(text="CLEARING_BANK"))
    for who in (stranger, role_account("OPERATOR"), role_account("ADMIN")):
        token = market.token(who)
        with reverts("AccessControlUnauthorizedAccount", account=who.address, neededRole=role):
            token.mint(who.address, 1, code("X"))
        with reverts("AccessControlUnauthorizedAccount", account=who.address, neededRole=role):
            token.burn(who.address, 1, code("X"))


def test_token_refuses_ether(market: Market, stranger: LocalAccount) -> None:
    from ledger.errors import TransactionError

    sender = market.ctx.sender(role_account("CLEARING_BANK"))
    with pytest.raises(TransactionError):
        sender.transact(market.bank.address, "0x", value=1)
    assert market.ctx.w3.eth.get_balance(market.bank.address) == 0


def test_amount_helpers() -> None:
    assert cny_to_fen("1234.56") == 123_456
    assert cny_to_fen(80_000) == 8_000_000
    assert fen_to_cny(123_456) == "1234.56"
    assert fen_to_cny(5) == "0.05"
    with pytest.raises(ValidationError):
        cny_to_fen("0.001")
    with pytest.raises(ValidationError):
        cny_to_fen("abc")
    assert bank_ref("REF") == b"REF".ljust(32, b"\x00")
    assert bank_ref("0x" + "ab" * 32) == b"\xab" * 32
    with pytest.raises(ValidationError):
        bank_ref("x" * 33)
