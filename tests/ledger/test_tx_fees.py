"""The consortium fee policy: a burst of full blocks raises the base fee, and must never
price the burst's own transactions out (issue #20)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import RPCEndpoint

from ledger.engines.local import anvil_binary, free_port
from ledger.keystore import demo_account
from ledger.revert import ErrorDecoder
from ledger.settings import Settings
from ledger.tx import DEFAULT_MAX_FEE_PER_GAS_WEI, Fees, NonceManager, TxSender, fee_policy
from ledger.web3factory import is_reachable

DEAD = "0x000000000000000000000000000000000000dEaD"
#: The Clique genesis's starting base fee.
START_BASE_FEE_WEI = 7
#: Ten plain transfers fill a block (target: five).
BLOCK_GAS = 210_000
SENDERS = 10
PER_SENDER = 10


def test_the_policy_offers_the_ceiling_the_public_rule_and_the_tip_on_a_free_chain() -> None:
    assert fee_policy(7, tip_wei=1, ceiling_wei=10**9) == Fees(
        max_fee_per_gas=10**9, max_priority_fee_per_gas=1
    )
    # a base fee already above the ceiling still gets in
    assert fee_policy(10**9, tip_wei=1, ceiling_wei=10**9) == Fees(
        max_fee_per_gas=2 * 10**9 + 1, max_priority_fee_per_gas=1
    )
    assert fee_policy(7, tip_wei=1, ceiling_wei=0) == Fees(
        max_fee_per_gas=15, max_priority_fee_per_gas=1
    )
    assert fee_policy(0, tip_wei=0, ceiling_wei=10**9) == Fees(
        max_fee_per_gas=0, max_priority_fee_per_gas=0
    )
    assert Settings().max_fee_per_gas_wei == DEFAULT_MAX_FEE_PER_GAS_WEI


@pytest.fixture
def rising_chain() -> Iterator[Web3]:
    """anvil with a London base fee of 7 wei that rises with full blocks, mining only on
    ``evm_mine``, and ten funded senders."""
    port = free_port()
    cmd = [
        str(anvil_binary(Settings())),
        *("--port", str(port), "--accounts", "0", "--no-mining"),
        *("--base-fee", str(START_BASE_FEE_WEI), "--gas-limit", str(BLOCK_GAS)),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
    try:
        deadline = time.monotonic() + 30
        while not is_reachable(w3):
            assert proc.poll() is None, "anvil exited"
            assert time.monotonic() < deadline, "anvil did not start"
            time.sleep(0.05)
        for account in _senders():
            _rpc(w3, "anvil_setBalance", [account.address, hex(10**21)])
        yield w3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _senders() -> list[LocalAccount]:
    return [demo_account(700 + i) for i in range(SENDERS)]


def _rpc(w3: Web3, method: str, params: list[object]) -> object:
    reply = w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]


def _burst(w3: Web3, ceiling_wei: int) -> tuple[list[HexBytes], int]:
    """Send 100 transfers at once (ten blocks' worth), then mine 14 blocks: the hashes and
    the highest base fee of those blocks."""
    nonces = NonceManager(w3)
    senders = [
        TxSender(
            w3,
            account,
            decoder=ErrorDecoder([]),
            nonces=nonces,
            priority_fee_wei=1,
            max_fee_per_gas_wei=ceiling_wei,
        )
        for account in _senders()
    ]
    hashes = [s.send(DEAD, "0x", gas=21_000) for _ in range(PER_SENDER) for s in senders]
    peak = 0
    for _ in range(14):
        _rpc(w3, "evm_mine", [])
        peak = max(peak, int(w3.eth.get_block("latest")["baseFeePerGas"]))
    return hashes, peak


def _included(w3: Web3, hashes: list[HexBytes]) -> int:
    return sum(
        1 for h in hashes if w3.provider.make_request("eth_getTransactionReceipt", [h])["result"]
    )


def test_a_burst_of_full_blocks_with_a_rising_base_fee_is_all_included(rising_chain: Web3) -> None:
    hashes, base = _burst(rising_chain, DEFAULT_MAX_FEE_PER_GAS_WEI)
    assert _included(rising_chain, hashes) == SENDERS * PER_SENDER
    # the burst's full blocks raised the base fee past what the public rule offered
    assert base > 2 * START_BASE_FEE_WEI + 1


def test_the_public_rule_prices_a_burst_out_of_its_own_blocks(rising_chain: Web3) -> None:
    """The defect the consortium ceiling fixes: twice the base fee at signing plus the tip
    (15 wei) falls under the base fee after eight full blocks."""
    hashes, base = _burst(rising_chain, 0)
    included = _included(rising_chain, hashes)
    assert base > 2 * START_BASE_FEE_WEI + 1
    assert 0 < included < SENDERS * PER_SENDER
