"""The default fund (DefaultFund) and the debt part of formula-3 charges (SettlementEngine's
``DeviationCollected``): the fund's state, its members, each default's waterfall steps and
every fund event, for the explorer's ``/defaults`` page (docs/defaults.md).

Every figure follows the contract's own arithmetic from the events alone: the holdings move
with each transfer an event reports, the loss and recovery indexes are read from
``LossAllocated`` and ``Recovered``, a member's indexes are set where the contract sets
them (joining, paying, claiming)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from gateway.decode import DecodedEvent
from gateway.projections.base import (
    Projector,
    SkipEvent,
    append,
    arg,
    as_addr,
    as_int,
    created_by,
    get_row,
    need_addr,
    need_int,
    upsert,
)
from gateway.tables import FundDefault, FundEvent, FundMember, FundState, table_of

STATE, MEMBERS = table_of(FundState), table_of(FundMember)
DEFAULTS, EVENTS = table_of(FundDefault), table_of(FundEvent)
#: Per event: the arguments of its log row (node, counterparty, amount).
LOG_ARGS = {
    "Contributed": ("node", "payer", "amountFen"),
    "Replenished": ("", "operator", "amountFen"),
    "DefaultCovered": ("node", "creditor", "fromFundFen"),
    "LossAllocated": ("node", "", "amountFen"),
    "LossUnallocated": ("node", "", "amountFen"),
    "AssessmentPaid": ("member", "payer", "amountFen"),
    "AssessmentEnforced": ("member", "by", "owedFen"),
    "CreditorPaid": ("", "creditor", "amountFen"),
    "Recovered": ("node", "", "amountFen"),
    "RecoveryClaimed": ("member", "", "amountFen"),
    "ContributionRefunded": ("node", "", "refundFen"),
    "DeviationCollected": ("node", "", "debtFen"),
}
EMPTY_STATE: dict[str, Any] = {"fund_fen": 0, "reserve_fen": 0, "unfunded_fen": 0,
    "total_base_fen": 0, "loss_index": "0", "recovery_index": "0", "creditor": None}  # fmt: skip
#: DefaultFund's events (the engine's DeviationCollected carries a default's first steps).
FUND_EVENTS = frozenset(LOG_ARGS) - {"DeviationCollected"}
Handler = Callable[[Connection, DecodedEvent, dict[str, Any]], None]


def big(ev: DecodedEvent, name: str) -> int:
    """A required unsigned argument of any size (an index may exceed 64 bits)."""
    value = arg(ev, name, required=True)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SkipEvent(f"{ev.event}.{name} is not an integer") from None


def _state(conn: Connection) -> dict[str, Any]:
    row = get_row(conn, STATE, id=1)
    if row is not None:
        return row
    return dict(EMPTY_STATE)


def _member(conn: Connection, ev: DecodedEvent, name: str = "member") -> dict[str, Any]:
    node = need_addr(ev, name)
    row = get_row(conn, MEMBERS, node=node)
    if row is None:
        raise SkipEvent(f"{ev.event} of {node}, never a member")
    return row


def _set_member(conn: Connection, ev: DecodedEvent, row: dict[str, Any], **values: Any) -> None:
    upsert(conn, MEMBERS, {"node": row["node"]}, {**values, "block_number": ev.block_number})


def _contributed(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    base = need_int(ev, "amountFen")
    s["fund_fen"] = need_int(ev, "fundFen")
    s["total_base_fen"] += base
    upsert(conn, MEMBERS, {"node": need_addr(ev, "node")}, {
        "status": "member", "base_fen": base, "paid_index": s["loss_index"],
        "recovery_index": s["recovery_index"], "unrecovered_fen": 0,
        "assessments_paid_fen": 0, "recovered_fen": 0, "refund_fen": None,
        "enforced": False, **created_by(ev),
    })  # fmt: skip


def _replenished(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    s["fund_fen"] = need_int(ev, "fundFen")


def _covered(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    loss, paid = need_int(ev, "lossFen"), need_int(ev, "fromFundFen")
    s["fund_fen"] -= paid
    s["unfunded_fen"] += loss - paid
    s["creditor"] = as_addr(arg(ev, "creditor"))
    _default(conn, ev, from_fund_fen=paid, fund_left_fen=need_int(ev, "fundLeftFen"),
             creditor=s["creditor"], debt_fen=loss)  # fmt: skip


def _allocated(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    s["loss_index"] = str(big(ev, "lossIndex"))
    _default(conn, ev, allocated_fen=need_int(ev, "amountFen"),
             total_base_fen=need_int(ev, "totalBaseFen"), loss_index=s["loss_index"])  # fmt: skip


def _unallocated(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    _default(conn, ev, unallocated_fen=need_int(ev, "amountFen"))


def _collected(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    _default(
        conn,
        ev,
        from_credit_fen=as_int(arg(ev, "fromCreditFen")),
        from_wallet_fen=as_int(arg(ev, "fromWalletFen")),
        from_bond_fen=as_int(arg(ev, "fromBondFen")),
        debt_fen=need_int(ev, "debtFen"),
    )


def _default(conn: Connection, ev: DecodedEvent, **values: Any) -> None:
    key = {"node": need_addr(ev, "node"), "period": need_int(ev, "period")}
    upsert(conn, DEFAULTS, key, {**values, "tx_hash": ev.tx_hash, "block_number": ev.block_number})


def _assessment_paid(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    amount = need_int(ev, "amountFen")
    m = _member(conn, ev)
    s["fund_fen"] += amount
    _set_member(conn, ev, m, paid_index=s["loss_index"], enforced=False,
                unrecovered_fen=m["unrecovered_fen"] + amount,
                assessments_paid_fen=m["assessments_paid_fen"] + amount)  # fmt: skip


def _enforced(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    _set_member(conn, ev, _member(conn, ev), enforced=True)


def _creditor_paid(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    s["fund_fen"] -= need_int(ev, "amountFen")
    s["unfunded_fen"] = need_int(ev, "unfundedFen")


def _recovered(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    s["fund_fen"] += need_int(ev, "amountFen")  # the engine forwarded the repayment
    s["reserve_fen"] += need_int(ev, "toMembersFen")
    s["recovery_index"] = str(big(ev, "recoveryIndex"))


def _claimed(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    paid, forfeited = need_int(ev, "amountFen"), need_int(ev, "forfeitedFen")
    m = _member(conn, ev)
    s["fund_fen"] -= paid
    s["reserve_fen"] -= paid + forfeited
    _set_member(conn, ev, m, recovery_index=s["recovery_index"],
                unrecovered_fen=m["unrecovered_fen"] - paid,
                recovered_fen=m["recovered_fen"] + paid)  # fmt: skip


def _refunded(conn: Connection, ev: DecodedEvent, s: dict[str, Any]) -> None:
    refund = need_int(ev, "refundFen")
    m = _member(conn, ev, "node")
    s["fund_fen"] -= refund
    s["total_base_fen"] -= need_int(ev, "baseFen")
    _set_member(conn, ev, m, status="refunded", refund_fen=refund)


HANDLERS: dict[str, Handler] = {
    "Contributed": _contributed,
    "Replenished": _replenished,
    "DefaultCovered": _covered,
    "LossAllocated": _allocated,
    "LossUnallocated": _unallocated,
    "AssessmentPaid": _assessment_paid,
    "AssessmentEnforced": _enforced,
    "CreditorPaid": _creditor_paid,
    "Recovered": _recovered,
    "RecoveryClaimed": _claimed,
    "ContributionRefunded": _refunded,
    "DeviationCollected": _collected,
}


class DefaultsProjector(Projector):
    name = "defaults"
    events = FUND_EVENTS | {"DeviationCollected"}
    models = (FundState, FundMember, FundDefault, FundEvent)
    mutable = True

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        if ev.event == "DeviationCollected":
            if ev.contract != "SettlementEngine":
                raise SkipEvent(f"{ev.event} of {ev.contract}")
            if not as_int(arg(ev, "debtFen")):
                return  # paid in full: no default
        elif ev.contract != "DefaultFund":
            raise SkipEvent(f"{ev.event} of {ev.contract}")
        state = _state(conn)
        HANDLERS[ev.event](conn, ev, state)
        values = {k: state[k] for k in EMPTY_STATE}
        upsert(conn, STATE, {"id": 1}, {**values, "block_number": ev.block_number})
        node, party, amount = LOG_ARGS[ev.event]
        append(conn, EVENTS, ev, {
            "event": ev.event,
            "node": as_addr(arg(ev, node)) if node else None,
            "party": as_addr(arg(ev, party)) if party else None,
            "period": as_int(arg(ev, "period")),
            "amount_fen": as_int(arg(ev, amount)),
        })  # fmt: skip


PROJECTOR = DefaultsProjector()
