"""The one check of an account address given by a user (CLI argument, API parameter)."""

from __future__ import annotations

from web3 import Web3

from ledger.errors import ValidationError


def checksum_address(value: str) -> str:
    """``value`` as a checksummed address; anything else is a :class:`ValidationError`
    naming the value (one readable line on the command line)."""
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ValidationError(f"not an address: {value!r}")
    return str(Web3.to_checksum_address(value))
