"""The service desk's errors (all :class:`~ledger.errors.GridLedgerError`)."""

from __future__ import annotations

from ledger.errors import GridLedgerError


class DeskError(GridLedgerError):
    """Something the service desk refuses."""


class TransitionRefusedError(DeskError):
    """A complaint cannot move from ``from_state`` to ``to_state``."""

    def __init__(self, complaint_id: int, from_state: str, to_state: str) -> None:
        self.complaint_id = complaint_id
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(f"complaint {complaint_id} cannot move from {from_state} to {to_state}")


class DeskForbiddenError(DeskError):
    """The caller's role may not do this."""


class DeskTamperedError(DeskError):
    """The desk database does not match its anchored batches (``gridledger desk verify``)."""
