"""The intake: checks a signed order, writes it ahead, answers with a signed receipt.

Checks (off chain, as far as the chain's rules can be read without a transaction): the
signature is the order's node's; the auction exists and its order window is open at the
chain's clock, with ``lead_s`` to spare before the gate (time for the anchorer to land
it); quantity at least the minimum lot; price within the auction's floor and cap. What
only the transaction can tell (balance, allowance, bond, eligibility) shows at anchoring:
an ``OrderRejected`` with the auction's error, on chain.

Group commit: accepted orders queue for one writer task; each COMMIT (fsync'd) carries
every order that arrived meanwhile, and only then are their receipts signed and sent.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import coincurve
from eth_account.signers.local import LocalAccount

from ledger.clients.auction import Auction, CentralAuctionClient, Phase
from ledger.clients.intake import (
    IntakeDomain,
    IntakeOrder,
    IntakeReceipt,
    recover_digest,
)
from ledger.errors import ContractRevertError, GridLedgerError, SignatureError
from node.intake.store import Incoming, IntakeStore, StoredOrder

#: Seconds before the gate the intake stops acknowledging (the anchorer's margin).
DEFAULT_LEAD_S = 5
#: Seconds an auction's terms and the chain clock are cached.
CACHE_S = 5.0
#: Orders per COMMIT at most.
GROUP_MAX = 1000


class IntakeRefusedError(GridLedgerError):
    """An order the intake does not acknowledge: HTTP ``status`` and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt and the intake key's signature."""

    receipt: IntakeReceipt
    signature: bytes
    intake: str


class AuctionTerms:
    """Auctions' terms and the chain clock, cached for ``CACHE_S``."""

    def __init__(self, auction: CentralAuctionClient) -> None:
        self._auction = auction
        self._cache: dict[int, tuple[float, Auction | None]] = {}
        self._clock: tuple[float, int] = (0.0, 0)

    def now(self) -> int:
        """The chain's time: the latest block's timestamp plus the wall time since."""
        mono = time.monotonic()
        fetched, offset = self._clock
        if mono - fetched > CACHE_S:
            block = self._auction.contract.w3.eth.get_block("latest")
            offset = int(block["timestamp"]) - int(time.time())
            self._clock = (mono, offset)
        return int(time.time()) + offset

    def get(self, auction_id: int) -> Auction | None:
        mono = time.monotonic()
        hit = self._cache.get(auction_id)
        if hit is not None and mono - hit[0] <= CACHE_S:
            return hit[1]
        try:
            value: Auction | None = self._auction.auction(auction_id)
        except ContractRevertError:
            value = None
        self._cache[auction_id] = (mono, value)
        return value


class IntakeService:
    """Acknowledges orders for one ``OrderIntake`` deployment with the intake ``key``."""

    def __init__(
        self,
        store: IntakeStore,
        key: LocalAccount,
        domain: IntakeDomain,
        terms: AuctionTerms,
        *,
        lead_s: int = DEFAULT_LEAD_S,
    ) -> None:
        self.store = store
        self.key = key
        self.domain = domain
        self.terms = terms
        self.lead_s = lead_s
        self._signer = coincurve.PrivateKey(bytes(key.key))
        self._queue: asyncio.Queue[tuple[Incoming, asyncio.Future[StoredOrder]]] | None = None
        self._writer: asyncio.Task[None] | None = None

    # -- checks ----------------------------------------------------------------------------

    def check(self, order: IntakeOrder, signature: bytes) -> Incoming:
        """The order ready to log, or IntakeRefusedError with the reason."""
        digest = self.domain.digest(order)
        try:
            signer = recover_digest(digest, signature)
        except SignatureError as exc:
            raise IntakeRefusedError(400, f"BadOrderSignature: {exc}") from exc
        if signer != order.node:
            reason = f"BadOrderSignature: signed by {signer}, not {order.node}"
            raise IntakeRefusedError(400, reason)
        a = self.terms.get(order.auction_id)
        if a is None:
            raise IntakeRefusedError(404, f"UnknownAuction(auctionId={order.auction_id})")
        now = self.terms.now()
        last = a.gate_closes_at - self.lead_s
        if a.phase != Phase.OPEN or not a.opens_at <= now < last:
            raise IntakeRefusedError(
                409,
                f"OutsideOrderWindow(auctionId={order.auction_id}, nowS={now}, "
                f"opensAt={a.opens_at}, intakeClosesAt={last}, gateClosesAt={a.gate_closes_at})",
            )
        if order.energy_wh < a.min_lot_wh:
            raise IntakeRefusedError(
                422,
                f"BelowMinimumLot(auctionId={order.auction_id}, energyWh={order.energy_wh}, "
                f"minLotWh={a.min_lot_wh})",
            )
        if not a.floor_fen_per_mwh <= order.price_fen_per_mwh <= a.cap_fen_per_mwh:
            raise IntakeRefusedError(
                422,
                f"PriceOutsideLimits(auctionId={order.auction_id}, "
                f"priceFenPerMwh={order.price_fen_per_mwh}, floorFenPerMwh={a.floor_fen_per_mwh}, "
                f"capFenPerMwh={a.cap_fen_per_mwh})",
            )
        return Incoming(order, digest, signature, int(time.time()))

    # -- receipts --------------------------------------------------------------------------

    def receipt(self, row: StoredOrder) -> SignedReceipt:
        """The signed receipt of a logged order (deterministic: same row, same receipt)."""
        r = IntakeReceipt(
            seq=row.seq, order_hash="0x" + row.order_hash.hex(), received_at=row.received_at
        )
        raw = self._signer.sign_recoverable(self.domain.digest(r), hasher=None)
        return SignedReceipt(r, raw[:64] + bytes([raw[64] + 27]), self.key.address)

    async def submit(self, order: IntakeOrder, signature: bytes) -> SignedReceipt:
        """Check, log (fsync'd, grouped) and answer."""
        incoming = self.check(order, signature)
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._writer = asyncio.create_task(self._write_loop(self._queue))
        done: asyncio.Future[StoredOrder] = asyncio.get_running_loop().create_future()
        await self._queue.put((incoming, done))
        return self.receipt(await done)

    async def _write_loop(
        self, queue: asyncio.Queue[tuple[Incoming, asyncio.Future[StoredOrder]]]
    ) -> None:
        while True:
            group = [await queue.get()]
            while not queue.empty() and len(group) < GROUP_MAX:
                group.append(queue.get_nowait())
            try:
                rows = await asyncio.to_thread(self.store.append, [g[0] for g in group])
            except Exception as exc:  # noqa: BLE001 - every waiter must hear of it
                for _, fut in group:
                    fut.set_exception(exc)
                continue
            for (_, fut), row in zip(group, rows, strict=True):
                fut.set_result(row)

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
