"""Green certificates and renewable quotas (mechanism 7): the API the ``certs`` CLI wraps.

The certificate contracts live on the main chain by default; with
``GRIDLEDGER_CERT_RPC_URL`` set they live on an auxiliary chain whose addresses are in
``<data dir>/certificates-manifest.json`` (written by :func:`deploy_certificate_chain`).
:func:`certificate_context` gives the right :class:`LedgerContext` either way.

Lineage (:func:`lineage`) is rebuilt from the certificate contract's events: the issuance
(``CertificatesIssued``), every transfer (``TransferSingle``/``TransferBatch`` between two
holders), and the end of life (``CertificatesRetired`` with holder, beneficiary, period and
trade, or ``CertificatesRevoked`` with the reason).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel
from web3 import Web3
from web3.types import EventData, TxReceipt

from ledger.clients.certificates import (
    RENEWABLE_TYPES,
    CertificateMarketClient,
    CertListing,
    CertListingStatus,
    GreenCertificateClient,
    NodeTotalTuple,
    QuotaLedgerClient,
    RelayedGenerationClient,
    decode_token_id,
)
from ledger.clients.oracle import MeterOracleClient
from ledger.clients.registry import NodeKind, NodeRegistryClient, code
from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.compiler import SOLC_VERSION
from ledger.context import LedgerContext
from ledger.deploy import deploy_specs, git_commit, role_accounts
from ledger.errors import ValidationError
from ledger.manifest import Manifest, load_manifest, write_manifest
from ledger.suite.s80_certificates import AUX_SPECS

ZERO = "0x0000000000000000000000000000000000000000"
#: Every contract of the certificate area (in both modes).
CERT_CONTRACTS = ("GreenCertificate", "QuotaLedger", "CertificateMarket")


def _tx(receipt: TxReceipt) -> str:
    return receipt["transactionHash"].to_0x_hex()


def type_name(type_id: int) -> str:
    try:
        return RENEWABLE_TYPES[NodeKind(type_id)]
    except (ValueError, KeyError):
        return f"type-{type_id}"


# ---------------------------------------------------------------------------- deployment


def certificate_context(ctx: LedgerContext) -> LedgerContext:
    """The context of the chain the certificate contracts live on.

    ``ctx`` itself in main-chain mode; in auxiliary-chain mode a context on
    ``GRIDLEDGER_CERT_RPC_URL`` with the certificate chain's manifest (same keys).
    """
    url = ctx.settings.cert_rpc_url
    if not url:
        return ctx
    settings = ctx.settings.model_copy(update={"rpc_url_override": url})
    manifest = load_manifest(ctx.settings.cert_manifest_path)
    return LedgerContext(settings, store=ctx.store, manifest=manifest)


def deploy_certificate_chain(aux: LedgerContext, admin: LocalAccount) -> Manifest:
    """Deploy the certificate chain's own suite (:data:`AUX_SPECS`) on ``aux``'s chain,
    grant the roles (role accounts file, demo wallets in demo mode, MARKET_CONTRACT to the
    QuotaLedger) and write ``cert_manifest_path``. Always a fresh deployment."""
    settings = aux.settings
    chain_id = aux.w3.eth.chain_id
    grants = role_accounts(settings)
    deployed, first_block = deploy_specs(aux, admin, AUX_SPECS, grants)
    manifest = Manifest(
        chain_id=chain_id,
        rpc_url=settings.rpc_url,
        deployer=admin.address,
        deploy_block=first_block or 0,
        contracts=deployed,
        roles=grants,
        solc_version=SOLC_VERSION,
        build_info_id="",
        git_commit=git_commit(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(settings.cert_manifest_path, manifest)
    aux.use_manifest(manifest)
    return manifest


# ---------------------------------------------------------------------------- relaying


class Relayer:
    """Feeds an auxiliary certificate chain from the main chain (the oracle's relaying key
    holds METER_ORACLE there; node kinds need a VERIFIER key there).

    Period roots are copied from the main chain's MeterOracle; node totals travel with the
    same Merkle proof MeterOracle accepts, so the certificate chain re-verifies them.
    """

    def __init__(self, main: LedgerContext, aux: LedgerContext, account: LocalAccount) -> None:
        self.main = main
        self.aux = aux
        self.account = account
        self.relayed = aux.client(RelayedGenerationClient, account)
        self._oracle = main.client(MeterOracleClient, account)

    def relay_period_root(self, period: int) -> TxReceipt:
        record = self._oracle.period_of(period)
        if record.totals_root == bytes(32):
            raise ValidationError(f"period {period} is not posted on the main chain")
        return self.relayed.relay_period_root(period, record.totals_root)

    def relay_node_total(self, total: NodeTotalTuple, proof: Sequence[bytes]) -> TxReceipt:
        return self.relayed.submit_node_total(total, list(proof))

    def relay_trade(self, trade_id: int) -> TxReceipt:
        """Copy a settled trade of the main chain's TradingMarket."""
        trade = self.main.client(TradingMarketClient, self.account).trade(trade_id)
        if trade.status != TradeStatus.SETTLED:
            raise ValidationError(f"trade {trade_id} is not settled")
        return self.relayed.relay_trade(
            trade_id, trade.seller, trade.buyer, trade.period_id, trade.executed_wh
        )


def relay_node_kind(
    main: LedgerContext, aux: LedgerContext, verifier: LocalAccount, node: str
) -> TxReceipt:
    """Copy ``node``'s registered kind from the main chain's registry (VERIFIER on ``aux``)."""
    kind = main.client(NodeRegistryClient, verifier).node_info(node).kind
    return aux.client(RelayedGenerationClient, verifier).relay_node_kind(node, int(kind))


# ---------------------------------------------------------------------------- views


class IssueResult(BaseModel):
    generator: str
    period: int
    token_id: str
    type: str
    certificates: int
    generation_wh: int
    carried_in_wh: int
    carried_out_wh: int
    tx_hash: str
    gas_used: int


class Holding(BaseModel):
    token_id: str
    type: str
    generator: str
    vintage: int
    balance: int


class ListingView(BaseModel):
    listing_id: int
    seller: str
    token_id: str
    type: str
    vintage: int
    status: str
    remaining: int
    amount: int
    price_fen_per_certificate: int
    expires_at: int


class ComplianceView(BaseModel):
    party: str
    period: int
    quota_set: bool
    consumption_recorded: bool
    import_wh: int
    weight_bps: int
    obligation_wh: int
    covered_wh: int
    shortfall_wh: int
    fine_fen_if_assessed_now: int
    deadline: int
    assessed: bool
    statement: dict[str, int] | None = None


class LineageEntry(BaseModel):
    kind: Literal["issued", "transfer", "retired", "revoked"]
    block_number: int
    log_index: int
    tx_hash: str
    amount: int
    sender: str | None = None
    to: str | None = None
    beneficiary: str | None = None
    period: int | None = None
    trade_id: int | None = None
    retirement_id: int | None = None
    reason: str | None = None


class Lineage(BaseModel):
    token_id: str
    type: str
    generator: str
    vintage: int
    issued: int
    retired: int
    revoked: int
    holders: dict[str, int]
    events: list[LineageEntry]


def _listing_view(row: CertListing) -> ListingView:
    type_id, _, vintage = decode_token_id(row.token_id)
    return ListingView(
        listing_id=row.id,
        seller=row.seller,
        token_id=hex(row.token_id),
        type=type_name(type_id),
        vintage=vintage,
        status=CertListingStatus(row.status).name.lower(),
        remaining=row.remaining,
        amount=row.amount,
        price_fen_per_certificate=row.price_fen_per_certificate,
        expires_at=row.expires_at,
    )


def parse_token_id(text: str) -> int:
    """A token id given in decimal or 0x-hex."""
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError as exc:
        raise ValidationError(f"not a token id: {text!r}") from exc


class Certificates:
    """What one account does with the certificate contracts (on whichever chain they live)."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.cert = ctx.client(GreenCertificateClient, account)
        self.quota = ctx.client(QuotaLedgerClient, account)
        self.market = ctx.client(CertificateMarketClient, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    # -- issuance ------------------------------------------------------------------------

    def issue(self, generator: str, period: int) -> IssueResult:
        receipt = self.cert.issue(generator, period)
        ev = self.cert.issued_event(receipt)
        return IssueResult(
            generator=Web3.to_checksum_address(generator),
            period=period,
            token_id=hex(int(ev["tokenId"])),
            type=type_name(int(ev["typeId"])),
            certificates=int(ev["amount"]),
            generation_wh=int(ev["generationWh"]),
            carried_in_wh=int(ev["carriedInWh"]),
            carried_out_wh=int(ev["carriedOutWh"]),
            tx_hash=_tx(receipt),
            gas_used=int(receipt["gasUsed"]),
        )

    def holdings(self, holder: str) -> list[Holding]:
        """Non-zero balances of ``holder`` over every token id ever issued (paged scan)."""
        out: list[Holding] = []
        count = self.cert.token_count()
        for offset in range(0, count, 200):
            for tid in self.cert.token_ids(offset, 200):
                balance = self.cert.balance_of(holder, tid)
                if balance:
                    type_id, generator, vintage = decode_token_id(tid)
                    out.append(
                        Holding(
                            token_id=hex(tid),
                            type=type_name(type_id),
                            generator=generator,
                            vintage=vintage,
                            balance=balance,
                        )
                    )
        return out

    # -- one-way listing -----------------------------------------------------------------

    def post(self, token_id: int, amount: int, price_fen: int, expires_at: int = 0) -> int:
        """List own certificates (approves the market for the certificate token once)."""
        if not self.cert.is_approved_for_all(self.address, self.market.address):
            self.cert.set_approval_for_all(self.market.address, True)
        return self.market.posted_listing_id(
            self.market.post(token_id, amount, price_fen, expires_at)
        )

    def take(self, listing_id: int, amount: int, max_price_fen: int = 0) -> TxReceipt:
        """Buy certificates; approves the settlement token for exactly the cost first."""
        row = self.market.listing(listing_id)
        cost = amount * row.price_fen_per_certificate
        token = self.ctx.client(SettlementTokenClient, self.account)
        token.approve(self.market.address, cost)
        return self.market.take(listing_id, amount, max_price_fen)

    def cancel(self, listing_id: int) -> TxReceipt:
        return self.market.cancel(listing_id)

    def listings(self, offset: int = 0, limit: int = 200) -> list[ListingView]:
        return [_listing_view(r) for r in self.market.open_listings(offset, limit)]

    # -- retirement and compliance ---------------------------------------------------------

    def retire(self, token_id: int, amount: int, beneficiary: str, period: int) -> int:
        receipt = self.quota.retire(token_id, amount, beneficiary, period)
        return int(self.cert.events(receipt, "CertificatesRetired")[0]["args"]["retirementId"])

    def cover_trade(self, trade_id: int) -> TxReceipt:
        return self.quota.cover_trade(trade_id)

    def pay_fine(self, party: str, amount_fen: int) -> tuple[int, int]:
        """Pay up to ``amount_fen`` of ``party``'s unpaid fines (approves exactly that first);
        returns (paid fen, owed fen before)."""
        owed_fen, _held = self.quota.unpaid_fine_of(party)
        if owed_fen == 0:
            raise ValidationError(f"{party} owes no unpaid quota fine")
        pay_fen = min(amount_fen, owed_fen)
        self.ctx.client(SettlementTokenClient, self.account).approve(self.quota.address, pay_fen)
        self.quota.pay_fine(party, pay_fen)
        return pay_fen, owed_fen

    def compliance(self, party: str, period: int) -> ComplianceView:
        c = self.quota.compliance_of(party, period)
        view = ComplianceView(
            party=Web3.to_checksum_address(party),
            period=period,
            quota_set=c.quota_set,
            consumption_recorded=c.consumption_recorded,
            import_wh=c.import_wh,
            weight_bps=c.weight_bps,
            obligation_wh=c.obligation_wh,
            covered_wh=c.covered_wh,
            shortfall_wh=c.shortfall_wh,
            fine_fen_if_assessed_now=c.fine_fen,
            deadline=c.deadline,
            assessed=c.assessed,
        )
        if c.assessed:
            s = self.quota.statement_of(party, period)
            view.statement = {k: int(v) for k, v in s._asdict().items() if k != "assessed"}
        return view

    def assess(self, party: str, period: int) -> TxReceipt:
        return self.quota.assess(party, period)

    # -- lineage ---------------------------------------------------------------------------

    def lineage(self, token_id: int, from_block: int | None = None) -> Lineage:
        return lineage(self.cert, token_id, from_block=from_block)


def _logs(
    client: GreenCertificateClient, event: str, from_block: int, **filters: Any
) -> list[EventData]:
    kwargs: dict[str, Any] = {"from_block": from_block, "to_block": "latest"}
    if filters:
        kwargs["argument_filters"] = filters
    return list(client.contract.events[event]().get_logs(**kwargs))


def _entry(ev: EventData, kind: str, **fields: Any) -> LineageEntry:
    return LineageEntry.model_validate(
        {
            "kind": kind,
            "block_number": ev["blockNumber"],
            "log_index": ev["logIndex"],
            "tx_hash": ev["transactionHash"].to_0x_hex(),
            **fields,
        }
    )


def lineage(
    cert: GreenCertificateClient, token_id: int, *, from_block: int | None = None
) -> Lineage:
    """Rebuild ``token_id``'s history from events: issuances, transfers between holders,
    retirements (holder, beneficiary, period, trade) and revocations, in chain order, and
    the resulting balance of every holder."""
    start = 0 if from_block is None else from_block
    entries: list[LineageEntry] = []
    for ev in _logs(cert, "CertificatesIssued", start, tokenId=token_id):
        a = ev["args"]
        entries.append(
            _entry(ev, "issued", amount=a["amount"], to=a["generator"], period=a["period"])
        )
    for ev in _logs(cert, "TransferSingle", start):
        a = ev["args"]
        if int(a["id"]) == token_id and int(a["from"], 16) and int(a["to"], 16):
            entries.append(_entry(ev, "transfer", amount=a["value"], sender=a["from"], to=a["to"]))
    for ev in _logs(cert, "TransferBatch", start):
        a = ev["args"]
        if not (int(a["from"], 16) and int(a["to"], 16)):
            continue
        for tid, value in zip(a["ids"], a["values"], strict=True):
            if int(tid) == token_id:
                entries.append(_entry(ev, "transfer", amount=value, sender=a["from"], to=a["to"]))
    for ev in _logs(cert, "CertificatesRetired", start, tokenId=token_id):
        a = ev["args"]
        entries.append(
            _entry(
                ev,
                "retired",
                amount=a["amount"],
                sender=a["holder"],
                beneficiary=a["beneficiary"],
                period=a["period"],
                trade_id=a["tradeId"] or None,
                retirement_id=a["retirementId"],
            )
        )
    for ev in _logs(cert, "CertificatesRevoked", start, tokenId=token_id):
        a = ev["args"]
        reason = bytes(a["reason"]).rstrip(b"\x00").decode("utf-8", errors="replace")
        entries.append(_entry(ev, "revoked", amount=a["amount"], sender=a["holder"], reason=reason))
    entries.sort(key=lambda e: (e.block_number, e.log_index))
    holders = _balances(entries)
    type_id, generator, vintage = decode_token_id(token_id)
    return Lineage(
        token_id=hex(token_id),
        type=type_name(type_id),
        generator=generator,
        vintage=vintage,
        issued=sum(e.amount for e in entries if e.kind == "issued"),
        retired=sum(e.amount for e in entries if e.kind == "retired"),
        revoked=sum(e.amount for e in entries if e.kind == "revoked"),
        holders={k: v for k, v in holders.items() if v},
        events=entries,
    )


def _balances(entries: Iterable[LineageEntry]) -> dict[str, int]:
    balances: dict[str, int] = defaultdict(int)
    for e in entries:
        if e.kind == "issued" and e.to:
            balances[e.to] += e.amount
        elif e.kind == "transfer" and e.sender and e.to:
            balances[e.sender] -= e.amount
            balances[e.to] += e.amount
        elif e.kind in ("retired", "revoked") and e.sender:
            balances[e.sender] -= e.amount
    return dict(balances)


def reason_code(text: str) -> bytes:
    """A revocation reason as bytes32 (ASCII, <= 32 bytes)."""
    return code(text)
