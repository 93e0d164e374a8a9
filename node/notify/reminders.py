"""What a participant should be reminded of, derived from chain state and its own data.

Each source returns :class:`Reminder` items; a reminder's :attr:`Reminder.key` (kind, subject,
threshold) names it for good, so the delivery (:mod:`node.notify.centre`) sends it exactly
once. The kinds:

- ``licence``: a qualification of the registry expiring within 30 days, then within 7 days
  (the registry's paging view ``qualificationsExpiringBefore``); the subject carries the
  expiry, so a renewed licence is reminded again when its turn comes.
- ``credit``: an open top-up deadline of the ReputationLedger (a credit level drop), first
  when opened, again within the lead time of the deadline; a bond below its requirement.
- ``contract``: a bilateral contract's anomalies, held changes and reviews, and its
  milestones within the lead time (the feed of :mod:`node.contracts.notify`, reused).
- ``bill``: a consumer's retail bill due within the lead time, and overdue (unpaid past its
  due date; needs the retailer's issue file, the chain holds only the batch root).
- ``rating``: a settled trade the participant has not rated whose rating window closes
  within the lead time.
- ``violation``: a surveillance report filed against the participant, and its ruling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict
from web3.types import EventData

from ledger.clients.bilateral import BilateralContractsClient
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.reputation import ReputationLedgerClient
from ledger.clients.retail import BillBatch, RetailBillsClient, RetailPackagesClient
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.units import fen_to_cny
from node.contracts.notify import notifications
from node.retail.issue import IssuedBatch, check_anchored

DAY_S = 86_400
PAGE = 200
#: Licence reminders: (threshold name, seconds before the expiry), widest first.
LICENCE_THRESHOLDS = (("30d", 30 * DAY_S), ("7d", 7 * DAY_S))
KINDS = ("licence", "credit", "contract", "bill", "rating", "violation")


class Reminder(BaseModel):
    """One reminder: ``at`` is the deadline or event time it is about (block time)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    subject: str
    threshold: str
    at: int
    title: str
    detail: str

    @property
    def key(self) -> str:
        """Stable name: the same reminder always has the same key."""
        return f"{self.kind}:{self.subject}:{self.threshold}"


@dataclass
class Source:
    """What the sources read: the participant ``me`` (checksummed), the account the reads
    go out as, block time ``now``, the lead time and the retail issue files the participant
    holds (by batch id)."""

    ctx: LedgerContext
    account: LocalAccount
    me: str
    now: int
    lead_s: int
    issues: dict[int, IssuedBatch] = field(default_factory=dict)

    def block_time(self, block: int) -> int:
        return int(self.ctx.w3.eth.get_block(block)["timestamp"])


def _tightest(left_s: int, thresholds: Sequence[tuple[str, int]]) -> str | None:
    """The narrowest threshold ``left_s`` is within (None: not yet within any)."""
    hit = [name for name, before_s in thresholds if left_s <= before_s]
    return hit[-1] if hit else None


def licence(src: Source) -> list[Reminder]:
    """Qualifications of the participant expiring within 30 / 7 days."""
    registry = src.ctx.client(NodeRegistryClient, src.account)
    before = src.now + LICENCE_THRESHOLDS[0][1] + 1
    out: list[Reminder] = []
    offset = 0
    while True:
        items, next_offset = registry.qualifications_expiring_before(before, offset, PAGE)
        for q in items:
            if q.node != src.me or q.expires_at <= src.now:
                continue
            threshold = _tightest(q.expires_at - src.now, LICENCE_THRESHOLDS)
            if threshold is None:
                continue
            out.append(
                Reminder(
                    kind="licence",
                    subject=f"{q.licence}@{q.expires_at}",
                    threshold=threshold,
                    at=q.expires_at,
                    title=f"Licence {q.licence} expires within {threshold[:-1]} days",
                    detail=f"{q.licence} expires at {q.expires_at}: submit the renewed "
                    "licence for approval before then, or trading stops",
                )
            )
        if next_offset <= offset:
            return out
        offset = next_offset


def credit(src: Source) -> list[Reminder]:
    """An open top-up deadline (when opened, again within the lead time); a bond below its
    requirement."""
    info = src.ctx.client(ReputationLedgerClient, src.account).credit_info(src.me)
    deadline = info.top_up_deadline
    if deadline > src.now:
        soon = deadline - src.now <= src.lead_s
        short = max(info.required_bond_fen - info.bond_fen, 0)
        return [
            Reminder(
                kind="credit",
                subject=f"top-up@{deadline}",
                threshold="due soon" if soon else "opened",
                at=deadline,
                title="Bond top-up deadline" + (" is close" if soon else ""),
                detail=f"raise the bond by {fen_to_cny(short)} CNY to "
                f"{fen_to_cny(info.required_bond_fen)} CNY by {deadline}, or trading is blocked",
            )
        ]
    node = src.ctx.client(NodeRegistryClient, src.account).node_info(src.me)
    if node.bond_fen >= node.required_bond_fen:
        return []
    return [
        Reminder(
            kind="credit",
            subject=f"bond@{node.required_bond_fen}",
            threshold="low",
            at=src.now,
            title="Bond below its requirement",
            detail=f"bond {fen_to_cny(node.bond_fen)} CNY, required "
            f"{fen_to_cny(node.required_bond_fen)} CNY: top it up",
        )
    ]


def contract(src: Source) -> list[Reminder]:
    """The bilateral-contract feed: every event once, milestones within the lead time."""
    client = src.ctx.client(BilateralContractsClient, src.account)
    market = src.ctx.client(TradingMarketClient, src.account)
    out: list[Reminder] = []
    for n in notifications(client, market, src.me, src.now):
        if n.block_number == 0 and n.at - src.now > src.lead_s:
            continue  # a milestone not due yet
        when = n.block_number or n.at
        out.append(
            Reminder(
                kind="contract",
                subject=f"{n.contract_no}/{n.kind}/{n.period_id}/{when}",
                threshold="event" if n.block_number else "due",
                at=n.at,
                title=f"Contract {n.contract_no}: {n.kind}",
                detail=f"period {n.period_id}: {n.detail}",
            )
        )
    return out


def _bill(src: Source, bills: RetailBillsClient, batch: BillBatch) -> Reminder | None:
    """The reminder of the participant's bill in ``batch``, if one is due."""
    issued = src.issues.get(batch.id)
    subject = f"{batch.id}"
    where = f"{batch.retailer}'s bill of {batch.month}"
    if issued is None:  # no issue file: only the batch's due date is known
        if not 0 < batch.due_at - src.now <= src.lead_s:
            return None
        detail = f"{where} is due at {batch.due_at} (give the issue file to see yours)"
        return Reminder(
            kind="bill",
            subject=subject,
            threshold="due",
            at=batch.due_at,
            title=f"Retail bill {batch.month} due",
            detail=detail,
        )
    mine = [b for b in issued.bills if b.consumer.lower() == src.me.lower()]
    if not mine:
        return None
    bill = mine[0]
    status = check_anchored(bills, issued, issued.ref(bill))
    if status.unpaid_fen == 0:
        return None
    unpaid = f"{fen_to_cny(status.unpaid_fen)} CNY unpaid of {fen_to_cny(status.total_fen)} CNY"
    if status.overdue:
        threshold, title = "overdue", f"Retail bill {batch.month} OVERDUE"
    elif status.due_at - src.now <= src.lead_s:
        threshold, title = "due", f"Retail bill {batch.month} due"
    else:
        return None
    return Reminder(
        kind="bill",
        subject=subject,
        threshold=threshold,
        at=status.due_at,
        title=title,
        detail=f"{where}: {unpaid}, due at {status.due_at}",
    )


def bill(src: Source) -> list[Reminder]:
    """A consumer's bills of the retailers it was bound to: due, overdue."""
    packages = src.ctx.client(RetailPackagesClient, src.account)
    retailers = {b.retailer for b in packages.history(src.me)}
    if not retailers:
        return []
    bills = src.ctx.client(RetailBillsClient, src.account)
    found = (_bill(src, bills, b) for b in bills.batches() if b.retailer in retailers)
    return [r for r in found if r is not None]


def rating(src: Source) -> list[Reminder]:
    """Settled trades not yet rated by the participant whose window closes soon."""
    market = src.ctx.client(TradingMarketClient, src.account)
    ledger = src.ctx.client(ReputationLedgerClient, src.account)
    out: list[Reminder] = []
    for t in market.all_trades_of(src.me):
        if t.status != TradeStatus.SETTLED:
            continue
        scores = ledger.trade_scores(t.id)
        buyer = t.buyer == src.me
        if scores.buyer_score if buyer else scores.seller_score:
            continue
        closes = ledger.rating_closes_at(t.id)
        if not 0 < closes - src.now <= src.lead_s:
            continue
        other = t.seller if buyer else t.buyer
        out.append(
            Reminder(
                kind="rating",
                subject=f"trade {t.id}",
                threshold="closing",
                at=closes,
                title=f"Rate trade {t.id} before {closes}",
                detail=f"the rating window of trade {t.id} with {other} closes at {closes}",
            )
        )
    return out


def _desk_events(src: Source, desk: SurveillanceDeskClient, event: str) -> list[EventData]:
    logs = desk.contract.events[event]().get_logs(
        from_block=0, argument_filters={"accused": src.me}
    )
    return list(logs)


def _report(src: Source, e: EventData, threshold: str, title: str, detail: str) -> Reminder:
    rid = e["args"]["reportId"]
    return Reminder(
        kind="violation",
        subject=f"report {rid}",
        threshold=threshold,
        at=src.block_time(e["blockNumber"]),
        title=f"Violation report {rid} {title}",
        detail=detail,
    )


def violation(src: Source) -> list[Reminder]:
    """Reports filed against the participant, and their rulings."""
    desk = src.ctx.client(SurveillanceDeskClient, src.account)
    out: list[Reminder] = []
    for e in _desk_events(src, desk, "ViolationReported"):
        a = e["args"]
        detail = (
            f"periods {a['firstPeriod']}..{a['lastPeriod']}, trades {list(a['tradeIds'])}: "
            f"respond before the ruling deadline {a['ruleBy']}"
        )
        out.append(_report(src, e, "filed", "filed against you", detail))
    for e in _desk_events(src, desk, "ViolationRuled"):
        a = e["args"]
        verdict = "confirmed" if a["confirmed"] else "dismissed"
        detail = f"the REGULATOR {verdict} report {a['reportId']}"
        if a["confirmed"]:
            detail += (
                f": {fen_to_cny(a['slashedFen'])} CNY slashed, "
                f"{a['reputationPenalty']} reputation points"
            )
        out.append(_report(src, e, "ruled", verdict, detail))
    return out


#: Every source, by kind.
SOURCES: dict[str, Callable[[Source], list[Reminder]]] = {
    "licence": licence,
    "credit": credit,
    "contract": contract,
    "bill": bill,
    "rating": rating,
    "violation": violation,
}


def collect(src: Source, kinds: Sequence[str] = KINDS) -> list[Reminder]:
    """Every reminder due at ``src.now`` of ``kinds``, by time then key."""
    out = [r for kind in kinds for r in SOURCES[kind](src)]
    return sorted(out, key=lambda r: (r.at, r.key))
