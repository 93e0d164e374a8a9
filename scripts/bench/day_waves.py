"""The benchmark engine's harness: waves of pre-signed transactions (:class:`Waves`), fast
calldata (:class:`Abi`), batched reads (:func:`read_many`), event decoding and the demo's
node keys (:func:`demo_node`). See :mod:`scripts.bench.market_day`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.signers.local import LocalAccount
from eth_utils.abi import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)

from ledger.clients.base import ContractClient
from ledger.settings import DEMO_MNEMONIC
from scripts.bench.common import (
    BenchChain,
    BenchError,
    Blaster,
    BlastResult,
    Call,
    DeadlineExceeded,
    Rpc,
    Signed,
)

#: Transactions signed per slice (the sender thread sends and seals the previous one), raw
#: transactions and bytes of hex per JSON-RPC batch (anvil refuses bodies of a few MB),
#: blocks per ``eth_getLogs``, read-only calls per JSON-RPC batch.
SIGN_SLICE = 5_000
SEND_BATCH = 250
SEND_BATCH_BYTES = 1_000_000
LOG_BLOCKS = 20
READ_BATCH = 500

C = TypeVar("C", bound=ContractClient)

# -- keys ----------------------------------------------------------------------------------

_SEED: bytes | None = None


def demo_node(n: int) -> LocalAccount:
    """Demo wallet ``node-<n>`` (the key :func:`ledger.keystore.demo_account` derives, from
    the mnemonic's seed computed once: thousands of keys in seconds, not minutes)."""
    global _SEED
    if _SEED is None:
        _SEED = bytes(seed_from_mnemonic(DEMO_MNEMONIC, ""))
    account: LocalAccount = Account.from_key(key_from_seed(_SEED, f"m/44'/60'/0'/0/{n}"))
    return account


# -- events ----------------------------------------------------------------------------------


def logs_of(receipt: dict[str, Any], abi: Abi[Any], event: str) -> list[dict[str, Any]]:
    """The ``event`` logs ``abi``'s contract emitted in ``receipt``."""
    topic, address = abi.topic(event), abi.address.lower()
    return [
        log
        for log in receipt["logs"]
        if log["address"].lower() == address and log["topics"][0] == topic
    ]


def first_id(receipt: dict[str, Any], abi: Abi[Any], event: str) -> int:
    """The first indexed argument of the first ``event`` log of ``abi``'s contract."""
    found = logs_of(receipt, abi, event)
    if not found:
        raise BenchError(f"no {event} in {receipt['transactionHash']}")
    return int(found[0]["topics"][1], 16)


def word(log: dict[str, Any], i: int) -> int:
    """Data word ``i`` (a static argument that is not indexed) of ``log``, unsigned."""
    data: str = log["data"][2:]
    return int(data[64 * i : 64 * (i + 1)], 16)


# -- the wave harness ----------------------------------------------------------------------


#: Events a wave's calls emit on success (contract, event name): the logs kept for them.
Witness = Sequence[tuple["Abi[Any]", str]]


class Waves:
    """Waves of independent transactions, pipelined: the main thread signs slices of the
    wave (Blaster: one nonce sequence per key) while a sender thread sends the previous
    slice in JSON-RPC batches and seals its block. Nothing waits for a receipt before the
    whole wave is out; then every transaction is checked (:meth:`_receipts`)."""

    def __init__(self, chain: BenchChain, deadline: float) -> None:
        self.chain = chain
        self.rpc: Rpc = chain.rpc()
        self.deadline = deadline
        self.blaster = Blaster(chain, threads=1, batch=SEND_BATCH)
        self.transactions = 0
        self.blocks = 0
        self.sign_s = 0.0
        self.send_s = 0.0
        self.seal_s = 0.0
        self.receipt_s = 0.0
        self.gas_used = 0
        #: Transactions without a witness log whose receipt was read (reverts, or a call
        #: that succeeded without emitting one of its wave's witness events).
        self.status_reads = 0

    def split(self) -> dict[str, float]:
        """Busy seconds so far signing, sending, sealing and reading receipts (signing
        overlaps sending and sealing)."""
        return {
            "sign": self.sign_s,
            "send": self.send_s,
            "seal": self.seal_s,
            "receipts": self.receipt_s,
        }

    def fresh_nonces(self) -> None:
        """Forget the cached nonces (after ledger clients sent with keys waves also use)."""
        self.blaster = Blaster(self.chain, threads=1, batch=SEND_BATCH)

    def _due(self) -> None:
        if time.monotonic() > self.deadline:
            raise DeadlineExceeded(f"deadline passed after {self.transactions} transactions")

    def run(self, calls: Sequence[Call], witness: Witness) -> list[dict[str, Any]]:
        """Sign, send, seal and check ``calls``; their receipts, in order, each with the
        logs of the ``witness`` events (every call emits at least one when it succeeds)."""
        if not calls:
            return []
        self._due()
        began = time.perf_counter()
        first_block = int(self.rpc.call("eth_blockNumber", []), 16) + 1
        slices: queue.Queue[list[Signed] | None] = queue.Queue(maxsize=2)
        errors: list[BaseException] = []

        def sender() -> None:
            while (part := slices.get()) is not None:
                if errors:
                    continue
                try:
                    t0 = time.perf_counter()
                    self._send(part)
                    t1 = time.perf_counter()
                    self._seal()
                    self.send_s += t1 - t0
                    self.seal_s += time.perf_counter() - t1
                except BaseException as exc:  # noqa: BLE001 - raised by run
                    errors.append(exc)

        signed: list[Signed] = []
        self.rpc.call("evm_setAutomine", [False])
        worker = threading.Thread(target=sender)
        worker.start()
        try:
            for start in range(0, len(calls), SIGN_SLICE):
                if errors:
                    break
                self._due()
                t0 = time.perf_counter()
                part = self.blaster.sign(calls[start : start + SIGN_SLICE])
                self.sign_s += time.perf_counter() - t0
                signed += part
                slices.put(part)
        finally:
            slices.put(None)
            worker.join()
            self.rpc.call("evm_setAutomine", [True])
        if errors:
            raise errors[0]
        t0 = time.perf_counter()
        receipts = self._receipts(signed, first_block, witness)
        self.receipt_s += time.perf_counter() - t0
        self.blaster.check(
            calls,
            BlastResult(receipts=receipts, sign_s=0.0, wall_s=time.perf_counter() - began),
        )
        self.transactions += len(calls)
        return receipts

    def one(self, call: Call, witness: Witness) -> dict[str, Any]:
        return self.run([call], witness)[0]

    def _send(self, signed: Sequence[Signed]) -> None:
        for chunk in _chunks(signed):
            self._due()
            replies = self.rpc.batch([("eth_sendRawTransaction", [s.raw]) for s in chunk])
            for s, r in zip(chunk, replies, strict=True):
                if "error" in r:
                    raise BenchError(f"node refused {s.tx_hash}: {r['error']}")

    def _seal(self) -> None:
        """Mine blocks until the pool is empty (each block as full as the gas limit allows)."""
        while True:
            status = self.rpc.call("txpool_status", [])
            pending, queued = int(status["pending"], 16), int(status["queued"], 16)
            if pending == 0:
                if queued:
                    raise BenchError(f"{queued} transactions wait behind a nonce gap")
                return
            self._due()
            self.rpc.call("evm_mine", [])
            self.blocks += 1

    def _receipts(
        self, signed: Sequence[Signed], first_block: int, witness: Witness
    ) -> list[dict[str, Any]]:
        """Receipt-like records of ``signed``: the block of each transaction (block
        headers), its ``witness`` logs (``eth_getLogs`` over the wave's blocks) and its
        status.

        Anvil builds a receipt in time linear in its block's size (a block's receipts in
        quadratic time: 3.5 s for a block of 3,000 registrations, minutes for a day of
        full blocks); filtered logs come in milliseconds and keep this process small. A
        transaction that reverts leaves no log and every call of a wave emits a witness
        event when it succeeds, so only a transaction without one has its receipt read,
        for its status.
        """
        last = int(self.rpc.call("eth_blockNumber", []), 16)
        block_of: dict[str, str] = {}
        numbers = [hex(b) for b in range(first_block, last + 1)]
        for start in range(0, len(numbers), READ_BATCH):
            replies = self.rpc.batch(
                [("eth_getBlockByNumber", [b, False]) for b in numbers[start : start + READ_BATCH]]
            )
            for r in replies:
                block = r.get("result")
                if not block:
                    raise BenchError(f"eth_getBlockByNumber: {r.get('error')}")
                self.gas_used += int(block["gasUsed"], 16)
                for tx_hash in block["transactions"]:
                    block_of[tx_hash] = block["number"]
        logs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        query = {
            "address": sorted({abi.address for abi, _ in witness}),
            "topics": [sorted({abi.topic(event) for abi, event in witness})],
        }
        for start in range(first_block, last + 1, LOG_BLOCKS):
            found = self.rpc.call(
                "eth_getLogs",
                [
                    {
                        **query,
                        "fromBlock": hex(start),
                        "toBlock": hex(min(last, start + LOG_BLOCKS - 1)),
                    }
                ],
            )
            for x in found:
                logs[x["transactionHash"]].append(
                    {"address": x["address"], "topics": x["topics"], "data": x["data"]}
                )
        out: list[dict[str, Any]] = []
        for s in signed:
            if s.tx_hash not in block_of:
                raise BenchError(f"{s.tx_hash} was not mined with its wave")
            mine = logs.pop(s.tx_hash, [])
            status = "0x1" if mine else self._status(s.tx_hash)
            out.append(
                {
                    "transactionHash": s.tx_hash,
                    "blockNumber": block_of[s.tx_hash],
                    "status": status,
                    "logs": mine,
                }
            )
        return out

    def _status(self, tx_hash: str) -> str:
        self.status_reads += 1
        receipt = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
        if not receipt:
            raise BenchError(f"no receipt for {tx_hash}")
        return str(receipt["status"])


class Abi(Generic[C]):
    """Calldata of one contract's functions: the selector and ``eth_abi`` encoding of the
    arguments. The same bytes as :meth:`ContractClient.encode` (checked on each function's
    first call), without web3's per-call ABI resolution (about 5 ms a call here: minutes
    over a day's 100,000 transactions)."""

    def __init__(self, client: C) -> None:
        self.client = client
        self.address = client.address
        self._functions: dict[str, tuple[bytes, list[str]]] = {}
        self._topics: dict[str, str] = {}

    def __call__(self, fn: str, *args: Any) -> str:
        known = self._functions.get(fn)
        if known is not None:
            selector, types = known
            return "0x" + (selector + abi_encode(types, args)).hex()
        abi = self.client.contract.get_function_by_name(fn).abi
        selector, types = function_abi_to_4byte_selector(abi), get_abi_input_types(abi)
        data = "0x" + (selector + abi_encode(types, args)).hex()
        if data != self.client.encode(fn, *args):
            raise BenchError(f"{fn}: the fast encoding differs from web3's")
        self._functions[fn] = (selector, types)
        return data

    def topic(self, event: str) -> str:
        """topic0 of ``event`` (from the contract's ABI)."""
        known = self._topics.get(event)
        if known is None:
            abi = self.client.contract.events[event].abi
            known = self._topics[event] = "0x" + event_abi_to_log_topic(abi).hex()
        return known

    def outputs(self, fn: str) -> list[str]:
        """The ABI types ``fn`` returns."""
        return get_abi_output_types(self.client.contract.get_function_by_name(fn).abi)


def _chunks(items: Sequence[Signed]) -> Iterator[Sequence[Signed]]:
    """``items`` in runs of at most :data:`SEND_BATCH` transactions and
    :data:`SEND_BATCH_BYTES` of hex (anvil refuses larger request bodies)."""
    start, size = 0, 0
    for i, s in enumerate(items):
        if i > start and (i - start == SEND_BATCH or size + len(s.raw) > SEND_BATCH_BYTES):
            yield items[start:i]
            start, size = i, 0
        size += len(s.raw)
    if start < len(items):
        yield items[start:]


def read_many(rpc: Rpc, abi: Abi[Any], fn: str, args: Sequence[Sequence[Any]]) -> list[Any]:
    """``fn(*a)`` of ``abi``'s contract for every ``a`` in ``args``, in JSON-RPC batches
    (single return values unwrapped)."""
    types = abi.outputs(fn)
    out: list[Any] = []
    for start in range(0, len(args), READ_BATCH):
        calls = [
            ("eth_call", [{"to": abi.address, "data": abi(fn, *a)}, "latest"])
            for a in args[start : start + READ_BATCH]
        ]
        for r in rpc.batch(calls):
            if "error" in r:
                raise BenchError(f"{fn}: {r['error']}")
            values = abi_decode(types, bytes.fromhex(r["result"][2:]))
            out.append(values[0] if len(values) == 1 else values)
    return out
