"""What the oracle's parts share: settings, SQL sessions, the clock, the delivery calendar,
the ``MeterOracle`` client, one lock, and the set of periods already posted.

Each part (:mod:`oracle.intake`, :mod:`oracle.anchoring`, :mod:`oracle.totals`,
:mod:`oracle.review`, :mod:`oracle.dispatch_relay`, :mod:`oracle.proofs`) gets the one
:class:`OracleCore` of its :class:`~oracle.service.OracleService`, so they serialise on the
same lock and see the same closed periods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.clients.oracle import MeterOracleClient
from ledger.settings import Settings
from oracle.periods import PeriodCalendar
from oracle.store import PeriodRow

#: Statuses of readings that count toward settlement.
SETTLED_STATUSES = ("accepted", "cleared")


@dataclass
class OracleCore:
    """The state shared by the oracle's parts (see the module docstring)."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], float]
    calendar: PeriodCalendar
    meter_oracle: MeterOracleClient
    chain_id: int
    #: Serialises ingestion, batching, closing, review and dispatch (re-entrant: closing
    #: a period cuts the last batches under the same lock).
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: Periods whose totals are posted (or queued): their readings are refused.
    closed_periods: set[int] = field(default_factory=set)

    def load_closed_periods(self) -> None:
        """Read the posted periods from SQL (at start-up)."""
        with self.sessions() as session:
            self.closed_periods.update(session.scalars(select(PeriodRow.period)))

    def wrong_domain(self, chain_id: int | None, contract: str | None, expected: str) -> str:
        """Why an EIP-712 domain of (``chain_id``, ``contract``) is not this chain's
        ``expected`` contract; empty when it is (None fields are not checked)."""
        if chain_id is not None and chain_id != self.chain_id:
            return f"signed for chain id {chain_id}, this chain is {self.chain_id}"
        if contract is not None and contract.lower() != expected.lower():
            return f"signed for contract {contract}, the oracle contract is {expected}"
        return ""
