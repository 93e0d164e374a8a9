"""The dispatch center's execution result of one trade: signed with its DISPATCH key as a
batch of one (EIP-712 ``DispatchBatch``, digest from ``DispatchResults.batchDigest`` on
chain), handed to the oracle's ``POST /dispatch/results``, which checks it and relays it on
chain with ``submitResultBatch``.

Reason codes: 0 executed in full, 1 curtailed for congestion (FTR compensation), 2 not
executed (no path); any other code the contract accepts is passed through as given.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32

from ledger.clients.oracle import DispatchResultsClient, DispatchTuple, StoredDispatchResult
from ledger.clients.trading import Trade, TradeStatus
from ledger.errors import GridLedgerError, NotFoundError, ValidationError
from ledger.settings import Settings

REASON_EXECUTED = 0
REASON_CONGESTION = 1
#: secp256k1 group order (a signature's ``s`` must be in its lower half).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class OracleRefusedError(GridLedgerError):
    """The oracle refused the dispatch result, or did not relay it in time."""


def oracle_url(settings: Settings) -> str:
    """The oracle API of the settings (``gridledger oracle serve``'s host and port)."""
    return f"https://{settings.oracle_host}:{settings.oracle_port}"


def dispatch_result(trade: Trade, executed_wh: int, reason_code: int | None) -> DispatchTuple:
    """``(tradeId, period, executedWh, curtailedWh, reasonCode)`` of ``trade`` executing
    ``executed_wh`` (reason default: 0 in full, else 1 congestion)."""
    if trade.id == 0 or trade.status is TradeStatus.NONE:
        raise NotFoundError("no such trade")
    if trade.status is not TradeStatus.FORMED:
        raise ValidationError(f"trade {trade.id} is {trade.status.name.lower()}, not formed")
    if executed_wh > trade.energy_wh:
        raise ValidationError(
            f"executed {executed_wh} Wh exceeds trade {trade.id}'s {trade.energy_wh} Wh"
        )
    curtailed_wh = trade.energy_wh - executed_wh
    if reason_code is None:
        reason_code = REASON_CONGESTION if curtailed_wh else REASON_EXECUTED
    elif reason_code == REASON_EXECUTED and curtailed_wh:
        raise ValidationError(f"reason 0 (executed in full) with {curtailed_wh} Wh curtailed")
    return (trade.id, trade.period_id, executed_wh, curtailed_wh, reason_code)


def sign(account: LocalAccount, results: DispatchResultsClient, result: DispatchTuple) -> str:
    """``account``'s 65-byte ``r||s||v`` signature (low ``s``, ``v`` 27/28) of the batch
    of ``result`` alone."""
    signed = account.unsafe_sign_hash(Hash32(results.batch_digest([result])))
    r, s, v = int(signed.r), int(signed.s), int(signed.v)
    if s > SECP256K1_N // 2:
        s, v = SECP256K1_N - s, 55 - v  # the same signature with low s (27 <-> 28)
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])).hex()


def submission(
    chain_id: int, contract: str, result: DispatchTuple, signature: str
) -> dict[str, Any]:
    """The oracle's ``DispatchSubmission`` body of one result and its batch signature."""
    trade_id, period, executed_wh, curtailed_wh, reason_code = result
    return {
        "chainId": chain_id,
        "verifyingContract": contract,
        "results": [
            {
                "tradeId": trade_id,
                "period": period,
                "executedWh": executed_wh,
                "curtailedWh": curtailed_wh,
                "reasonCode": reason_code,
            }
        ],
        "signature": signature,
    }


def submit(http: httpx.Client, body: dict[str, Any]) -> None:
    """POST ``body`` to the oracle; a refusal is an :class:`OracleRefusedError`."""
    try:
        resp = http.post("/dispatch/results", json=body)
    except httpx.HTTPError as exc:
        raise OracleRefusedError(f"the oracle at {http.base_url} did not answer: {exc}") from exc
    if resp.is_success:
        return
    try:
        problem = resp.json()
    except ValueError:
        problem = {}
    why = (
        f"{problem.get('reason')}: {problem.get('detail')}"
        if isinstance(problem, dict) and "reason" in problem
        else f"HTTP {resp.status_code}"
    )
    raise OracleRefusedError(f"the oracle refused the result ({why})")


def wait_recorded(
    results: DispatchResultsClient, trade_id: int, timeout_s: float
) -> StoredDispatchResult:
    """The result of ``trade_id`` once the oracle's relay has recorded it on chain."""
    deadline = time.monotonic() + timeout_s
    while True:
        stored = results.result_of(trade_id)
        if stored.recorded:
            return stored
        if time.monotonic() >= deadline:
            raise OracleRefusedError(
                f"trade {trade_id}: the oracle took the result but has not recorded it on "
                f"chain after {timeout_s:g} s"
            )
        time.sleep(0.5)
