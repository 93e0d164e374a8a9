"""Execution tracking and milestones of bilateral contracts, read from chain state.

Per contract and delivery period: contracted energy and money (the schedule at the contract
price), executed energy (the trade's dispatch), settled energy and money (a Settled trade's
executed energy and what its escrow paid the seller), the completion rate, and anomalies (a
deviation beyond the contract's tolerance, a failed trade). Milestones per participant:
upcoming deliveries (a period not formed yet or not delivered), payment due (the escrow the
buyer prepays when a period's trade is formed) and expiry.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ledger.clients.bilateral import BilateralContract, BilateralContractsClient, ContractStatus
from ledger.clients.trading import Trade, TradeStatus, TradingMarketClient
from ledger.units import share_bps, value_fen

BPS = 10_000


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


def _period_row(
    c: BilateralContract, period_id: int, energy_wh: int, trade: Trade | None
) -> PeriodExecution:
    price = trade.price_fen_per_mwh if trade else c.price_fen_per_mwh
    executed = trade.executed_wh if trade else 0
    settled = trade is not None and trade.status == TradeStatus.SETTLED
    anomaly = ""
    if trade is not None and trade.status == TradeStatus.FAILED:
        anomaly = "failed"
    elif (
        trade is not None
        and trade.status in (TradeStatus.DISPATCHED, TradeStatus.SETTLED)
        and abs(energy_wh - executed) > share_bps(energy_wh, c.tolerance_bps)
    ):
        anomaly = "deviation"
    return PeriodExecution(
        period_id=period_id,
        trade_id=trade.id if trade else 0,
        trade_status=trade.status.name.lower() if trade else "not formed",
        contracted_wh=energy_wh,
        contracted_fen=value_fen(energy_wh, price),
        executed_wh=executed,
        settled_wh=executed if settled else 0,
        settled_fen=value_fen(executed, price) if settled else 0,
        completion_bps=completion_bps(executed, energy_wh),
        anomaly=anomaly,
    )


def execution(
    contracts: BilateralContractsClient, market: TradingMarketClient, contract_no: int
) -> ContractExecution:
    """Tracking of ``contract_no`` from chain state."""
    c = contracts.contract_of(contract_no)
    schedule = contracts.schedule(contract_no)
    ids = [p.trade_id for p in schedule if p.trade_id]
    trades = {t.id: t for t in market.trades_by_ids(ids)} if ids else {}
    rows = [_period_row(c, p.period_id, p.energy_wh, trades.get(p.trade_id)) for p in schedule]
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
