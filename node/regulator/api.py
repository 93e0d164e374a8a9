"""The REGULATOR's API over the registry: removals, bans, held bonds, penalties."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.registry import NodeRegistryClient, code
from ledger.context import LedgerContext


class Regulator:
    """The REGULATOR: removals, bans, held bonds, penalties."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.registry = ctx.client(NodeRegistryClient, account)

    def remove(self, node: str, reason: str) -> TxReceipt:
        return self.registry.remove_node(checksum_address(node), code(reason))

    def ban(self, node: str, reason: str) -> TxReceipt:
        return self.registry.ban_entity(checksum_address(node), code(reason))

    def return_held_bond(self, node: str) -> TxReceipt:
        return self.registry.return_held_bond(checksum_address(node))

    def slash(self, node: str, amount_fen: int, to: str, reason: str) -> TxReceipt:
        return self.registry.slash(
            checksum_address(node), amount_fen, checksum_address(to), code(reason)
        )
