"""Client of ``OrderIntake`` and the typed data of signed-receipt order intake
(docs/auction.md, "Order intake").

A participant signs an :class:`IntakeOrder` (EIP-712 ``Order`` in the ``GridLedger
OrderIntake`` domain); the intake answers with an :class:`IntakeReceipt` it signs
(``Receipt(uint64 seq,bytes32 orderHash,uint64 receivedAt)``), where ``orderHash`` is the
order's EIP-712 digest. Signatures are 65 bytes ``r || s || v`` (v 27/28, low s). A batch's
Merkle leaves are ``keccak256(keccak256(abi.encode(seq, orderHash)))`` (ledger/merkle.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import coincurve
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict
from web3.types import EventData, TxReceipt

from ledger.clients.auction import OrderSide
from ledger.clients.base import ContractClient
from ledger.errors import SignatureError
from ledger.merkle import MerkleTree

DOMAIN_NAME: Final = "GridLedger OrderIntake"
DOMAIN_VERSION: Final = "1"
ORDER_TYPEHASH: Final = keccak(
    b"Order(address node,uint32 auctionId,uint8 side,uint256 energyWh,"
    b"uint256 priceFenPerMwh,uint256 nonce)"
)
RECEIPT_TYPEHASH: Final = keccak(b"Receipt(uint64 seq,bytes32 orderHash,uint64 receivedAt)")
_DOMAIN_TYPEHASH: Final = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_ENTRIES_TYPE: Final = "(uint64,(address,uint32,uint8,uint256,uint256,uint256),bytes)[]"
_ANCHOR_SELECTOR: Final = keccak(f"anchor({_ENTRIES_TYPE})".encode())[:4]
_ANCHORED_TOPIC: Final = keccak(b"OrderAnchored(uint64,bytes32,address,uint256)")
_REJECTED_TOPIC: Final = keccak(b"OrderRejected(uint64,bytes32,address,bytes)")
_HALF_N: Final = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(to_checksum_address(address)[2:])


class IntakeOrder(BaseModel):
    """An order as its node signs it (``IOrderIntake.SignedOrder``)."""

    model_config = ConfigDict(frozen=True)

    node: str
    auction_id: int
    side: OrderSide
    energy_wh: int
    price_fen_per_mwh: int
    nonce: int

    def struct_hash(self) -> bytes:
        return keccak(
            ORDER_TYPEHASH
            + _address_word(self.node)
            + _word(self.auction_id)
            + _word(int(self.side))
            + _word(self.energy_wh)
            + _word(self.price_fen_per_mwh)
            + _word(self.nonce)
        )

    def as_tuple(self) -> tuple[str, int, int, int, int, int]:
        return (
            to_checksum_address(self.node),
            self.auction_id,
            int(self.side),
            self.energy_wh,
            self.price_fen_per_mwh,
            self.nonce,
        )


class IntakeReceipt(BaseModel):
    """The intake's acknowledgement (``IOrderIntake.Receipt``); ``order_hash`` 0x hex."""

    model_config = ConfigDict(frozen=True)

    seq: int
    order_hash: str
    received_at: int

    def struct_hash(self) -> bytes:
        return keccak(
            RECEIPT_TYPEHASH
            + _word(self.seq)
            + bytes.fromhex(self.order_hash[2:])
            + _word(self.received_at)
        )

    def as_tuple(self) -> tuple[int, bytes, int]:
        return (self.seq, bytes.fromhex(self.order_hash[2:]), self.received_at)


@dataclass(frozen=True)
class IntakeDomain:
    """The EIP-712 domain of an ``OrderIntake`` deployment."""

    chain_id: int
    contract: str

    @cached_property
    def separator(self) -> bytes:
        return keccak(
            _DOMAIN_TYPEHASH
            + keccak(DOMAIN_NAME.encode())
            + keccak(DOMAIN_VERSION.encode())
            + _word(self.chain_id)
            + _address_word(self.contract)
        )

    def digest(self, message: IntakeOrder | IntakeReceipt) -> bytes:
        """keccak256("\\x19\\x01" || domainSeparator || structHash)."""
        return keccak(b"\x19\x01" + self.separator + message.struct_hash())


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """``r || s || v`` over a 32-byte digest (libsecp256k1: low s; v 27/28)."""
    raw = coincurve.PrivateKey(bytes(private_key)).sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def recover_digest(digest: bytes, signature: bytes) -> str:
    """The checksummed signer of ``digest``; SignatureError if malformed or malleable."""
    if (
        len(signature) != 65
        or signature[64] not in (27, 28)
        or int.from_bytes(signature[32:64], "big") > _HALF_N
    ):
        raise SignatureError("a signature is 65 bytes r || s || v with v 27/28 and a low s")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except Exception as exc:
        raise SignatureError(f"signature does not recover: {exc}") from exc
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def batch_leaf(seq: int, order_hash: bytes) -> bytes:
    """A batch's Merkle leaf: keccak256(keccak256(abi.encode(seq, orderHash)))."""
    return keccak(keccak(_word(seq) + order_hash))


def batch_tree(entries: Sequence[tuple[int, bytes]]) -> MerkleTree:
    """The Merkle tree of (seq, order hash) pairs in anchoring order."""
    return MerkleTree([batch_leaf(seq, h) for seq, h in entries])


@dataclass(frozen=True)
class AnchorEntry:
    """One order of a batch: intake sequence, the order, the node's signature."""

    seq: int
    order: IntakeOrder
    signature: bytes

    def as_tuple(self) -> tuple[int, tuple[str, int, int, int, int, int], bytes]:
        return (self.seq, self.order.as_tuple(), self.signature)


@dataclass(frozen=True)
class AnchorOutcome:
    """What anchoring did with sequence ``seq``: an auction order id, or a rejection."""

    seq: int
    order_hash: str
    node: str
    order_id: int | None
    reason: bytes | None


class OrderIntakeClient(ContractClient):
    """Intake key (anchor), OPERATOR (intake key), REGULATOR (penalty), anyone (proofs)."""

    ARTIFACT = "OrderIntake"

    def domain(self) -> IntakeDomain:
        return IntakeDomain(int(self._contract.w3.eth.chain_id), self.address)

    def set_intake(self, intake: str) -> TxReceipt:
        return self._transact("setIntake", to_checksum_address(intake))

    def set_omission_penalty(self, penalty_fen: int) -> TxReceipt:
        return self._transact("setOmissionPenalty", penalty_fen)

    def deposit_bond(self, amount_fen: int) -> TxReceipt:
        return self._transact("depositBond", amount_fen)

    def anchor(self, entries: Sequence[AnchorEntry], *, gas: int | None = None) -> TxReceipt:
        # eth_abi directly: web3's per-argument validation costs about 1 ms an entry
        data = _ANCHOR_SELECTOR + abi_encode([_ENTRIES_TYPE], [[e.as_tuple() for e in entries]])
        return self._sender.transact(self._address, "0x" + data.hex(), gas=gas)

    def prove_omission(
        self,
        receipt: IntakeReceipt,
        intake_signature: bytes,
        order: IntakeOrder,
        order_signature: bytes,
    ) -> TxReceipt:
        return self._transact(
            "proveOmission",
            receipt.as_tuple(),
            intake_signature,
            order.as_tuple(),
            order_signature,
        )

    # -- views ---------------------------------------------------------------------------

    def order_digest(self, order: IntakeOrder) -> bytes:
        return bytes(self._call("orderDigest", order.as_tuple()))

    def receipt_digest(self, receipt: IntakeReceipt) -> bytes:
        return bytes(self._call("receiptDigest", receipt.as_tuple()))

    def is_anchored(self, seq: int) -> bool:
        return bool(self._call("isAnchored", seq))

    def in_batch(self, batch_id: int, seq: int, order_hash: bytes, proof: list[bytes]) -> bool:
        return bool(self._call("inBatch", batch_id, seq, order_hash, proof))

    def state(self) -> tuple[str, int, int]:
        """(intake key, highest anchored sequence, batch count)."""
        intake, last_seq, batches = self._call("state")
        return str(intake), int(last_seq), int(batches)

    def batch_root(self, batch_id: int) -> bytes:
        return bytes(self._call("batchRoot", batch_id))

    def bond(self) -> tuple[int, int, int]:
        """(bond fen, penalty fen per omission, omissions proven)."""
        bond_fen, penalty_fen, omissions = self._call("bond")
        return int(bond_fen), int(penalty_fen), int(omissions)

    # -- receipts ------------------------------------------------------------------------

    def outcomes(self, receipt: TxReceipt) -> list[AnchorOutcome]:
        """Each anchored order's outcome in ``receipt``, in sequence order (the logs read
        by topic: web3's event decoding costs about 1 ms a log)."""
        out: list[AnchorOutcome] = []
        for log in receipt["logs"]:
            if log["address"] != self._address or not log["topics"]:
                continue
            topic = bytes(log["topics"][0])
            if topic not in (_ANCHORED_TOPIC, _REJECTED_TOPIC):
                continue
            seq, order_hash, node = (bytes(t) for t in log["topics"][1:4])
            data = bytes(log["data"])
            anchored = topic == _ANCHORED_TOPIC
            out.append(
                AnchorOutcome(
                    seq=int.from_bytes(seq, "big"),
                    order_hash="0x" + order_hash.hex(),
                    node=to_checksum_address(node[12:]),
                    order_id=int.from_bytes(data[:32], "big") if anchored else None,
                    reason=None if anchored else bytes(abi_decode(["bytes"], data)[0]),
                )
            )
        return sorted(out, key=lambda o: o.seq)

    def anchored_outcomes(self, from_block: int = 0) -> list[AnchorOutcome]:
        """Every anchored order's outcome from the logs (re-deriving what was anchored)."""
        placed, rejected = (
            list(self._contract.events[e]().get_logs(from_block=from_block))
            for e in ("OrderAnchored", "OrderRejected")
        )
        return _outcomes(placed, rejected)


def _outcomes(placed: list[EventData], rejected: list[EventData]) -> list[AnchorOutcome]:
    out = [_outcome(log, int(log["args"]["orderId"]), None) for log in placed]
    out += [_outcome(log, None, bytes(log["args"]["reason"])) for log in rejected]
    return sorted(out, key=lambda o: o.seq)


def _outcome(log: EventData, order_id: int | None, reason: bytes | None) -> AnchorOutcome:
    return AnchorOutcome(
        seq=int(log["args"]["seq"]),
        order_hash="0x" + bytes(log["args"]["orderHash"]).hex(),
        node=str(log["args"]["node"]),
        order_id=order_id,
        reason=reason,
    )
