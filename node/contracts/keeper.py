"""Anomalies without a human: the keeper that runs ``flagDeviation`` by itself.

``flagDeviation(contractNo, periodId)`` is permissionless: it records a deviation anomaly
on chain when the period's trades executed outside the contract's tolerance and refuses
(``NoDeviation``) otherwise, so any node may run this loop. Each round reads every
contract's execution from chain state, and calls the check for each dispatched period that
tracking finds outside the tolerance (or failed) and that has no deviation recorded yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ledger.clients.bilateral import AnomalyKind, BilateralContractsClient
from ledger.clients.trading import TradingMarketClient
from ledger.errors import ContractRevertError
from node.contracts.tracking import execution

#: The check's refusals that mean "nothing to record now" (not an error of the keeper).
QUIET = frozenset({"NoDeviation", "DeviationAlreadyRecorded", "PeriodNotDispatched"})


def deviations_recorded(client: BilateralContractsClient) -> set[tuple[int, int]]:
    """(contract, period) pairs with a deviation anomaly on chain."""
    logs = client.contract.events["AnomalyRecorded"]().get_logs(from_block=0)
    return {
        (int(e["args"]["contractNo"]), int(e["args"]["periodId"]))
        for e in logs
        if int(e["args"]["kind"]) == AnomalyKind.DEVIATION
    }


def watch_once(
    client: BilateralContractsClient, market: TradingMarketClient
) -> list[tuple[int, int]]:
    """One round: flag each unrecorded deviation; returns the (contract, period) flagged."""
    recorded = deviations_recorded(client)
    flagged: list[tuple[int, int]] = []
    for no in range(1, client.contract_count() + 1):
        for row in execution(client, market, no).periods:
            if not row.anomaly or (no, row.period_id) in recorded:
                continue
            try:
                client.flag_deviation(no, row.period_id)
            except ContractRevertError as exc:
                if exc.name not in QUIET:
                    raise
                continue
            flagged.append((no, row.period_id))
    return flagged


def watch(
    client: BilateralContractsClient,
    market: TradingMarketClient,
    interval_s: float,
    rounds: int = 0,
    report: Callable[[list[tuple[int, int]]], None] = lambda _: None,
) -> int:
    """Run ``watch_once`` every ``interval_s`` seconds (``rounds`` 0: until interrupted);
    returns how many anomalies it recorded."""
    total = 0
    done = 0
    while rounds == 0 or done < rounds:
        flagged = watch_once(client, market)
        report(flagged)
        total += len(flagged)
        done += 1
        if rounds == 0 or done < rounds:
            time.sleep(interval_s)
    return total
