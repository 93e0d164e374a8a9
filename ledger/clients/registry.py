"""Client of the participant registry, ``NodeRegistry`` (contracts/interfaces/INodeRegistry.sol)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from web3.types import TxReceipt

from ledger.addresses import checksum_address as _addr
from ledger.clients.base import ContractClient
from ledger.clients.base import model_from_values as _model
from ledger.errors import ValidationError

#: Credit levels in order; the index is the on-chain level (0 = AAA .. 8 = C).
CREDIT_LEVELS = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


class NodeKind(IntEnum):
    COAL = 0
    GAS = 1
    WIND = 2
    SOLAR = 3
    HYDRO = 4
    BIOMASS = 5
    STORAGE = 6
    RETAILER = 7
    CONSUMER = 8
    GRID_COMPANY = 9

    @property
    def is_generator(self) -> bool:
        return self <= NodeKind.BIOMASS


class Side(IntEnum):
    SELLER = 0
    BUYER = 1


class NodeStatus(IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    REJECTED = 3
    EXITED = 4
    REMOVED = 5


def parse_enum(cls: type[IntEnum], text: str) -> Any:
    """``cls`` member by name, case and ``-``/``_`` insensitive (``grid-company``)."""
    key = text.strip().upper().replace("-", "_")
    try:
        return cls[key]
    except KeyError:
        names = ", ".join(m.name.lower().replace("_", "-") for m in cls)
        raise ValidationError(f"unknown {cls.__name__} {text!r}: one of {names}") from None


def parse_credit_level(text: str) -> int:
    """``"AAA"`` .. ``"C"`` (or ``"0"`` .. ``"8"``) as the on-chain level."""
    key = text.strip().upper()
    if key.isdigit() and int(key) < len(CREDIT_LEVELS):
        return int(key)
    if key in CREDIT_LEVELS:
        return CREDIT_LEVELS.index(key)
    raise ValidationError(f"unknown credit level {text!r}: one of {', '.join(CREDIT_LEVELS)}")


def code(text: str) -> bytes:
    """A reason code or licence type (1-32 ASCII characters) as right-padded bytes32."""
    raw = text.encode("ascii") if text.isascii() else b""
    if not raw or len(raw) > 32:
        raise ValidationError(f"a code must be 1-32 ASCII characters: {text!r}")
    return raw.ljust(32, b"\x00")


def code_text(value: bytes) -> str:
    """bytes32 back to its text (ASCII without padding), else 0x-hex."""
    stripped = bytes(value).rstrip(b"\x00")
    if stripped and all(32 <= b < 127 for b in stripped):
        return stripped.decode("ascii")
    return "0x" + bytes(value).hex()


class NodeInfo(BaseModel):
    """``INodeRegistry.NodeInfo``."""

    model_config = ConfigDict(frozen=True)

    node: str
    status: NodeStatus
    kind: NodeKind
    side: Side
    region: int
    credit_level: int
    rated: bool
    capacity_kw: int
    carbon_intensity_g_per_kwh: int
    epoch: int
    entity_hash: bytes
    identity_hash: bytes
    applied_at: int
    approved_at: int
    last_active_at: int
    bond_fen: int
    reserved_fen: int
    required_bond_fen: int
    obligations: int
    block_count: int
    change_pending: bool

    @property
    def credit_rating(self) -> str:
        return CREDIT_LEVELS[self.credit_level]


class QualificationInfo(BaseModel):
    """``INodeRegistry.QualificationInfo``."""

    model_config = ConfigDict(frozen=True)

    node: str
    licence_type: bytes
    number_hash: bytes
    expires_at: int
    valid: bool
    pending: bool
    pending_number_hash: bytes
    pending_expires_at: int

    @property
    def licence(self) -> str:
        return code_text(self.licence_type)


class ChangeRequest(BaseModel):
    """``INodeRegistry.ChangeRequest``."""

    model_config = ConfigDict(frozen=True)

    change_id: int
    pending: bool
    region: int
    capacity_kw: int
    carbon_intensity_g_per_kwh: int
    identity_hash: bytes


class NodeRegistryClient(ContractClient):
    """Typed access to every function of ``NodeRegistry``."""

    ARTIFACT = "NodeRegistry"

    # ---------------------------------------------------------------- node actions
    def register(
        self,
        kind: NodeKind,
        side: Side,
        region: int,
        capacity_kw: int,
        carbon_intensity_g_per_kwh: int,
        entity_hash: bytes,
        identity_hash: bytes,
    ) -> TxReceipt:
        return self._transact(
            "register",
            int(kind),
            int(side),
            region,
            capacity_kw,
            carbon_intensity_g_per_kwh,
            entity_hash,
            identity_hash,
        )

    def deposit_bond(self, amount_fen: int) -> TxReceipt:
        return self._transact("depositBond", amount_fen)

    def withdraw_bond(self, amount_fen: int) -> TxReceipt:
        return self._transact("withdrawBond", amount_fen)

    def submit_qualification(
        self, licence_type: bytes, number_hash: bytes, expires_at: int
    ) -> TxReceipt:
        return self._transact("submitQualification", licence_type, number_hash, expires_at)

    def request_change(
        self,
        region: int,
        capacity_kw: int,
        carbon_intensity_g_per_kwh: int,
        identity_hash: bytes,
    ) -> TxReceipt:
        return self._transact(
            "requestChange", region, capacity_kw, carbon_intensity_g_per_kwh, identity_hash
        )

    def exit(self) -> TxReceipt:
        return self._transact("exit")

    def set_display_name(self, node: str, name: str) -> TxReceipt:
        """Set ``node``'s public display name (the node itself or a VERIFIER)."""
        return self._transact("setDisplayName", _addr(node), name)

    # ---------------------------------------------------------------- VERIFIER
    def approve_node(self, node: str) -> TxReceipt:
        return self._transact("approveNode", _addr(node))

    def reject_node(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("rejectNode", _addr(node), reason)

    def approve_qualification(self, node: str, licence_type: bytes) -> TxReceipt:
        return self._transact("approveQualification", _addr(node), licence_type)

    def reject_qualification(self, node: str, licence_type: bytes, reason: bytes) -> TxReceipt:
        return self._transact("rejectQualification", _addr(node), licence_type, reason)

    def approve_change(self, node: str) -> TxReceipt:
        return self._transact("approveChange", _addr(node))

    def reject_change(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("rejectChange", _addr(node), reason)

    # ---------------------------------------------------------------- OPERATOR
    def set_bond_requirement(self, level: int, amount_fen: int) -> TxReceipt:
        return self._transact("setBondRequirement", level, amount_fen)

    def set_default_credit_level(self, level: int) -> TxReceipt:
        return self._transact("setDefaultCreditLevel", level)

    def set_required_qualification(
        self, kind: NodeKind, licence_type: bytes, required: bool
    ) -> TxReceipt:
        return self._transact("setRequiredQualification", int(kind), licence_type, required)

    def set_trading_market(self, market: str) -> TxReceipt:
        """ADMIN: the trading market whose obligation calls skip the role check (0: none)."""
        return self._transact("setTradingMarket", _addr(market))

    def set_inactivity_period(self, period_s: int) -> TxReceipt:
        return self._transact("setInactivityPeriod", period_s)

    def reclaim(self, node: str) -> TxReceipt:
        return self._transact("reclaim", _addr(node))

    # ---------------------------------------------------------------- REGULATOR
    def remove_node(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("removeNode", _addr(node), reason)

    def ban_entity(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("banEntity", _addr(node), reason)

    def return_held_bond(self, node: str) -> TxReceipt:
        return self._transact("returnHeldBond", _addr(node))

    # ---------------------------------------------------------------- CREDIT_AGENCY
    def set_credit_level(self, node: str, level: int) -> TxReceipt:
        return self._transact("setCreditLevel", _addr(node), level)

    # ---------------------------------------------------------------- MARKET_CONTRACT
    def reserve_bond(self, node: str, amount_fen: int) -> TxReceipt:
        return self._transact("reserveBond", _addr(node), amount_fen)

    def release_bond(self, node: str, amount_fen: int) -> TxReceipt:
        return self._transact("releaseBond", _addr(node), amount_fen)

    def slash(self, node: str, amount_fen: int, to: str, reason: bytes) -> TxReceipt:
        return self._transact("slash", _addr(node), amount_fen, _addr(to), reason)

    def add_obligation(self, node: str) -> TxReceipt:
        return self._transact("addObligation", _addr(node))

    def remove_obligation(self, node: str) -> TxReceipt:
        return self._transact("removeObligation", _addr(node))

    def block_trading(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("blockTrading", _addr(node), reason)

    def unblock_trading(self, node: str, reason: bytes) -> TxReceipt:
        return self._transact("unblockTrading", _addr(node), reason)

    # ---------------------------------------------------------------- views
    def settlement_token(self) -> str:
        return str(self._call("settlementToken"))

    def display_name_of(self, node: str) -> str:
        """``node``'s public display name ("" if never set)."""
        return str(self._call("displayNameOf", _addr(node)))

    def node_info(self, node: str) -> NodeInfo:
        return _model(NodeInfo, self._call("nodeInfo", _addr(node)))

    def status_of(self, node: str) -> NodeStatus:
        return NodeStatus(self._call("statusOf", _addr(node)))

    def is_active(self, node: str) -> bool:
        return bool(self._call("isActive", _addr(node)))

    def can_trade(self, node: str) -> bool:
        return bool(self._call("canTrade", _addr(node)))

    def check_can_trade(self, node: str) -> None:
        """Raises the precise ``ContractRevertError`` when ``node`` cannot trade."""
        self._call("checkCanTrade", _addr(node))

    def bond_of(self, node: str) -> int:
        return int(self._call("bondOf", _addr(node)))

    def required_bond_of(self, node: str) -> int:
        return int(self._call("requiredBondOf", _addr(node)))

    def available_bond_of(self, node: str) -> int:
        return int(self._call("availableBondOf", _addr(node)))

    def withdrawable_bond_of(self, node: str) -> int:
        return int(self._call("withdrawableBondOf", _addr(node)))

    def obligations_of(self, node: str) -> int:
        return int(self._call("obligationsOf", _addr(node)))

    def total_bond_fen(self) -> int:
        return int(self._call("totalBondFen"))

    def bond_table(self) -> list[int]:
        return [int(v) for v in self._call("bondTable")]

    def default_credit_level(self) -> int:
        return int(self._call("defaultCreditLevel"))

    def trading_market(self) -> str:
        return str(self._call("tradingMarket"))

    def inactivity_period(self) -> int:
        return int(self._call("inactivityPeriod"))

    def required_qualifications(self, kind: NodeKind) -> list[bytes]:
        return [bytes(v) for v in self._call("requiredQualifications", int(kind))]

    def node_of_entity(self, entity_hash: bytes) -> str:
        """The entity's enrolled node, or a node that left owing (it still holds the
        entity until its obligations are released), or the zero address."""
        return str(self._call("nodeOfEntity", entity_hash))

    def is_banned(self, entity_hash: bytes) -> bool:
        return bool(self._call("isBanned", entity_hash))

    def qualification_of(self, node: str, licence_type: bytes) -> QualificationInfo:
        return _model(QualificationInfo, self._call("qualificationOf", _addr(node), licence_type))

    def change_request_of(self, node: str) -> ChangeRequest:
        return _model(ChangeRequest, self._call("changeRequestOf", _addr(node)))

    # ---------------------------------------------------------------- paging
    def node_count(self) -> int:
        return int(self._call("nodeCount"))

    def nodes_page(self, offset: int = 0, limit: int = 100) -> list[str]:
        return [str(a) for a in self._call("nodesPage", offset, limit)]

    def pending_application_count(self) -> int:
        return int(self._call("pendingApplicationCount"))

    def pending_applications(self, offset: int = 0, limit: int = 100) -> list[str]:
        return [str(a) for a in self._call("pendingApplications", offset, limit)]

    def pending_changes(self, offset: int = 0, limit: int = 100) -> list[str]:
        return [str(a) for a in self._call("pendingChanges", offset, limit)]

    def pending_qualification_count(self) -> int:
        return int(self._call("pendingQualificationCount"))

    def pending_qualifications(self, offset: int = 0, limit: int = 100) -> list[QualificationInfo]:
        rows = self._call("pendingQualifications", offset, limit)
        return [_model(QualificationInfo, r) for r in rows]

    def qualification_type_count(self, node: str) -> int:
        return int(self._call("qualificationTypeCount", _addr(node)))

    def qualifications_of(
        self, node: str, offset: int = 0, limit: int = 100
    ) -> list[QualificationInfo]:
        rows = self._call("qualificationsOf", _addr(node), offset, limit)
        return [_model(QualificationInfo, r) for r in rows]

    def qualifications_expiring_before(
        self, before: int, offset: int = 0, limit: int = 100
    ) -> tuple[list[QualificationInfo], int]:
        rows, next_offset = self._call("qualificationsExpiringBefore", before, offset, limit)
        return [_model(QualificationInfo, r) for r in rows], int(next_offset)

    def block_reasons_of(self, node: str, offset: int = 0, limit: int = 100) -> list[bytes]:
        return [bytes(v) for v in self._call("blockReasonsOf", _addr(node), offset, limit)]
