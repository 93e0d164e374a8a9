"""One feed of announcements: the operator's and the regulator's (the desk database) and
the surveillance desk's on-chain events (violations reported, rulings, network-wide
violation announcements, dismissed reports), newest first."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from web3.types import EventData

from ledger.clients.surveillance import SurveillanceDeskClient
from node.desk.kb import KnowledgeBase

#: The surveillance events of the feed, and how each reads.
CHAIN_EVENTS = ("ViolationReported", "ViolationRuled", "ViolationAnnounced", "ReportDismissed")


class FeedItem(BaseModel):
    at: int
    source: str  # operator, regulator, chain
    kind: str  # announcement, or the on-chain event's name
    title: str
    body: str
    ref: str  # the announcement id or the transaction hash


def _chain_text(name: str, a: dict[str, Any]) -> tuple[str, str]:
    report = a.get("reportId")
    if name == "ViolationReported":
        return (
            f"Violation reported: report {report}",
            f"{a['reporter']} reported {a['accused']} (score {a['scorePpm']} ppm), "
            f"periods {a['firstPeriod']}..{a['lastPeriod']}",
        )
    if name == "ViolationRuled":
        verdict = "confirmed" if a["confirmed"] else "dismissed"
        return (
            f"Ruling on report {report}: {verdict}",
            f"{a['accused']}: bond penalty {a['bondPenaltyFen']} fen, slashed "
            f"{a['slashedFen']} fen, {a['reputationPenalty']} reputation points",
        )
    if name == "ViolationAnnounced":
        return (
            f"Warning: confirmed violation by {a['accused']}",
            f"report {report}: slashed {a['slashedFen']} fen, "
            f"{a['reputationPoints']} reputation points",
        )
    return (
        f"Report {report} dismissed",
        f"reporter {a['reporter']} now has {a['dismissed']} dismissed reports",
    )


def chain_items(client: SurveillanceDeskClient, from_block: int = 0) -> list[FeedItem]:
    """The surveillance desk's announcements on chain."""
    eth = client.sender.w3.eth
    times: dict[int, int] = {}
    items = []
    for name in CHAIN_EVENTS:
        logs: list[EventData] = client.contract.events[name]().get_logs(from_block=from_block)
        for log in logs:
            number = log["blockNumber"]
            if number not in times:
                times[number] = int(eth.get_block(number)["timestamp"])
            title, body = _chain_text(name, dict(log["args"]))
            items.append(
                FeedItem(
                    at=times[number],
                    source="chain",
                    kind=name,
                    title=title,
                    body=body,
                    ref=log["transactionHash"].to_0x_hex(),
                )
            )
    return items


def feed(kb: KnowledgeBase, chain: list[FeedItem]) -> list[FeedItem]:
    """Announcements and on-chain items together, newest first."""
    own = [
        FeedItem(
            at=a.created_at,
            source=a.author_role,
            kind="announcement",
            title=a.title,
            body=a.body,
            ref=str(a.id),
        )
        for a in kb.announcements()
    ]
    return sorted([*own, *chain], key=lambda i: (i.at, i.kind), reverse=True)
