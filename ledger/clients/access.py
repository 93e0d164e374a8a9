"""Client of the suite's access-control root, ``MarketAccess``."""

from __future__ import annotations

from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient

#: The suite's roles; each id is keccak256 of the name (contracts/access/Roles.sol).
ROLE_NAMES = (
    "OPERATOR",
    "VERIFIER",
    "REGULATOR",
    "DISPATCH",
    "METER_ORACLE",
    "CREDIT_AGENCY",
    "CLEARING_BANK",
    "MARKET_CONTRACT",
    "VENUE",
    "ORDER_INTAKE",
)
DEFAULT_ADMIN_ROLE = b"\x00" * 32


def role_id(name: str) -> bytes:
    """The 32-byte id of role ``name`` (``DEFAULT_ADMIN`` is all zeros)."""
    if name in ("DEFAULT_ADMIN", "DEFAULT_ADMIN_ROLE"):
        return DEFAULT_ADMIN_ROLE
    return bytes(Web3.keccak(text=name))


class MarketAccessClient(ContractClient):
    """Grants, revokes and checks roles."""

    ARTIFACT = "MarketAccess"

    def has_role(self, role: str, account: str) -> bool:
        return bool(self._call("hasRole", role_id(role), Web3.to_checksum_address(account)))

    def grant_role(self, role: str, account: str) -> TxReceipt:
        return self._transact("grantRole", role_id(role), Web3.to_checksum_address(account))

    def revoke_role(self, role: str, account: str) -> TxReceipt:
        return self._transact("revokeRole", role_id(role), Web3.to_checksum_address(account))

    def default_admin(self) -> str:
        return str(self._call("defaultAdmin"))
