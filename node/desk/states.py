"""The complaint state machine, the roles of the desk and who may do what.

``new -> in_progress -> resolved -> closed``; a resolved complaint may also go back to
``in_progress`` (reopened). Every other move is refused with
:class:`~node.desk.errors.TransitionRefusedError` naming both states.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from node.desk.errors import DeskForbiddenError, TransitionRefusedError


class State(StrEnum):
    new = "new"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


#: The states a complaint may move to from each state.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.new: frozenset({State.in_progress}),
    State.in_progress: frozenset({State.resolved}),
    State.resolved: frozenset({State.closed, State.in_progress}),
    State.closed: frozenset(),
}
#: States in which a complaint counts as open (and may become overdue).
OPEN_STATES = frozenset({State.new, State.in_progress})


class DeskRole(StrEnum):
    participant = "participant"
    operator = "operator"
    regulator = "regulator"


STAFF = frozenset({DeskRole.operator, DeskRole.regulator})


@dataclass(frozen=True)
class Actor:
    """Who acts: an address (``apikey:<id>`` for staff on the API) and a role."""

    address: str
    role: DeskRole

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF


def check_transition(complaint_id: int, current: str, target: str) -> State:
    """``target`` as a :class:`State` if ``current`` may move there; refused otherwise."""
    try:
        to_state = State(target)
    except ValueError:
        raise TransitionRefusedError(complaint_id, current, target) from None
    if to_state not in TRANSITIONS[State(current)]:
        raise TransitionRefusedError(complaint_id, current, target)
    return to_state


def check_move_allowed(actor: Actor, filer: str, current: str, target: State) -> None:
    """The operator moves complaints; the filer may only close or reopen its resolved one."""
    if actor.role == DeskRole.operator:
        return
    if actor.address.lower() == filer.lower() and current == State.resolved:
        return
    raise DeskForbiddenError(
        f"{actor.role} {actor.address} may not move a complaint to {target}: the operator "
        "moves complaints, the filer may only close or reopen its resolved complaint"
    )


def require_role(actor: Actor, *roles: DeskRole) -> None:
    """Refuse unless ``actor`` holds one of ``roles``."""
    if actor.role not in roles:
        wanted = " or ".join(r.value for r in roles)
        raise DeskForbiddenError(f"{actor.role} {actor.address} may not do this: needs {wanted}")
