"""Reputation and credit for participants, the credit agency and the optimiser.

- :class:`ReputationDesk`: rate a counterparty after a settled trade, read a node's
  reputation and credit view (``gridledger node rate|reputation``).
- :func:`reputation_fraction` / :func:`reputation_fractions`: reputation as 0..1 for the
  recommendation optimiser (``node.trading.trader`` offers).
- :func:`export_for_agency`: every node's trading, settlement and rating history for the
  external credit agency (``gridledger credit export``), as JSON or CSV.
- :class:`CreditDesk`: the agency posts levels; anyone applies them, enforces and clears
  top-up deadlines (``gridledger credit post-level|apply|enforce|clear``).

The formula and its constants: README "Reputation and credit", docs/reputation.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.registry import CREDIT_LEVELS, NodeRegistryClient, code, code_text
from ledger.clients.reputation import MAX_REPUTATION, WAD, ReputationLedgerClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.errors import NotFoundError, ValidationError

#: What the optimiser assumes when no ReputationLedger is deployed (the prior only).
NEUTRAL_FRACTION = 0.5
ZERO32 = b"\x00" * 32
PAGE = 200


class ReputationView(BaseModel):
    """A node's reputation and credit as listings and ``gridledger node reputation`` show."""

    node: str
    reputation: int
    """0..1000, decayed to now."""
    rating_count: int
    trade_count: int
    warned: bool
    penalty_points: int
    registry_level: str
    agency_level: str | None
    rewarded: bool
    pending_level: str | None
    pending_effective_at: int
    required_bond_fen: int
    bond_fen: int
    top_up_deadline: int
    blocked: bool


class TradeRecord(BaseModel):
    """One trade of a node, from its side, with both ratings."""

    trade_id: int
    period_id: int
    role: str
    counterparty: str
    status: str
    formed_at: int
    energy_wh: int
    executed_wh: int
    price_fen_per_mwh: int
    energy_fen: int
    fee_fen: int
    paid_out_fen: int
    rating_given: int | None
    rating_received: int | None
    reason_given: str | None
    reason_received: str | None


class NodeHistory(BaseModel):
    """What the credit agency gets per node: a summary and every trade."""

    node: str
    status: str
    kind: str
    side: str
    region: int
    credit_level: str
    bond_fen: int
    required_bond_fen: int
    debt_fen: int | None
    reputation: int
    warned: bool
    penalty_points: int
    trades: int
    settled: int
    failed: int
    open: int
    settled_energy_wh: int
    settled_value_fen: int
    ratings_received: int
    mean_rating_received: float | None
    ratings_given: int
    mean_rating_given: float | None
    history: list[TradeRecord]


class AgencyExport(BaseModel):
    """``gridledger credit export``: the snapshot the agency scores."""

    generated_at: str
    chain_id: int
    block_number: int
    reputation_ledger: str
    nodes: list[NodeHistory]


def reason_code(text: str | None) -> bytes:
    """An optional rating reason code (ASCII, <= 32 chars) as bytes32."""
    return code(text) if text else ZERO32


def _level(level: int) -> str:
    return CREDIT_LEVELS[level]


def _reader(account: LocalAccount | None) -> LocalAccount:
    """``account``, or a never-funded key for reads."""
    return account if account is not None else Account.create()


def reputation_fractions(
    ctx: LedgerContext, addresses: Iterable[str], *, account: LocalAccount | None = None
) -> dict[str, float]:
    """Reputation / 1000 per address (one call); 0.5 each without a ReputationLedger."""
    nodes = list(dict.fromkeys(checksum_address(a) for a in addresses))
    if not nodes:
        return {}
    try:
        client = ctx.client(ReputationLedgerClient, _reader(account))
    except NotFoundError:
        return dict.fromkeys(nodes, NEUTRAL_FRACTION)
    values = client.reputations_of(nodes)
    return {n: v / MAX_REPUTATION for n, v in zip(nodes, values, strict=True)}


def reputation_fraction(
    ctx: LedgerContext, address: str, *, account: LocalAccount | None = None
) -> float:
    """``address``'s reputation as 0..1 for the optimiser (0.5 without a ReputationLedger)."""
    return reputation_fractions(ctx, [address], account=account)[checksum_address(address)]


class ReputationDesk:
    """A participant's ratings and the reputation/credit view of any node."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.ledger = ctx.client(ReputationLedgerClient, account)
        self.registry = ctx.client(NodeRegistryClient, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def rate(self, trade_id: int, score: int, reason: str | None = None) -> TxReceipt:
        """Rate the other party of settled trade ``trade_id`` (1..5, once, in the window)."""
        if not 1 <= score <= 5:
            raise ValidationError(f"a score is 1..5, not {score}")
        return self.ledger.rate(trade_id, score, reason_code(reason))

    def view(self, node: str | None = None) -> ReputationView:
        address = checksum_address(node or self.address)
        rep = self.ledger.reputation_info(address)
        credit = self.ledger.credit_info(address)
        return ReputationView(
            node=address,
            reputation=rep.reputation,
            rating_count=rep.rating_count,
            trade_count=rep.trade_count,
            warned=rep.warned,
            penalty_points=rep.penalty_wad // WAD,
            registry_level=_level(credit.registry_level),
            agency_level=_level(credit.agency_level) if credit.agency_rated else None,
            rewarded=credit.rewarded,
            pending_level=_level(credit.pending_level) if credit.has_pending else None,
            pending_effective_at=credit.pending_effective_at,
            required_bond_fen=credit.required_bond_fen,
            bond_fen=credit.bond_fen,
            top_up_deadline=credit.top_up_deadline,
            blocked=credit.blocked,
        )


class CreditDesk:
    """The credit agency's and everyone's credit-level actions."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.ledger = ctx.client(ReputationLedgerClient, account)

    def post_level(self, node: str, level: int, effective_at: int = 0) -> TxReceipt:
        """Post ``node``'s level (CREDIT_AGENCY); applied at once if already effective."""
        return self.ledger.post_credit_level(checksum_address(node), level, effective_at)

    def apply(self, node: str) -> TxReceipt:
        return self.ledger.apply_credit_level(checksum_address(node))

    def enforce(self, node: str) -> TxReceipt:
        return self.ledger.enforce_top_up(checksum_address(node))

    def clear(self, node: str) -> TxReceipt:
        return self.ledger.clear_top_up(checksum_address(node))


def _mean(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _node_history(
    node: str,
    registry: NodeRegistryClient,
    market: TradingMarketClient,
    ledger: ReputationLedgerClient,
    engine: SettlementEngineClient | None,
) -> NodeHistory:
    info = registry.node_info(node)
    rep = ledger.reputation_info(node)
    trades = market.all_trades_of(node)
    records: list[TradeRecord] = []
    for t in trades:
        buyer = t.buyer == node
        r = ledger.trade_scores(t.id)
        given, received = (
            (r.buyer_score, r.seller_score) if buyer else (r.seller_score, r.buyer_score)
        )
        reason_g, reason_r = (
            (r.buyer_reason, r.seller_reason) if buyer else (r.seller_reason, r.buyer_reason)
        )
        records.append(
            TradeRecord(
                trade_id=t.id,
                period_id=t.period_id,
                role="buyer" if buyer else "seller",
                counterparty=t.seller if buyer else t.buyer,
                status=t.status.name.lower(),
                formed_at=t.formed_at,
                energy_wh=t.energy_wh,
                executed_wh=t.executed_wh,
                price_fen_per_mwh=t.price_fen_per_mwh,
                energy_fen=t.energy_fen,
                fee_fen=t.fee_fen,
                paid_out_fen=t.paid_out_fen,
                rating_given=given or None,
                rating_received=received or None,
                reason_given=code_text(reason_g) if reason_g != ZERO32 else None,
                reason_received=code_text(reason_r) if reason_r != ZERO32 else None,
            )
        )
    settled = [t for t in trades if t.status == TradeStatus.SETTLED]
    got = [x.rating_received for x in records if x.rating_received]
    gave = [x.rating_given for x in records if x.rating_given]
    return NodeHistory(
        node=node,
        status=info.status.name.lower(),
        kind=info.kind.name.lower(),
        side=info.side.name.lower(),
        region=info.region,
        credit_level=info.credit_rating,
        bond_fen=info.bond_fen,
        required_bond_fen=info.required_bond_fen,
        debt_fen=engine.debt_of(node) if engine is not None else None,
        reputation=rep.reputation,
        warned=rep.warned,
        penalty_points=rep.penalty_wad // WAD,
        trades=len(trades),
        settled=len(settled),
        failed=sum(t.status == TradeStatus.FAILED for t in trades),
        open=sum(t.status in (TradeStatus.FORMED, TradeStatus.DISPATCHED) for t in trades),
        settled_energy_wh=sum(t.executed_wh for t in settled),
        settled_value_fen=sum(t.energy_fen for t in settled),
        ratings_received=len(got),
        mean_rating_received=_mean(got),
        ratings_given=len(gave),
        mean_rating_given=_mean(gave),
        history=records,
    )


def export_for_agency(
    ctx: LedgerContext, nodes: Iterable[str] | None = None, *, account: LocalAccount | None = None
) -> AgencyExport:
    """Every registered node's (or ``nodes``') history for the credit agency."""
    reader = _reader(account)
    registry = ctx.client(NodeRegistryClient, reader)
    market = ctx.client(TradingMarketClient, reader)
    ledger = ctx.client(ReputationLedgerClient, reader)
    try:
        engine: SettlementEngineClient | None = ctx.client(SettlementEngineClient, reader)
    except NotFoundError:
        engine = None
    if nodes is None:
        total = registry.node_count()
        chosen = [a for o in range(0, total, PAGE) for a in registry.nodes_page(o, PAGE)]
    else:
        chosen = [checksum_address(n) for n in nodes]
    block = ctx.w3.eth.get_block("latest")
    return AgencyExport(
        generated_at=datetime.fromtimestamp(int(block["timestamp"]), tz=UTC).isoformat(),
        chain_id=ctx.w3.eth.chain_id,
        block_number=int(block["number"]),
        reputation_ledger=ledger.address,
        nodes=[
            _node_history(checksum_address(n), registry, market, ledger, engine) for n in chosen
        ],
    )


#: The CSV columns: one summary row per node (the JSON export has every trade).
CSV_FIELDS = [f for f in NodeHistory.model_fields if f != "history"]


def export_csv(export: AgencyExport) -> str:
    """The per-node summary rows of an export as CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for n in export.nodes:
        row = n.model_dump(exclude={"history"})
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
