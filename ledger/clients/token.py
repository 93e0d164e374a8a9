"""Client of the settlement token, ``SettlementToken`` (CNY, 2 decimals, 1 unit = 1 fen)."""

from __future__ import annotations

from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient
from ledger.errors import ValidationError


def bank_ref(reference: str) -> bytes:
    """A bank reference as bytes32: 0x + 64 hex digits as is, else ASCII (<= 32 bytes)."""
    if reference.startswith("0x") and len(reference) == 66:
        try:
            return bytes.fromhex(reference[2:])
        except ValueError:
            pass
    raw = reference.encode("ascii", errors="strict") if reference.isascii() else b""
    if not raw or len(raw) > 32:
        raise ValidationError(
            f"bank reference must be 1-32 ASCII characters or 0x + 64 hex digits: {reference!r}"
        )
    return raw.ljust(32, b"\x00")


class SettlementTokenClient(ContractClient):
    """Balances, allowances, transfers; mint and burn for the clearing bank."""

    ARTIFACT = "SettlementToken"

    def balance_of(self, account: str) -> int:
        return int(self._call("balanceOf", Web3.to_checksum_address(account)))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def allowance(self, owner: str, spender: str) -> int:
        return int(
            self._call(
                "allowance", Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
            )
        )

    def decimals(self) -> int:
        return int(self._call("decimals"))

    def bank_ref_used(self, reference: bytes) -> bool:
        return bool(self._call("bankRefUsed", reference))

    def approve(self, spender: str, amount_fen: int) -> TxReceipt:
        return self._transact("approve", Web3.to_checksum_address(spender), amount_fen)

    def transfer(self, to: str, amount_fen: int) -> TxReceipt:
        return self._transact("transfer", Web3.to_checksum_address(to), amount_fen)

    def mint(self, to: str, amount_fen: int, reference: bytes) -> TxReceipt:
        """CLEARING_BANK: credit ``to`` against an off-chain deposit."""
        return self._transact("mint", Web3.to_checksum_address(to), amount_fen, reference)

    def burn(self, holder: str, amount_fen: int, reference: bytes) -> TxReceipt:
        """CLEARING_BANK: debit ``holder`` (needs its allowance) against a withdrawal."""
        return self._transact("burn", Web3.to_checksum_address(holder), amount_fen, reference)
