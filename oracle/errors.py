"""Errors of the oracle service; each carries the HTTP status and reason it maps to."""

from __future__ import annotations

from ledger.errors import GridLedgerError


class OracleError(GridLedgerError):
    """A request the oracle refuses (4xx) with a machine-readable ``reason``."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        self.status = status
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")
