"""The one transaction sender every role app uses.

Build, estimate gas (with a margin), sign locally, ``eth_sendRawTransaction``, wait for the
receipt with a timeout. Nonces come from a :class:`NonceManager` shared by every sender
of a process: the reserve-sign-send step holds a per-address lock, so concurrent threads
on one key never skip or reuse a nonce, and a failed send gives its nonce back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from pydantic import BaseModel, ConfigDict
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from ledger.errors import ContractRevertError, TransactionError, TransactionTimeoutError
from ledger.revert import ErrorDecoder
from ledger.web3factory import is_proof_of_authority

#: Node messages meaning "this exact transaction is already in the pool".
_ALREADY_KNOWN = ("already known", "known transaction", "already imported")
#: Node messages meaning "that nonce is used up or taken".
_NONCE_TAKEN = ("nonce too low", "replacement transaction underpriced", "nonce is too low")
#: How many times a send re-syncs its nonce before giving up.
_MAX_NONCE_RETRIES = 5


class NonceManager:
    """Next nonce per address, shared by the senders of one process.

    ``lock(address)`` serialises reserve-sign-send for one address; other addresses go on
    in parallel. The first use of an address, and every :meth:`resync`, reads the
    node's *pending* transaction count.
    """

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next: dict[str, int] = {}

    def lock(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def peek(self, address: ChecksumAddress) -> int:
        """The nonce the next transaction of ``address`` gets (call under its lock)."""
        if address not in self._next:
            self._next[address] = self._w3.eth.get_transaction_count(address, "pending")
        return self._next[address]

    def advance(self, address: str, used: int) -> None:
        """Record that ``used`` went out (call under the address's lock)."""
        self._next[address] = used + 1

    def resync(self, address: ChecksumAddress) -> int:
        """Forget the cached nonce and read it again from the node."""
        self._next.pop(address, None)
        return self.peek(address)

    def reset(self) -> None:
        """Forget every cached nonce (after ``evm_revert`` or a chain reset)."""
        with self._guard:
            self._next.clear()


class Fees(BaseModel):
    """EIP-1559 fee fields."""

    model_config = ConfigDict(frozen=True)

    max_fee_per_gas: int
    max_priority_fee_per_gas: int


#: The consortium's default fee ceiling per gas: 1 gwei. A Clique genesis starts at a
#: 7 wei base fee and a full block raises it by at most 1/8, so a burst needs about 160
#: full blocks in a row to reach it (3,000 takes fill about 63 blocks of 30M gas).
DEFAULT_MAX_FEE_PER_GAS_WEI = 10**9


def fee_policy(base_fee_wei: int, *, tip_wei: int, ceiling_wei: int) -> Fees:
    """The fees a sender offers when the latest block's base fee is ``base_fee_wei``.

    A permissioned chain's fee policy is a consortium setting, and a burst must never price
    its own transactions out: full blocks raise the base fee by up to 1/8 each, so the
    public-chain rule (twice the latest base fee plus the tip) stops being included after
    about 6 full blocks of a burst that was signed at one base fee. So the max fee is the
    consortium's ``ceiling_wei`` (or twice the base fee plus the tip if that is higher: a
    base fee already above the ceiling still lets senders in). A chain that keeps a zero
    base fee (the local anvil, ``--base-fee 0``, which anvil holds constant) pays the tip
    only, so accounts without ether can send there. ``ceiling_wei`` 0: the public rule.
    """
    if base_fee_wei == 0:
        return Fees(max_fee_per_gas=tip_wei, max_priority_fee_per_gas=tip_wei)
    dynamic = 2 * base_fee_wei + tip_wei
    return Fees(max_fee_per_gas=max(ceiling_wei, dynamic), max_priority_fee_per_gas=tip_wei)


class TxSender:
    """Signs with one local account and sends through one node.

    Args:
        w3: The node connection.
        account: The signing key, decrypted from its keystore.
        decoder: Decodes revert data into typed errors.
        nonces: The process's shared nonce manager.
        gas_margin_percent: Added to each gas estimate.
        timeout_s: How long :meth:`wait` waits for a receipt.
        priority_fee_wei: The tip offered per gas.
        max_fee_per_gas_wei: The consortium's fee ceiling (see :meth:`fees`); 0: the
            public-chain rule, twice the latest base fee plus the tip.
        confirmations: Blocks that must follow a receipt's block (still canonical) before
            :meth:`wait` returns it; None: 1 on a proof-of-authority chain (a Clique
            validator's block can lose to a sibling, and its transactions go back to the
            pool), else 0.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        decoder: ErrorDecoder,
        nonces: NonceManager,
        gas_margin_percent: int = 25,
        timeout_s: float = 60.0,
        priority_fee_wei: int = 0,
        max_fee_per_gas_wei: int = DEFAULT_MAX_FEE_PER_GAS_WEI,
        poll_interval_s: float = 0.01,
        confirmations: int | None = None,
    ) -> None:
        self._w3 = w3
        self._account = account
        self._decoder = decoder
        self._nonces = nonces
        self._margin = gas_margin_percent
        self._timeout_s = timeout_s
        self._tip = priority_fee_wei
        self._fee_ceiling = max_fee_per_gas_wei
        self._poll_s = poll_interval_s
        self._chain_id: int | None = None
        self._raw: dict[HexBytes, tuple[HexBytes, TxParams]] = {}
        self._confirmations = confirmations

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    @property
    def w3(self) -> Web3:
        return self._w3

    @property
    def decoder(self) -> ErrorDecoder:
        return self._decoder

    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._w3.eth.chain_id
        return self._chain_id

    def fees(self) -> Fees:
        """Fees for the next block (see :func:`fee_policy`)."""
        block = self._w3.eth.get_block("latest")
        base = int(block.get("baseFeePerGas", 0) or 0)
        return fee_policy(base, tip_wei=self._tip, ceiling_wei=self._fee_ceiling)

    def estimate_gas(self, to: str | None, data: str, value: int = 0) -> int:
        """Gas estimate plus the margin; a revert raises :class:`ContractRevertError`."""
        params: TxParams = {"from": self.address, "data": HexBytes(data), "value": Wei(value)}
        if to is not None:
            params["to"] = Web3.to_checksum_address(to)
        try:
            estimate = self._w3.eth.estimate_gas(params)
        except (ContractLogicError, Web3RPCError) as exc:
            raise self._revert_or(exc) from exc
        return estimate * (100 + self._margin) // 100

    def call(self, to: str, data: str, block: int | str = "latest") -> bytes:
        """``eth_call`` from this sender; a revert raises :class:`ContractRevertError`."""
        params: TxParams = {"from": self.address, "to": Web3.to_checksum_address(to)}
        params["data"] = HexBytes(data)
        try:
            return bytes(self._w3.eth.call(params, block_identifier=block))  # type: ignore[arg-type]
        except (ContractLogicError, Web3RPCError) as exc:
            raise self._revert_or(exc) from exc

    def send(
        self, to: str | None, data: str, *, value: int = 0, gas: int | None = None
    ) -> HexBytes:
        """Estimate (unless ``gas``), sign and send; return the transaction hash."""
        gas_limit = gas if gas is not None else self.estimate_gas(to, data, value)
        fees = self.fees()
        address = self.address
        with self._nonces.lock(address):
            nonce = self._nonces.peek(address)
            for _ in range(_MAX_NONCE_RETRIES):
                tx, tx_hash, raw = self._sign(to, data, nonce, gas_limit, value, fees)
                outcome = self._broadcast(raw, tx_hash)
                if outcome == "sent":
                    self._nonces.advance(address, nonce)
                    self._raw[tx_hash] = (raw, tx)
                    return tx_hash
                nonce = self._nonces.resync(address)
        raise TransactionError(
            f"could not find a free nonce for {address} after {_MAX_NONCE_RETRIES} tries; "
            "is another process sending with the same key?"
        )

    def _broadcast(self, raw: HexBytes, tx_hash: HexBytes) -> str:
        """Send ``raw``; ``sent`` when the node has it, ``retry`` when the nonce is taken."""
        try:
            self._w3.eth.send_raw_transaction(raw)
        except (Web3RPCError, ValueError) as exc:
            message = _message(exc).lower()
            if any(m in message for m in _ALREADY_KNOWN):
                return "sent"
            if any(m in message for m in _NONCE_TAKEN):
                # Our own transaction may already be in (a resend after a lost answer).
                return "sent" if self._known(tx_hash) else "retry"
            raise TransactionError(f"node refused the transaction: {_message(exc)}") from exc
        return "sent"

    def _known(self, tx_hash: HexBytes) -> bool:
        try:
            self._w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def wait(self, tx_hash: HexBytes, timeout_s: float | None = None) -> TxReceipt:
        """The receipt of ``tx_hash``; a reverted transaction raises its decoded error.

        A transaction the node dropped is re-broadcast once per second while waiting.
        """
        timeout = timeout_s or self._timeout_s
        deadline = time.monotonic() + timeout
        next_check = time.monotonic() + 1.0
        while True:
            try:
                receipt = self._w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                receipt = None
            if receipt is not None and self._confirmed(receipt, deadline):
                break
            now = time.monotonic()
            if now >= deadline:
                raise TransactionTimeoutError(tx_hash.to_0x_hex(), timeout)
            if now >= next_check:
                next_check = now + 1.0
                self._rebroadcast_if_dropped(tx_hash)
            time.sleep(self._poll_s)
        self._raw.pop(tx_hash, None)
        if receipt["status"] != 1:
            raise self._replay_revert(tx_hash, receipt)
        return receipt

    def confirmations(self) -> int:
        """Blocks a receipt's block must be buried by (see the class's ``confirmations``)."""
        if self._confirmations is None:
            self._confirmations = 1 if is_proof_of_authority(self._w3) else 0
        return self._confirmations

    def _confirmed(self, receipt: TxReceipt, deadline: float) -> bool:
        """Wait until ``confirmations()`` blocks follow the receipt's block; True if that
        block is still canonical, False if it lost to a sibling (the transaction is then
        back in the pool and :meth:`wait` looks for its new receipt)."""
        depth = self.confirmations()
        if depth == 0:
            return True
        number = int(receipt["blockNumber"])
        while self._w3.eth.block_number < number + depth:
            if time.monotonic() >= deadline:
                return False
            time.sleep(max(self._poll_s, 0.05))
        block = self._w3.eth.get_block(number)
        return bool(block["hash"] == receipt["blockHash"])

    def _rebroadcast_if_dropped(self, tx_hash: HexBytes) -> None:
        stored = self._raw.get(tx_hash)
        if stored is None or self._known(tx_hash):
            return
        raw, _ = stored
        if self._broadcast(raw, tx_hash) == "retry":
            self._nonces.resync(self.address)
            raise TransactionError(
                f"transaction {tx_hash.to_0x_hex()} was dropped and its nonce reused"
            )

    def transact(
        self, to: str | None, data: str, *, value: int = 0, gas: int | None = None
    ) -> TxReceipt:
        """:meth:`send` then :meth:`wait`."""
        return self.wait(self.send(to, data, value=value, gas=gas))

    def _replay_revert(self, tx_hash: HexBytes, receipt: TxReceipt) -> TransactionError:
        tx = self._w3.eth.get_transaction(tx_hash)
        params: TxParams = {
            "from": tx["from"],
            "data": tx["input"],
            "value": tx["value"],
            "gas": tx["gas"],
        }
        if tx.get("to"):
            params["to"] = tx["to"]
        try:
            self._w3.eth.call(params, block_identifier=max(receipt["blockNumber"] - 1, 0))
        except (ContractLogicError, Web3RPCError) as exc:
            return self._revert_or(exc)
        return TransactionError(
            f"transaction {tx_hash.to_0x_hex()} failed (status 0, gas used "
            f"{receipt['gasUsed']}) and its replay did not revert"
        )

    def _revert_or(self, exc: Exception) -> TransactionError:
        decoded = self._decoder.from_exception(exc)
        if decoded is not None:
            return decoded
        return TransactionError(f"node refused the call: {_message(exc)}")

    def sign(
        self, to: str | None, data: str, *, nonce: int, gas: int, value: int = 0
    ) -> tuple[HexBytes, HexBytes]:
        """Sign a transaction with an explicit ``nonce`` and ``gas``; send nothing.

        For write-ahead callers (the oracle's outbox) that persist the raw transaction
        before broadcasting it. Does not touch the nonce manager.

        Returns:
            ``(tx_hash, raw_transaction)``.
        """
        _, tx_hash, raw = self._sign(to, data, nonce, gas, value, self.fees())
        return tx_hash, raw

    def _sign(
        self, to: str | None, data: str, nonce: int, gas: int, value: int, fees: Fees
    ) -> tuple[TxParams, HexBytes, HexBytes]:
        """Build and sign one EIP-1559 transaction: ``(tx, tx_hash, raw_transaction)``."""
        tx: TxParams = {
            "type": 2,
            "chainId": self.chain_id(),
            "nonce": Nonce(nonce),
            "gas": gas,
            "maxFeePerGas": Wei(fees.max_fee_per_gas),
            "maxPriorityFeePerGas": Wei(fees.max_priority_fee_per_gas),
            "value": Wei(value),
            "data": HexBytes(data),
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        signed = self._account.sign_transaction(tx)  # type: ignore[arg-type]
        return tx, HexBytes(signed.hash), HexBytes(signed.raw_transaction)

    def broadcast(self, raw: HexBytes, tx_hash: HexBytes) -> bool:
        """Send a transaction signed by :meth:`sign` (again, after a restart).

        Returns True when the node has it or mined it ("already known", and "nonce too
        low" for this very hash, count as sent); False when its nonce was used by another
        transaction. Other refusals raise :class:`TransactionError`.
        """
        return self._broadcast(HexBytes(raw), HexBytes(tx_hash)) == "sent"


def _message(exc: BaseException) -> str:
    if isinstance(exc, Web3RPCError):
        return exc.message
    if exc.args and isinstance(exc.args[0], dict):
        return str(exc.args[0].get("message", exc))
    return str(exc)


SenderFactory = Callable[[LocalAccount], TxSender]


def tx_hash_hex(value: Any) -> str:
    """A transaction hash as 0x-hex whatever form it came in."""
    return HexBytes(value).to_0x_hex()


__all__ = [
    "DEFAULT_MAX_FEE_PER_GAS_WEI",
    "ContractRevertError",
    "Fees",
    "NonceManager",
    "SenderFactory",
    "TxSender",
    "fee_policy",
    "tx_hash_hex",
]
