"""Execution tracking and milestones of bilateral contracts, read from chain state.

Per contract and delivery period: contracted energy and money (the schedule at the contract
price), executed energy (the trade's dispatch), settled energy and money (a Settled trade's
executed energy and what its escrow paid the seller), the completion rate, and anomalies (a
deviation beyond the contract's tolerance, a failed trade). Milestones per participant:
upcoming deliveries (a period not formed yet or not delivered), payment due (the escrow the
buyer prepays when a period's trade is formed), expiry and renewal (the date by which a
contract with renewal terms must be renewed). A profiled period (one trade per block of its
15-minute profile) is tracked as the sum of its blocks.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ledger.clients.bilateral import BilateralContract, BilateralContractsClient, ContractStatus
from ledger.clients.trading import Trade, TradeStatus, TradingMarketClient
from ledger.units import share_bps, value_fen

BPS = 10_000
DAY_S = 86_400


class PeriodExecution(BaseModel):
    """One delivery period of a contract."""

    model_config = ConfigDict(frozen=True)

    period_id: int
    trade_id: int
    trade_status: str
    contracted_wh: int
    contracted_fen: int
    executed_wh: int
    settled_wh: int
    settled_fen: int
    completion_bps: int
    anomaly: str


class ContractExecution(BaseModel):
    """A contract's tracking over all its periods."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    status: str
    periods: list[PeriodExecution]
    contracted_wh: int
    contracted_fen: int
    executed_wh: int
    settled_wh: int
    settled_fen: int
    completion_bps: int
    anomalies: int


class Milestone(BaseModel):
    """Something due on a contract (ready for a notification)."""

    model_config = ConfigDict(frozen=True)

    contract_no: int
    kind: str
    period_id: int
    at: int
    detail: str


def completion_bps(executed_wh: int, contracted_wh: int) -> int:
    """Executed over contracted energy in basis points (rounded down; 0 when nothing due)."""
    return executed_wh * BPS // contracted_wh if contracted_wh else 0


#: A period's blocks: each block's scheduled energy and its trade (None: not formed).
Blocks = list[tuple[int, Trade | None]]
_DONE = (TradeStatus.DISPATCHED, TradeStatus.SETTLED)


def _period_row(c: BilateralContract, period_id: int, blocks: Blocks) -> PeriodExecution:
    trades = [t for _, t in blocks if t is not None]
    energy_wh = sum(e for e, _ in blocks)
    executed = sum(t.executed_wh for t in trades)
    settled = bool(trades) and all(t.status == TradeStatus.SETTLED for t in trades)
    deviation = sum(abs(e - t.executed_wh) for e, t in blocks if t is not None)
    anomaly = ""
    if any(t.status == TradeStatus.FAILED for t in trades):
        anomaly = "failed"
    elif (
        trades
        and all(t.status in _DONE for t in trades)
        and deviation > share_bps(energy_wh, c.tolerance_bps)
    ):
        anomaly = "deviation"

    def fen(wh: int, t: Trade | None) -> int:
        return value_fen(wh, t.price_fen_per_mwh if t else c.price_fen_per_mwh)

    return PeriodExecution(
        period_id=period_id,
        trade_id=trades[0].id if trades else 0,
        trade_status=trades[0].status.name.lower() if trades else "not formed",
        contracted_wh=energy_wh,
        contracted_fen=sum(fen(e, t) for e, t in blocks),
        executed_wh=executed,
        settled_wh=executed if settled else 0,
        settled_fen=sum(fen(t.executed_wh, t) for t in trades) if settled else 0,
        completion_bps=completion_bps(executed, energy_wh),
        anomaly=anomaly,
    )


def period_blocks(
    contracts: BilateralContractsClient, market: TradingMarketClient, contract_no: int
) -> dict[int, Blocks]:
    """Per period of ``contract_no``, its blocks with their trades (one block when flat)."""
    schedule = contracts.schedule(contract_no)
    if contracts.profile_terms(contract_no).blocks == 1:
        raw = {p.period_id: [(p.energy_wh, p.trade_id)] for p in schedule}
    else:
        raw = {
            p.period_id: [
                (b.energy_wh, b.trade_id) for b in contracts.profile(contract_no, p.period_id)
            ]
            for p in schedule
        }
    ids = [t for blocks in raw.values() for _, t in blocks if t]
    trades = {t.id: t for t in market.trades_by_ids(ids)} if ids else {}
    return {pid: [(e, trades.get(t)) for e, t in blocks] for pid, blocks in raw.items()}


def execution(
    contracts: BilateralContractsClient, market: TradingMarketClient, contract_no: int
) -> ContractExecution:
    """Tracking of ``contract_no`` from chain state."""
    c = contracts.contract_of(contract_no)
    periods = period_blocks(contracts, market, contract_no)
    rows = [_period_row(c, pid, blocks) for pid, blocks in periods.items()]
    contracted = sum(r.contracted_wh for r in rows)
    executed = sum(r.executed_wh for r in rows)
    return ContractExecution(
        contract_no=contract_no,
        status=c.status.name.lower(),
        periods=rows,
        contracted_wh=contracted,
        contracted_fen=sum(r.contracted_fen for r in rows),
        executed_wh=executed,
        settled_wh=sum(r.settled_wh for r in rows),
        settled_fen=sum(r.settled_fen for r in rows),
        completion_bps=completion_bps(executed, contracted),
        anomalies=sum(1 for r in rows if r.anomaly),
    )


def contracts_of(contracts: BilateralContractsClient, party: str) -> list[BilateralContract]:
    """Every contract ``party`` is seller or buyer of."""
    who = party.lower()
    return [c for c in contracts.contracts() if who in (c.seller.lower(), c.buyer.lower())]


def milestones(
    contracts: BilateralContractsClient, market: TradingMarketClient, party: str, now: int
) -> list[Milestone]:
    """What is due on ``party``'s active contracts after ``now``, earliest first."""
    out: list[Milestone] = []
    opened = market.period_count()
    for c in contracts_of(contracts, party):
        if c.status != ContractStatus.ACTIVE:
            continue
        for p in contracts.schedule(c.contract_no):
            if p.period_id > opened or p.energy_wh == 0:
                continue  # not opened yet (no delivery time known), or nothing due
            start = market.period(p.period_id).delivery_start
            if start <= now:
                continue
            escrow = value_fen(p.energy_wh, c.price_fen_per_mwh)
            due = [("delivery", f"{p.energy_wh} Wh")]
            if p.trade_id == 0:
                due.append(("payment due", f"buyer prepays {escrow} fen + fee at formation"))
            out += [
                Milestone(
                    contract_no=c.contract_no,
                    kind=kind,
                    period_id=p.period_id,
                    at=start,
                    detail=detail,
                )
                for kind, detail in due
            ]
        out += _renewal(contracts, market, c, now)
        if c.expires_at > now:
            out.append(
                Milestone(
                    contract_no=c.contract_no,
                    kind="expiry",
                    period_id=c.last_period_id,
                    at=c.expires_at,
                    detail="contract expires",
                )
            )
    return sorted(out, key=lambda m: (m.at, m.contract_no, m.kind))


def contract_end(market: TradingMarketClient, c: BilateralContract) -> int:
    """When ``c`` ends: its expiry, else its last period's delivery end (0: not opened)."""
    if c.expires_at:
        return c.expires_at
    if c.last_period_id > market.period_count():
        return 0
    p = market.period(c.last_period_id)
    return p.delivery_start + p.interval_s * p.intervals


def _renewal(
    contracts: BilateralContractsClient,
    market: TradingMarketClient,
    c: BilateralContract,
    now: int,
) -> list[Milestone]:
    """``renewal`` of a contract with renewal terms: the date by which renewal must be
    agreed (its end less the notice), while its end is known and still ahead."""
    days = contracts.profile_terms(c.contract_no).renewal_notice_days
    end = contract_end(market, c) if days else 0
    if end <= now:
        return []
    by = end - days * DAY_S
    late = "overdue: " if by <= now else ""
    detail = f"{late}renew by {by} ({days} days before the end at {end})"
    return [
        Milestone(
            contract_no=c.contract_no,
            kind="renewal",
            period_id=c.last_period_id,
            at=by,
            detail=detail,
        )
    ]
