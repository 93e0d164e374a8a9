"""Signed-receipt order intake on the auction tests' small market (tests/auction/conftest.py).

``Desk`` adds the ``OrderIntake`` contract: the intake key (a throwaway demo key), a bond of
``BOND_FEN`` minted to it and deposited, and a penalty of ``PENALTY_FEN`` per omission.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.auction import OrderSide
from ledger.clients.intake import (
    AnchorEntry,
    IntakeDomain,
    IntakeOrder,
    IntakeReceipt,
    OrderIntakeClient,
    sign_digest,
)
from ledger.clients.token import SettlementTokenClient
from node.registry.participant import Bank
from tests.auction.conftest import Book
from tests.auction.conftest import book as book  # the fixture
from tests.auction.conftest import market as market  # the fixture
from tests.conftest import role_account
from tests.trading.conftest import Actor

BOND_FEN = 50_000
PENALTY_FEN = 20_000
#: The test intake key's demo wallet (far from the market's nodes).
INTAKE_WALLET = "node-777"


@dataclass
class Desk:
    """The auction book plus the intake contract, from the intake key's side."""

    book: Book
    intake: OrderIntakeClient
    key: LocalAccount
    domain: IntakeDomain
    nonces: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def order(
        self, actor: Actor, auction_id: int, side: OrderSide, energy_wh: int, price: int
    ) -> tuple[IntakeOrder, bytes]:
        """An order signed by ``actor``'s key."""
        o = IntakeOrder(
            node=actor.address,
            auction_id=auction_id,
            side=side,
            energy_wh=energy_wh,
            price_fen_per_mwh=price,
            nonce=next(self.nonces),
        )
        return o, sign_digest(actor.account.key, self.domain.digest(o))

    def receipt(
        self, seq: int, order: IntakeOrder, received_at: int = 1
    ) -> tuple[IntakeReceipt, bytes]:
        """The intake's signed receipt of ``order`` as sequence ``seq``."""
        r = IntakeReceipt(
            seq=seq, order_hash="0x" + self.domain.digest(order).hex(), received_at=received_at
        )
        return r, sign_digest(self.key.key, self.domain.digest(r))

    @staticmethod
    def entry(seq: int, signed: tuple[IntakeOrder, bytes]) -> AnchorEntry:
        return AnchorEntry(seq=seq, order=signed[0], signature=signed[1])


@pytest.fixture
def desk(book: Book) -> Desk:
    ctx = book.market.ctx
    key = ctx.account(INTAKE_WALLET)
    client = ctx.client(OrderIntakeClient, key)
    ctx.client(OrderIntakeClient, role_account("OPERATOR")).set_intake(key.address)
    ctx.client(OrderIntakeClient, role_account("REGULATOR")).set_omission_penalty(PENALTY_FEN)
    Bank(ctx, role_account("CLEARING_BANK")).mint(key.address, BOND_FEN, "INTAKE-BOND")
    ctx.client(SettlementTokenClient, key).approve(client.address, BOND_FEN)
    client.deposit_bond(BOND_FEN)
    return Desk(book=book, intake=client, key=key, domain=client.domain())
