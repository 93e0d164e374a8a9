"""Clients of ``DefaultFund`` and ``TradeCloser`` (docs/defaults.md).

The default waterfall of a formula-3 charge a node cannot pay: its credit, wallet allowance
and bond (the settlement engine), then the default fund, then the loss allocated pro rata
to the members' contributions (:func:`allocation_fen` mirrors the contract's rounding).
A trade with no dispatch result is closed by anyone through ``TradeCloser`` once due.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from web3 import Web3
from web3.types import TxReceipt

from ledger.clients.base import ContractClient

#: Fixed-point scale of the fund's loss index.
INDEX_SCALE = 10**18


def _addr(value: str) -> str:
    return str(Web3.to_checksum_address(value))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def index_step(loss_fen: int, total_base_fen: int) -> int:
    """How much a loss raises the loss index: ceil(loss x 1e18 / base)."""
    return _ceil_div(loss_fen * INDEX_SCALE, total_base_fen)


def allocation_fen(base_fen: int, index_delta: int) -> int:
    """A member's assessment for an index rise: ceil(base x delta / 1e18)."""
    return _ceil_div(base_fen * index_delta, INDEX_SCALE)


def recovery_step(recovered_fen: int, total_base_fen: int) -> int:
    """How much a recovery raises the recovery index: floor(recovered x 1e18 / base)."""
    return recovered_fen * INDEX_SCALE // total_base_fen


def recovery_share_fen(base_fen: int, index_delta: int) -> int:
    """A member's share of a recovery index rise: floor(base x delta / 1e18)."""
    return base_fen * index_delta // INDEX_SCALE


def refund_fen(base_fen: int, free_fen: int, total_base_fen: int) -> int:
    """A leaving member's refund: min(base, floor(base x free holdings / total base))."""
    return min(base_fen, base_fen * free_fen // total_base_fen)


class Member(BaseModel):
    """A fund member: its contribution (the allocation base), the loss index it paid up to,
    the assessments it paid and has not recovered, the recovery index it claimed up to."""

    model_config = ConfigDict(frozen=True)

    base_fen: int
    paid_index: int
    unrecovered_fen: int = 0
    recovery_index: int = 0


class DefaultFundClient(ContractClient):
    """The default fund and loss allocation (see ``IDefaultFund``)."""

    ARTIFACT = "DefaultFund"

    def set_contribution_bps(self, bps: int) -> TxReceipt:
        return self._transact("setContributionBps", bps)

    def replenish(self, amount_fen: int) -> TxReceipt:
        return self._transact("replenish", amount_fen)

    def contribute(self, node: str) -> TxReceipt:
        return self._transact("contribute", _addr(node))

    def require_contribution(self, node: str) -> TxReceipt:
        return self._transact("requireContribution", _addr(node))

    def pay_assessment(self, member: str) -> TxReceipt:
        return self._transact("payAssessment", _addr(member))

    def pay_creditor(self) -> TxReceipt:
        return self._transact("payCreditor")

    def claim_recovery(self, member: str) -> TxReceipt:
        return self._transact("claimRecovery", _addr(member))

    def refund_contribution(self, node: str) -> TxReceipt:
        return self._transact("refundContribution", _addr(node))

    def contribution_bps(self) -> int:
        return int(self._call("contributionBps"))

    def contribution_fen_of(self, node: str) -> int:
        return int(self._call("contributionFenOf", _addr(node)))

    def member_of(self, node: str) -> Member:
        base, paid_index, unrecovered, recovery_index = self._call("memberOf", _addr(node))
        return Member(
            base_fen=int(base),
            paid_index=int(paid_index),
            unrecovered_fen=int(unrecovered),
            recovery_index=int(recovery_index),
        )

    def assessment_of(self, member: str) -> int:
        return int(self._call("assessmentOf", _addr(member)))

    def recovery_of(self, member: str) -> int:
        return int(self._call("recoveryOf", _addr(member)))

    def allocated_of(self, node: str) -> int:
        return int(self._call("allocatedOf", _addr(node)))

    def recovery_index(self) -> int:
        return int(self._call("recoveryIndex"))

    def recovery_reserve_fen(self) -> int:
        return int(self._call("recoveryReserveFen"))

    def fund_fen(self) -> int:
        return int(self._call("fundFen"))

    def unfunded_fen(self) -> int:
        return int(self._call("unfundedFen"))

    def creditor(self) -> str:
        return str(self._call("creditor"))

    def total_base_fen(self) -> int:
        return int(self._call("totalBaseFen"))

    def loss_index(self) -> int:
        return int(self._call("lossIndex"))


class TradeCloserClient(ContractClient):
    """Closes trades that never got a dispatch result (see ``ITradeCloser``)."""

    ARTIFACT = "TradeCloser"

    def set_closure_grace(self, grace_s: int) -> TxReceipt:
        return self._transact("setClosureGrace", grace_s)

    def close_undispatched(self, trade_id: int) -> TxReceipt:
        return self._transact("closeUndispatched", trade_id)

    def closure_grace_s(self) -> int:
        return int(self._call("closureGraceS"))

    def closure_due_at(self, trade_id: int) -> int:
        return int(self._call("closureDueAt", trade_id))
