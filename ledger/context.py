"""The dependency hub a process builds once: settings, Web3, artifacts, senders, clients.

Role apps receive a :class:`LedgerContext` (tests build one on their own chain) and never
construct Web3 instances, senders or clients themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TypeVar

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.artifacts import ArtifactStore
from ledger.clients.base import ContractClient
from ledger.keystore import Keystore, demo_account, demo_wallet_index, resolve_password
from ledger.manifest import Manifest, load_manifest
from ledger.revert import ErrorDecoder
from ledger.settings import Settings
from ledger.tx import NonceManager, TxSender
from ledger.web3factory import make_web3

C = TypeVar("C", bound=ContractClient)


class LedgerContext:
    """Shared, lazily built dependencies of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        w3: Web3 | None = None,
        store: ArtifactStore | None = None,
        manifest: Manifest | None = None,
    ) -> None:
        self.settings = settings
        self._w3 = w3
        self.store = store or ArtifactStore.from_settings(settings)
        self._manifest = manifest
        self._senders: dict[str, TxSender] = {}

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            self._w3 = make_web3(self.settings)
        return self._w3

    @cached_property
    def decoder(self) -> ErrorDecoder:
        return ErrorDecoder(a.abi for a in self.store.all())

    @cached_property
    def nonces(self) -> NonceManager:
        return NonceManager(self.w3)

    @cached_property
    def keystore(self) -> Keystore:
        return Keystore.from_settings(self.settings)

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = load_manifest(self.settings.manifest_path)
        return self._manifest

    def use_manifest(self, manifest: Manifest) -> None:
        self._manifest = manifest

    def account(self, wallet: str, prompt: Callable[[], str] | None = None) -> LocalAccount:
        """The signing key of ``wallet``: a keystore, or a THROWAWAY demo key in demo mode."""
        if self.settings.demo_keys:
            return demo_account(demo_wallet_index(wallet))
        password = resolve_password(self.settings, prompt)
        return self.keystore.load(wallet, password)

    def sender(self, account: LocalAccount) -> TxSender:
        """The (cached) sender of ``account``; all share this context's nonce manager."""
        existing = self._senders.get(account.address)
        if existing is not None:
            return existing
        sender = TxSender(
            self.w3,
            account,
            decoder=self.decoder,
            nonces=self.nonces,
            gas_margin_percent=self.settings.gas_margin_percent,
            timeout_s=self.settings.tx_timeout_s,
            priority_fee_wei=self.settings.priority_fee_wei,
            max_fee_per_gas_wei=self.settings.max_fee_per_gas_wei,
            confirmations=self.settings.tx_confirmations,
        )
        self._senders[account.address] = sender
        return sender

    def client(self, cls: type[C], account: LocalAccount) -> C:
        """A typed client of the deployed contract ``cls.ARTIFACT``, signing as ``account``."""
        return cls(self.manifest.address(cls.ARTIFACT), self.sender(account), self.store)
