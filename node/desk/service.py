"""The service desk as one object: its database, knowledge base and the chain it reads."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.exceptions import Web3Exception

from ledger.clients.access import MarketAccessClient
from ledger.clients.desk import DeskAnchorClient
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.context import LedgerContext
from ledger.errors import GridLedgerError
from ledger.settings import Settings
from node.desk.config import load_limits_s
from node.desk.feed import FeedItem, chain_items, feed
from node.desk.kb import KnowledgeBase
from node.desk.states import Actor, DeskRole
from node.desk.store import DeskStore, default_url


class Desk:
    """The desk database (``url``, default ``<data_dir>/desk/desk.db``) and the chain."""

    def __init__(
        self, settings: Settings, url: str | None = None, ctx: LedgerContext | None = None
    ) -> None:
        self.settings = settings
        self.store = DeskStore(
            url or default_url(settings.data_dir), load_limits_s(settings.data_dir)
        )
        self.kb = KnowledgeBase(self.store)
        self._ctx = ctx

    def close(self) -> None:
        self.store.close()

    @property
    def ctx(self) -> LedgerContext:
        if self._ctx is None:
            self._ctx = LedgerContext(self.settings)
        return self._ctx

    def _reader(self) -> LocalAccount:
        reader: LocalAccount = Account.create()
        return reader

    def role_of(self, address: str) -> DeskRole:
        """The desk role of ``address`` from its roles on chain (``MarketAccess``)."""
        access = self.ctx.client(MarketAccessClient, self._reader())
        for role in (DeskRole.operator, DeskRole.regulator):
            if access.has_role(role.value.upper(), address):
                return role
        return DeskRole.participant

    def actor(self, account: LocalAccount) -> Actor:
        return Actor(account.address, self.role_of(account.address))

    def anchor_client(self, account: LocalAccount | None = None) -> DeskAnchorClient:
        return self.ctx.client(DeskAnchorClient, account or self._reader())

    def chain_feed(self) -> list[FeedItem] | None:
        """The surveillance desk's on-chain announcements (None when the chain is down)."""
        try:
            client = self.ctx.client(SurveillanceDeskClient, self._reader())
            return chain_items(client, self.ctx.manifest.deploy_block)
        except (GridLedgerError, Web3Exception, OSError):
            return None

    def feed(self) -> tuple[list[FeedItem], bool]:
        """The one feed, and whether the chain's part is in it."""
        chain = self.chain_feed()
        return feed(self.kb, chain or []), chain is not None
