"""Settlement for participants: settle trades and deviations, declare spare capacity, buy
FTRs, withdraw credits, and build per-node, per-period settlement statements and bills.

A statement is built only from the chain: the trading market's trades of the node, the
settlement engine's events (every payment event carries its formula's inputs) and its
per-(node, period) view, the meter oracle's recorded totals. Amounts are fen, signed from
the node's point of view (+ received, - paid); the statement's net is their exact sum.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from pydantic import BaseModel, ConfigDict
from web3.types import EventData, TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.oracle import DispatchResultsClient, MeterOracleClient
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import Trade, TradingMarketClient
from ledger.context import LedgerContext
from ledger.display import trade_status_name
from ledger.units import fen_to_cny, rate_to_cny_per_mwh_text, value_fen, wh_to_mwh_text

#: Days after the period's settlement opens by which a bill's balance is due.
DUE_DAYS = 10
TEMPLATES = Path(__file__).parent / "templates"


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


class Settler:
    """Settlement actions of one account (a node, or anyone for the permissionless ones)."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.engine = ctx.client(SettlementEngineClient, account)
        self.market = ctx.client(TradingMarketClient, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def settle(self, trade_id: int) -> TxReceipt:
        return self.engine.settle(trade_id)

    def settle_period(self, period: int, *, batch: int = 20) -> list[TxReceipt]:
        """Settle every open trade of ``period`` in batches (trades whose party has no
        meter data are skipped and the party flagged)."""
        ids = [
            t.id for t in self._period_trades(period) if t.status.name in ("FORMED", "DISPATCHED")
        ]
        return [self.engine.settle_batch(ids[i : i + batch]) for i in range(0, len(ids), batch)]

    def settle_deviation(self, node: str, period: int) -> TxReceipt:
        return self.engine.settle_deviation(node, period)

    def declare_spare_capacity(
        self, period: int, energy_wh: int, price_fen_per_mwh: int
    ) -> TxReceipt:
        return self.engine.declare_spare_capacity(period, energy_wh, price_fen_per_mwh)

    def withdraw(self) -> TxReceipt:
        return self.engine.withdraw()

    def _period_trades(self, period: int) -> Iterator[Trade]:
        yield from self.market.all_period_trades(period)


# ---------------------------------------------------------------------- statements


class StatementLine(BaseModel):
    """One itemised charge (negative) or credit (positive)."""

    model_config = ConfigDict(frozen=True)

    item: str
    trade_id: int | None
    energy_wh: int
    rate_fen_per_mwh: int
    amount_fen: int
    detail: str = ""


class TradeSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    trade_id: int
    role: str
    counterparty: str
    status: str
    contracted_wh: int
    executed_wh: int
    curtailed_wh: int
    substituted_wh: int
    price_fen_per_mwh: int
    route: list[int]
    prepaid_fen: int
    refunded_fen: int


class Statement(BaseModel):
    """A node's settlement statement for one delivery period."""

    model_config = ConfigDict(frozen=True)

    node: str
    kind: str
    side: str
    region: int
    period: int
    delivery_start: int
    delivery_end: int
    settlement_opens_at: int
    due_at: int
    trades: list[TradeSummary]
    lines: list[StatementLine]
    contracted_import_wh: int
    contracted_export_wh: int
    executed_import_wh: int
    executed_export_wh: int
    metered: bool
    metered_import_wh: int
    metered_export_wh: int
    meter_missing_flagged: bool
    deviation_settled: bool
    unsettled_trades: int
    prepaid_fen: int
    refunded_fen: int
    net_fen: int
    credit_held_fen: int
    debt_fen: int
    generated_at: int

    @property
    def metered_net_wh(self) -> int:
        return self.metered_import_wh - self.metered_export_wh

    def total(self, item: str) -> int:
        return sum(line.amount_fen for line in self.lines if line.item == item)


def _args(event: EventData) -> dict[str, Any]:
    return dict(event["args"])


class _TradePart(BaseModel):
    """What a node's own trades of a period contribute to its statement."""

    summaries: list[TradeSummary] = []
    lines: list[StatementLine] = []
    prepaid_fen: int = 0
    refunded_fen: int = 0
    executed_import_wh: int = 0
    executed_export_wh: int = 0


def _paid_line(
    item: str, trade_id: int, args: dict[str, Any], sign: int, *, detail: str = ""
) -> StatementLine:
    """A line of a payment event carrying ``energyWh``/``executedWh``, ``priceFenPerMwh`` and
    ``amountFen``; ``sign`` +1 received, -1 paid."""
    return StatementLine(
        item=item,
        trade_id=trade_id,
        energy_wh=args["executedWh"] if "executedWh" in args else args["energyWh"],
        rate_fen_per_mwh=args["priceFenPerMwh"],
        amount_fen=sign * args["amountFen"],
        detail=detail,
    )


def _seller_paid(a: dict[str, Any]) -> dict[str, Any]:
    """The seller's credit of a trade as a payment, from its ``TradeSettled`` args ``a``."""
    return {
        "executedWh": a["executedWh"],
        "priceFenPerMwh": a["priceFenPerMwh"],
        "amountFen": a["sellerFen"],
    }


def _deviation_line(a: dict[str, Any]) -> StatementLine:
    """Formula 2 (reserve down, received) or 3 (reserve up, paid) from ``DeviationSettled``."""
    formula = "formula 3, reserve up" if a["rampUp"] else "formula 2, reserve down"
    return StatementLine(
        item="deviation",
        trade_id=None,
        energy_wh=abs(a["deviationWh"]),
        rate_fen_per_mwh=a["rateFenPerMwh"],
        amount_fen=-a["amountFen"] if a["rampUp"] else a["amountFen"],
        detail=(
            f"{formula}: metered net {a['meteredNetWh']} Wh - contracted net "
            f"{a['contractedNetWh']} Wh = {a['deviationWh']} Wh"
        ),
    )


class StatementBuilder:
    """Builds statements from the chain (read-only)."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.engine = ctx.client(SettlementEngineClient, account)
        self.market = ctx.client(TradingMarketClient, account)
        self.registry = ctx.client(NodeRegistryClient, account)
        self.oracle = ctx.client(MeterOracleClient, account)
        self.dispatch = ctx.client(DispatchResultsClient, account)
        self.from_block = ctx.manifest.deploy_block

    def _logs(self, event: str, **filters: Any) -> list[EventData]:
        ev = self.engine.contract.events[event]
        return list(ev.get_logs(argument_filters=filters or None, from_block=self.from_block))

    def _node_trades(self, node: str, period: int) -> list[Trade]:
        return [t for t in self.market.all_trades_of(node) if t.period_id == period]

    def build(self, node: str, period: int) -> Statement:
        node = checksum_address(node)
        info = self.registry.node_info(node)
        p = self.market.period(period)
        opens_at = self.dispatch.settlement_opens_at(period)
        trades = self._trade_part(node, period)
        lines = trades.lines + self._node_lines(node, period)
        np = self.engine.node_period(node, period)
        metered = self.oracle.metered_energy_of(node, period)
        return Statement(
            node=node,
            kind=info.kind.name.lower(),
            side=info.side.name.lower(),
            region=info.region,
            period=period,
            delivery_start=p.delivery_start,
            delivery_end=p.delivery_end,
            settlement_opens_at=opens_at,
            due_at=(opens_at or p.delivery_end) + DUE_DAYS * 86_400,
            trades=trades.summaries,
            lines=lines,
            contracted_import_wh=np.import_wh,
            contracted_export_wh=np.export_wh,
            executed_import_wh=trades.executed_import_wh,
            executed_export_wh=trades.executed_export_wh,
            metered=metered.recorded,
            metered_import_wh=metered.import_wh,
            metered_export_wh=metered.export_wh,
            meter_missing_flagged=np.meter_missing,
            deviation_settled=np.deviation_settled,
            unsettled_trades=sum(
                1 for t in trades.summaries if t.status in ("formed", "dispatched")
            ),
            prepaid_fen=trades.prepaid_fen,
            refunded_fen=trades.refunded_fen,
            net_fen=sum(line.amount_fen for line in lines),
            credit_held_fen=self.engine.claimable_of(node),
            debt_fen=self.engine.debt_of(node),
            generated_at=int(self.ctx.w3.eth.get_block("latest")["timestamp"]),
        )

    def _trade_part(self, node: str, period: int) -> _TradePart:
        """The node's own trades of ``period``: summaries, and the lines of settled ones."""
        part = _TradePart()
        for t in self._node_trades(node, period):
            buyer = _same(t.buyer, node)
            settled = {e["event"]: _args(e) for e in self._trade_events(t.id)}
            refund = settled.get("TradeSettled", {}).get("refundFen", 0)
            part.summaries.append(
                TradeSummary(
                    trade_id=t.id,
                    role="buyer" if buyer else "seller",
                    counterparty=t.seller if buyer else t.buyer,
                    status=trade_status_name(t.status),
                    contracted_wh=t.energy_wh,
                    executed_wh=t.executed_wh,
                    curtailed_wh=t.curtailed_wh,
                    substituted_wh=settled.get("TradeSettled", {}).get("substitutedWh", 0),
                    price_fen_per_mwh=t.price_fen_per_mwh,
                    route=t.route,
                    prepaid_fen=t.escrow_fen if buyer else 0,
                    refunded_fen=refund if buyer else 0,
                )
            )
            if buyer:  # the escrow is prepaid when the trade forms, settled or not
                part.prepaid_fen += t.escrow_fen
            if "TradeSettled" not in settled:
                continue
            if buyer:
                part.refunded_fen += refund
                part.executed_import_wh += t.executed_wh
                part.lines += self._buyer_lines(t)
            else:
                part.executed_export_wh += t.executed_wh
                part.lines.append(
                    _paid_line("energy sold", t.id, _seller_paid(settled["TradeSettled"]), +1)
                )
        return part

    def _node_lines(self, node: str, period: int) -> list[StatementLine]:
        """Lines not of the node's own trades: substitute supply, FTR purchases, deviation."""
        lines: list[StatementLine] = []
        for ev in self._logs("SubstitutionTaken", substitute=node):
            a = _args(ev)
            if self.market.trade(a["tradeId"]).period_id != period:
                continue
            lines.append(
                _paid_line(
                    "substitute supply",
                    a["tradeId"],
                    a,
                    +1,
                    detail=f"contract-energy transfer to {a['buyer']}",
                )
            )
        for ev in self._logs("FtrBought", holder=node):
            a = _args(ev)
            ftr = self.engine.ftr(a["ftrId"])
            if ftr.period == period:
                lines.append(
                    StatementLine(
                        item="FTR purchase",
                        trade_id=None,
                        energy_wh=ftr.capacity_wh,
                        rate_fen_per_mwh=ftr.rate_fen_per_mwh,
                        amount_fen=-a["priceFen"],
                        detail=f"FTR #{ftr.id} corridor {ftr.from_region}->{ftr.to_region}",
                    )
                )
        for ev in self._logs("DeviationSettled", node=node, period=period):
            lines.append(_deviation_line(_args(ev)))
        return lines

    def _trade_events(self, trade_id: int) -> list[EventData]:
        names = ("TransmissionFeePaid", "SubstitutionTaken", "FtrCompensated", "TradeSettled")
        out: list[EventData] = []
        for name in names:
            out += self._logs(name, tradeId=trade_id)
        return out

    def _buyer_lines(self, t: Trade) -> list[StatementLine]:
        paid = _seller_paid(_args(self._logs("TradeSettled", tradeId=t.id)[0]))
        lines = [_paid_line("energy purchased", t.id, paid, -1)]
        fee = value_fen(t.executed_wh, t.sum_rate_fen_per_mwh)
        lines.append(
            StatementLine(
                item="transmission fee",
                trade_id=t.id,
                energy_wh=t.executed_wh,
                rate_fen_per_mwh=t.sum_rate_fen_per_mwh,
                amount_fen=-fee,
                detail="formula 1 on route " + "->".join(str(r) for r in t.route),
            )
        )
        for ev in self._logs("SubstitutionTaken", tradeId=t.id):
            a = _args(ev)
            lines.append(
                _paid_line("substitute energy", t.id, a, -1, detail=f"from {a['substitute']}")
            )
            lines.append(
                StatementLine(
                    item="substitute transmission fee",
                    trade_id=t.id,
                    energy_wh=a["energyWh"],
                    rate_fen_per_mwh=a["sumRateFenPerMwh"],
                    amount_fen=-a["feeFen"],
                )
            )
        for ev in self._logs("FtrCompensated", tradeId=t.id):
            a = _args(ev)
            lines.append(
                StatementLine(
                    item="FTR compensation",
                    trade_id=t.id,
                    energy_wh=a["eligibleWh"],
                    rate_fen_per_mwh=a["rateFenPerMwh"],
                    amount_fen=a["amountFen"],
                    detail=f"FTR #{a['ftrId']}, {a['curtailedWh']} Wh curtailed for congestion"
                    + (f", {a['unpaidFen']} fen unpaid (fund short)" if a["unpaidFen"] else ""),
                )
            )
        return lines


# ---------------------------------------------------------------------- rendering


def _time(ts: int) -> str:
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


CSV_HEADER = (
    "node",
    "period",
    "item",
    "trade_id",
    "energy_wh",
    "rate_fen_per_mwh",
    "amount_fen",
    "amount_cny",
    "detail",
)


def statement_csv(statement: Statement) -> str:
    """One row per line plus a closing ``net`` row; amounts in fen and CNY."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for line in statement.lines:
        writer.writerow(
            (
                statement.node,
                statement.period,
                line.item,
                "" if line.trade_id is None else line.trade_id,
                line.energy_wh,
                line.rate_fen_per_mwh,
                line.amount_fen,
                fen_to_cny(line.amount_fen),
                line.detail,
            )
        )
    writer.writerow(
        (
            statement.node,
            statement.period,
            "net",
            "",
            "",
            "",
            statement.net_fen,
            fen_to_cny(statement.net_fen),
            "",
        )
    )
    return out.getvalue()


@cache
def _bill_template() -> Template:
    """The bill's template, compiled once per process (compiling costs more than rendering)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["cny"] = fen_to_cny
    env.filters["mwh"] = wh_to_mwh_text
    env.filters["rate"] = rate_to_cny_per_mwh_text
    env.filters["when"] = _time
    return env.get_template("bill.html")


def statement_html(statement: Statement, *, node_name: str | None = None) -> str:
    """The printable bill (Jinja2 template ``node/settlement/templates/bill.html``)."""
    return _bill_template().render(s=statement, node_name=node_name or statement.node)
