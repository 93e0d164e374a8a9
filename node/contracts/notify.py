"""A party's notification feed, from chain state alone (small and generic: a notification
centre builds on it).

For each contract the party is seller or buyer of: its anomalies (``AnomalyRecorded``), the
changes held for OPERATOR review and their outcome (``ChangeHeld``, ``ChangeReviewed``), and
what is due next (the milestones: delivery, payment due, expiry, renewal). Newest events
first, then the upcoming milestones, earliest first.
"""

from __future__ import annotations

from web3.types import EventData

from ledger.clients.bilateral import AnomalyKind, BilateralContractsClient, ChangeKind
from ledger.clients.trading import TradingMarketClient
from node.contracts.tracking import Milestone, contracts_of, milestones

#: The events a party is notified of.
NOTIFIED = ("AnomalyRecorded", "ChangeHeld", "ChangeReviewed")


class Notification(Milestone):
    """One item of a party's feed (a milestone, or an event with its block); ``at`` is the
    block time (events) or the due time (milestones)."""

    block_number: int = 0


def _describe(e: EventData) -> tuple[str, int, str]:
    """(kind, period, detail) of a notified event."""
    a = e["args"]
    if e["event"] == "AnomalyRecorded":
        kind = AnomalyKind(int(a["kind"])).name.lower().replace("_", " ")
        return "anomaly", int(a["periodId"]), f"{kind} recorded by {a['by']}"
    change = ChangeKind(int(a["kind"])).name.lower()
    if e["event"] == "ChangeHeld":
        detail = f"{change} {a['sequence']} held: period {a['periodId']} is inside gate closure"
        return "review held", int(a["periodId"]), detail
    verdict = "approved" if a["approved"] else "rejected"
    return f"review {verdict}", 0, f"{change} {a['sequence']} {verdict} by the OPERATOR"


def notifications(
    client: BilateralContractsClient, market: TradingMarketClient, party: str, now: int
) -> list[Notification]:
    """``party``'s feed at block time ``now``."""
    events: list[EventData] = []
    for c in contracts_of(client, party):
        events += [e for e in client.history(c.contract_no) if e["event"] in NOTIFIED]
    times: dict[int, int] = {}
    out: list[Notification] = []
    for e in sorted(events, key=lambda e: (e["blockNumber"], e["logIndex"]), reverse=True):
        block = int(e["blockNumber"])
        if block not in times:
            times[block] = int(client.sender.w3.eth.get_block(block)["timestamp"])
        kind, period_id, detail = _describe(e)
        out.append(
            Notification(
                contract_no=int(e["args"]["contractNo"]),
                kind=kind,
                period_id=period_id,
                at=times[block],
                detail=detail,
                block_number=block,
            )
        )
    out += [Notification(**m.model_dump()) for m in milestones(client, market, party, now)]
    return out
