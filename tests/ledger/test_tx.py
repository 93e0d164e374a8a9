from __future__ import annotations

import threading
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from ledger.clients.access import MarketAccessClient, role_id
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError, TransactionError, TransactionTimeoutError
from ledger.keystore import demo_account
from ledger.tx import NonceManager, TxSender
from tests.conftest import role_account

DEAD = "0x000000000000000000000000000000000000dEaD"


def _transfer_data() -> str:
    return "0x"


def test_revert_decodes_into_the_custom_error_with_arguments(ctx: LedgerContext) -> None:
    operator = role_account("OPERATOR")
    access = ctx.client(MarketAccessClient, operator)
    with pytest.raises(ContractRevertError) as info:
        access.grant_role("VERIFIER", DEAD)
    err = info.value
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.arguments == {"account": operator.address, "neededRole": b"\x00" * 32}
    assert str(err) == (
        f"AccessControlUnauthorizedAccount(account={operator.address}, neededRole=0x"
        + "00" * 32
        + ")"
    )


def test_a_reverting_transaction_is_not_sent(ctx: LedgerContext) -> None:
    operator = role_account("OPERATOR")
    before = ctx.w3.eth.get_transaction_count(operator.address)
    with pytest.raises(ContractRevertError):
        ctx.client(MarketAccessClient, operator).grant_role("VERIFIER", DEAD)
    assert ctx.w3.eth.get_transaction_count(operator.address) == before


def test_mined_revert_is_decoded_by_replay(ctx: LedgerContext) -> None:
    operator = role_account("OPERATOR")
    access = ctx.client(MarketAccessClient, operator)
    data = access.encode("grantRole", role_id("VERIFIER"), Web3.to_checksum_address(DEAD))
    sender = ctx.sender(operator)
    with pytest.raises(ContractRevertError) as info:
        sender.transact(access.address, data, gas=100_000)  # skips estimation: mined, status 0
    assert info.value.name == "AccessControlUnauthorizedAccount"
    assert info.value.arguments["account"] == operator.address


def test_concurrent_senders_on_one_key_use_every_nonce_once(ctx: LedgerContext) -> None:
    account = demo_account(500)
    sender = ctx.sender(account)
    start = ctx.w3.eth.get_transaction_count(account.address)
    hashes: list[bytes] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            tx_hash = sender.send(DEAD, _transfer_data(), gas=21_000)
            with lock:
                hashes.append(tx_hash)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    receipts = [sender.wait(h) for h in hashes]
    assert all(r["status"] == 1 for r in receipts)
    nonces = sorted(ctx.w3.eth.get_transaction(h)["nonce"] for h in hashes)
    assert nonces == list(range(start, start + 40))
    assert ctx.w3.eth.get_transaction_count(account.address) == start + 40


def test_nonce_too_low_from_another_process_is_recovered(ctx: LedgerContext) -> None:
    account = demo_account(501)
    ours = ctx.sender(account)
    ours.transact(DEAD, "0x", gas=21_000)  # caches nonce 1 as next
    other = TxSender(ctx.w3, account, decoder=ctx.decoder, nonces=NonceManager(ctx.w3))
    other.transact(DEAD, "0x01", gas=30_000)  # another process takes nonce 1
    receipt = ours.transact(DEAD, "0x", gas=21_000)  # "nonce too low", resync, nonce 2
    assert receipt["status"] == 1
    assert ctx.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 2


def test_already_known_resend_counts_as_sent(ctx: LedgerContext) -> None:
    account = demo_account(502)
    w3 = ctx.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        sender = ctx.sender(account)
        tx_hash = sender.send(DEAD, "0x", gas=21_000)
        raw = w3.eth.get_raw_transaction(tx_hash)
        assert sender._broadcast(raw, tx_hash) == "sent"  # "already known"
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert sender.wait(tx_hash)["status"] == 1
        assert sender._broadcast(raw, tx_hash) == "sent"  # mined: "nonce too low", ours
        assert w3.eth.get_transaction_count(account.address) == 1
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def test_dropped_transaction_is_rebroadcast(ctx: LedgerContext) -> None:
    account = demo_account(503)
    w3 = ctx.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        sender = ctx.sender(account)
        tx_hash = sender.send(DEAD, "0x", gas=21_000)
        w3.provider.make_request("anvil_dropTransaction", [tx_hash.to_0x_hex()])  # type: ignore[arg-type]
        sender._rebroadcast_if_dropped(tx_hash)
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        receipt = sender.wait(tx_hash)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert receipt["status"] == 1
    assert w3.eth.get_transaction_count(account.address) == 1


def test_a_refused_send_gives_its_nonce_back(ctx: LedgerContext) -> None:
    account = demo_account(504)
    sender = ctx.sender(account)
    with pytest.raises(TransactionError, match="node refused"):
        sender.send(DEAD, "0x", gas=1_000)  # intrinsic gas too low: refused before the pool
    receipt = sender.transact(DEAD, "0x", gas=21_000)
    assert ctx.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 0


def test_signing_is_local_with_coincurve() -> None:
    import coincurve  # noqa: F401 - eth-keys picks it as backend when importable
    from eth_keys.backends import get_backend

    assert type(get_backend()).__name__ == "CoinCurveECCBackend"
    account = Account.create()
    signed = account.sign_transaction(
        {
            "to": DEAD,
            "value": 0,
            "gas": 21000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "nonce": 0,
            "chainId": 31415,
            "type": 2,
        }
    )
    assert Account.recover_transaction(signed.raw_transaction) == account.address


def _sender(ctx: LedgerContext, account_n: int, confirmations: int | None) -> TxSender:
    return TxSender(
        ctx.w3,
        demo_account(account_n),
        decoder=ctx.decoder,
        nonces=ctx.nonces,
        timeout_s=20.0,
        confirmations=confirmations,
    )


def test_confirmations_default_to_none_on_a_chain_without_authority_signers(
    ctx: LedgerContext,
) -> None:
    sender = _sender(ctx, 505, None)
    assert sender.confirmations() == 0
    head = ctx.w3.eth.block_number
    receipt = sender.transact(DEAD, "0x", gas=21_000)
    assert receipt["blockNumber"] == head + 1  # returned with no block after it


def test_a_receipt_waits_for_its_confirmations_on_the_canonical_chain(
    ctx: LedgerContext,
) -> None:
    sender = _sender(ctx, 506, 2)
    tx_hash = sender.send(DEAD, "0x", gas=21_000)
    mined = ctx.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
    done = threading.Event()
    result: dict[str, object] = {}

    def wait() -> None:
        result["receipt"] = sender.wait(tx_hash)
        done.set()

    thread = threading.Thread(target=wait)
    thread.start()
    ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert not done.wait(0.5)  # one block after it: not yet
    ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert done.wait(10)
    thread.join()
    receipt: Any = result["receipt"]
    assert receipt["transactionHash"] == tx_hash
    assert receipt["blockNumber"] == mined
    assert ctx.w3.eth.block_number == mined + 2


def test_a_receipt_short_of_its_confirmations_times_out(ctx: LedgerContext) -> None:
    sender = _sender(ctx, 507, 1)
    tx_hash = sender.send(DEAD, "0x", gas=21_000)
    with pytest.raises(TransactionTimeoutError):
        sender.wait(tx_hash, timeout_s=0.5)
