"""The participant API: what a market node, the verifier and the clearing bank do with the
registry and the settlement token (the regulator's: ``node/regulator/api.py``). The CLIs are
thin layers over it.

Typical onboarding (see ``docs/participants.md``)::

    node = Participant(ctx, ctx.account("node-1"))
    node.apply(NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=3,
                           capacity_kw=50_000), bundle, vault)
    Verifier(ctx, ctx.account("verifier"), vault).approve(node.address)
    Bank(ctx, ctx.account("clearing-bank")).mint(node.address, 100_000_00, "DEP-1")
    node.deposit_bond(node.registry.required_bond_of(node.address))
"""

from __future__ import annotations

import time

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, ConfigDict, Field
from web3 import Web3
from web3.types import TxReceipt

from ledger.addresses import checksum_address
from ledger.clients.registry import (
    NodeInfo,
    NodeKind,
    NodeRegistryClient,
    NodeStatus,
    QualificationInfo,
    Side,
    code,
    code_text,
)
from ledger.clients.token import SettlementTokenClient, bank_ref
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError, ValidationError
from ledger.identity import IdentityBundle, IdentityVault, StoredIdentity, demo_bundle
from ledger.identity_audit import Reader

#: Longest display name (bytes of UTF-8), as ``NodeRegistry.MAX_DISPLAY_NAME_BYTES``.
MAX_DISPLAY_NAME_BYTES = 64


class NodeProfile(BaseModel):
    """What a node registers on chain besides its identity hashes."""

    model_config = ConfigDict(frozen=True)

    kind: NodeKind
    side: Side
    region: int = Field(ge=0, le=31)
    capacity_kw: int = Field(default=0, ge=0, lt=2**64)
    carbon_intensity_g_per_kwh: int = Field(default=0, ge=0, lt=2**32)


class ApplyResult(BaseModel):
    node: str
    identity_hash: str
    entity_hash: str
    record_id: str | None
    tx_hash: str
    gas_used: int


class NodeStatusView(BaseModel):
    """A node's registry entry plus what it means for trading."""

    info: NodeInfo
    token_balance_fen: int
    withdrawable_fen: int
    can_trade: bool
    trade_blocker: str | None
    block_reasons: list[str]
    qualifications: list[QualificationInfo]


def check_display_name(name: str) -> str:
    """``name`` stripped; raises ``ValidationError`` unless it is 1..64 bytes of UTF-8."""
    name = name.strip()
    if not name or len(name.encode()) > MAX_DISPLAY_NAME_BYTES:
        raise ValidationError(
            f"a display name is 1-{MAX_DISPLAY_NAME_BYTES} bytes of UTF-8: {name!r}"
        )
    return name


def _tx(receipt: TxReceipt) -> str:
    return receipt["transactionHash"].to_0x_hex()


class Participant:
    """A market node acting with its own key."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.ctx = ctx
        self.account = account
        self.registry = ctx.client(NodeRegistryClient, account)
        self.token = ctx.client(SettlementTokenClient, account)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def apply(
        self,
        profile: NodeProfile,
        bundle: IdentityBundle,
        vault: IdentityVault | None = None,
        *,
        display_name: str | None = None,
    ) -> ApplyResult:
        """Register the bundle's hashes (and set the display name, if given).

        With a vault the bundle is stored encrypted first and deleted again when the
        registration is refused (pre-check or revert), so a refused apply leaves no record.
        """
        if display_name is not None:
            display_name = check_display_name(display_name)
        stored: StoredIdentity | None = None
        if vault is not None:

            def registered() -> bool:
                return self._identity_hash() == bundle.bundle_hash

            with vault.staged(self.address, bundle, registered) as stored:
                receipt = self._register(profile, bundle)
        else:
            receipt = self._register(profile, bundle)
        if display_name is not None:
            self.registry.set_display_name(self.address, display_name)
        return ApplyResult(
            node=self.address,
            identity_hash="0x" + bundle.bundle_hash.hex(),
            entity_hash="0x" + bundle.entity_hash.hex(),
            record_id=stored.record_id if stored else None,
            tx_hash=_tx(receipt),
            gas_used=int(receipt["gasUsed"]),
        )

    def _identity_hash(self) -> bytes:
        return bytes(self.registry.node_info(self.address).identity_hash)

    def _register(self, profile: NodeProfile, bundle: IdentityBundle) -> TxReceipt:
        return self.registry.register(
            profile.kind,
            profile.side,
            profile.region,
            profile.capacity_kw,
            profile.carbon_intensity_g_per_kwh,
            bundle.entity_hash,
            bundle.bundle_hash,
        )

    def deposit_bond(self, amount_fen: int) -> TxReceipt:
        """Approve the registry (if the allowance is short) and deposit ``amount_fen``."""
        registry = self.registry.address
        if self.token.allowance(self.address, registry) < amount_fen:
            self.token.approve(registry, amount_fen)
        return self.registry.deposit_bond(amount_fen)

    def withdraw_bond(self, amount_fen: int) -> TxReceipt:
        return self.registry.withdraw_bond(amount_fen)

    def qualify(self, licence_type: str, number: str, expires_at: int) -> TxReceipt:
        """Submit (or renew) a certificate; only keccak256 of its number goes on chain."""
        if not number.strip():
            raise ValidationError("the certificate number is empty")
        number_hash = bytes(Web3.keccak(text=number.strip()))
        return self.registry.submit_qualification(code(licence_type), number_hash, expires_at)

    def request_change(
        self,
        *,
        region: int | None = None,
        capacity_kw: int | None = None,
        carbon_intensity_g_per_kwh: int | None = None,
        bundle: IdentityBundle | None = None,
        vault: IdentityVault | None = None,
    ) -> TxReceipt:
        """Ask to change some fields (the others keep their registered values)."""
        info = self.registry.node_info(self.address)
        identity_hash = info.identity_hash
        if bundle is not None:
            identity_hash = bundle.bundle_hash
        args = (
            info.region if region is None else region,
            info.capacity_kw if capacity_kw is None else capacity_kw,
            info.carbon_intensity_g_per_kwh
            if carbon_intensity_g_per_kwh is None
            else carbon_intensity_g_per_kwh,
            identity_hash,
        )
        if bundle is not None and vault is not None:
            requested = bundle.bundle_hash

            def pending() -> bool:
                change = self.registry.change_request_of(self.address)
                return change.pending and change.identity_hash == requested

            with vault.staged(self.address, bundle, pending):
                return self.registry.request_change(*args)
        return self.registry.request_change(*args)

    def exit(self) -> TxReceipt:
        return self.registry.exit()

    def status(self, node: str | None = None) -> NodeStatusView:
        return node_status(self.registry, self.token, node or self.address)


def node_status(
    registry: NodeRegistryClient, token: SettlementTokenClient, node: str
) -> NodeStatusView:
    """Everything about ``node``: registry entry, balance, trading readiness."""
    node = checksum_address(node)
    info = registry.node_info(node)
    blocker: str | None = None
    try:
        registry.check_can_trade(node)
    except ContractRevertError as exc:
        blocker = exc.signature
    quals: list[QualificationInfo] = []
    count = registry.qualification_type_count(node)
    for offset in range(0, count, 100):
        quals.extend(registry.qualifications_of(node, offset, 100))
    return NodeStatusView(
        info=info,
        token_balance_fen=token.balance_of(node),
        withdrawable_fen=registry.withdrawable_bond_of(node),
        can_trade=blocker is None,
        trade_blocker=blocker,
        block_reasons=[code_text(r) for r in registry.block_reasons_of(node, 0, 100)],
        qualifications=quals,
    )


class ReviewItem(BaseModel):
    """One thing awaiting the verifier."""

    what: str  # application | change | qualification
    node: str
    detail: str


class Verifier:
    """The VERIFIER: reviews applications, certificates and change requests."""

    def __init__(
        self, ctx: LedgerContext, account: LocalAccount, vault: IdentityVault | None = None
    ) -> None:
        self.ctx = ctx
        self.registry = ctx.client(NodeRegistryClient, account)
        self.vault = vault
        self.reader = Reader(identity=str(account.address), role="verifier")

    def pending(self, offset: int = 0, limit: int = 100) -> list[ReviewItem]:
        """Pending applications, change requests and certificates (each paged)."""
        items = [
            ReviewItem(what="application", node=n, detail="")
            for n in self.registry.pending_applications(offset, limit)
        ]
        for n in self.registry.pending_changes(offset, limit):
            c = self.registry.change_request_of(n)
            items.append(
                ReviewItem(
                    what="change",
                    node=n,
                    detail=f"#{c.change_id}: region {c.region}, {c.capacity_kw} kW, "
                    f"{c.carbon_intensity_g_per_kwh} g/kWh, identity 0x{c.identity_hash.hex()}",
                )
            )
        for q in self.registry.pending_qualifications(offset, limit):
            items.append(
                ReviewItem(
                    what="qualification",
                    node=q.node,
                    detail=f"{q.licence} expires {q.pending_expires_at}",
                )
            )
        return items

    def show(self, node: str, reason: str) -> tuple[NodeInfo, IdentityBundle]:
        """The node's entry and its decrypted, hash-checked identity bundle (the read is
        logged with ``reason`` in the identity access log)."""
        node = checksum_address(node)
        info = self.registry.node_info(node)
        if info.status == NodeStatus.NONE:
            raise ValidationError(f"{node} never applied")
        _, bundle = self._vault().read(
            node,
            reader=self.reader,
            reason=reason,
            on_chain=(info.identity_hash, info.entity_hash),
        )
        return info, bundle

    def approve(self, node: str, reason: str = "application review") -> TxReceipt:
        """Check the identity bundle against the chain (a logged read), then admit the node."""
        self.show(node, reason)
        return self.registry.approve_node(checksum_address(node))

    def set_display_name(self, node: str, name: str) -> TxReceipt:
        """Set (or correct) ``node``'s public display name."""
        return self.registry.set_display_name(checksum_address(node), check_display_name(name))

    def reject(self, node: str, reason: str) -> TxReceipt:
        return self.registry.reject_node(checksum_address(node), code(reason))

    def approve_qualification(self, node: str, licence_type: str) -> TxReceipt:
        return self.registry.approve_qualification(checksum_address(node), code(licence_type))

    def reject_qualification(self, node: str, licence_type: str, reason: str) -> TxReceipt:
        return self.registry.reject_qualification(
            checksum_address(node), code(licence_type), code(reason)
        )

    def approve_change(self, node: str, reason: str = "change review") -> TxReceipt:
        """Check the requested identity bundle (if it changed; a logged read), then apply
        the change."""
        node = checksum_address(node)
        info = self.registry.node_info(node)
        change = self.registry.change_request_of(node)
        if change.pending and change.identity_hash != info.identity_hash:
            self._vault().read(
                node,
                reader=self.reader,
                reason=reason,
                on_chain=(change.identity_hash, info.entity_hash),
            )
        return self.registry.approve_change(node)

    def reject_change(self, node: str, reason: str) -> TxReceipt:
        return self.registry.reject_change(checksum_address(node), code(reason))

    def _vault(self) -> IdentityVault:
        if self.vault is None:
            self.vault = IdentityVault.from_settings(self.ctx.settings)
        return self.vault


class Bank:
    """The CLEARING_BANK: mints against deposits, burns against withdrawals."""

    def __init__(self, ctx: LedgerContext, account: LocalAccount) -> None:
        self.token = ctx.client(SettlementTokenClient, account)

    def mint(self, to: str, amount_fen: int, reference: str) -> TxReceipt:
        return self.token.mint(checksum_address(to), amount_fen, bank_ref(reference))

    def burn(self, holder: str, amount_fen: int, reference: str) -> TxReceipt:
        return self.token.burn(checksum_address(holder), amount_fen, bank_ref(reference))


def onboard_demo_node(
    ctx: LedgerContext,
    n: int,
    profile: NodeProfile,
    *,
    extra_bond_fen: int = 0,
    credit_level: int | None = None,
    qualification_days: int = 365,
    display_name: str | None = None,
) -> Participant:
    """Make demo node ``node-<n>`` a tradeable node in one call (demo keys only).

    Registers it with :func:`ledger.identity.demo_bundle` (no vault), has the demo
    verifier approve it and every licence type its kind requires, optionally has the
    credit agency rate it, has the bank mint the required bond plus ``extra_bond_fen``
    and deposits it all; ``display_name`` is set right after the registration. For tests
    and demos of the other areas.
    """
    node = Participant(ctx, ctx.account(f"node-{n}"))
    verifier = ctx.client(NodeRegistryClient, ctx.account("verifier"))
    node.apply(profile, demo_bundle(n), display_name=display_name)
    verifier.approve_node(node.address)
    now = int(ctx.w3.eth.get_block("latest")["timestamp"]) or int(time.time())
    expires = now + qualification_days * 86_400
    for licence in node.registry.required_qualifications(profile.kind):
        node.registry.submit_qualification(
            licence, bytes(Web3.keccak(text=f"{code_text(licence)}-{n}")), expires
        )
        verifier.approve_qualification(node.address, licence)
    if credit_level is not None:
        agency = ctx.client(NodeRegistryClient, ctx.account("credit-agency"))
        agency.set_credit_level(node.address, credit_level)
    amount = node.registry.required_bond_of(node.address) + extra_bond_fen
    if amount:
        nonce = ctx.w3.eth.get_transaction_count(Web3.to_checksum_address(node.address))
        ref = Web3.keccak(text=f"demo-onboard/{node.address}/{nonce}/{amount}").to_0x_hex()
        Bank(ctx, ctx.account("clearing-bank")).mint(node.address, amount, ref)
        node.deposit_bond(amount)
    return node
