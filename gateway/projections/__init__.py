"""The projector registry: every module here exporting ``PROJECTOR`` is a domain projector.

See ``README.md`` in this directory for the event names and fields each projector reads.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, select, tuple_

from gateway import summary
from gateway.decode import DecodedEvent
from gateway.projections.base import Projector, SkipEvent
from gateway.tables import Block, Event, table_of

log = logging.getLogger(__name__)
_PAGE = 5000


@cache
def projectors() -> tuple[Projector, ...]:
    """Every projector, in module-name order."""
    found: list[Projector] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base":
            continue
        mod = importlib.import_module(f"{__name__}.{module.name}")
        projector = getattr(mod, "PROJECTOR", None)
        if isinstance(projector, Projector):
            found.append(projector)
    return tuple(found)


def counted_tables() -> list[str]:
    """The tables whose rows the summaries count: events, blocks and every projection
    table (``gateway/summary.py``)."""
    names = [table_of(Event).name, table_of(Block).name]
    for projector in projectors():
        names += [t.name for t in projector.tables if t.name not in names]
    return names


def project(
    conn: Connection, events: Iterable[DecodedEvent], only: Projector | None = None
) -> None:
    """Apply every projector that knows an event's name; unknown events are ignored.

    The row counts and market series of the rows written are summed and written to the
    summaries at the end (``gateway/summary.py``).
    """
    chosen = (only,) if only is not None else projectors()
    with summary.batched(conn):
        for ev in events:
            for projector in chosen:
                if ev.event in projector.events:
                    try:
                        projector.apply(conn, ev)
                    except SkipEvent as exc:
                        log.warning("projector %s skipped %s: %s", projector.name, ev.tx_hash, exc)


def stored_events(conn: Connection, names: frozenset[str] | None = None) -> Iterator[DecodedEvent]:
    """Events of ``gw_events`` in chain order (optionally only those named ``names``).

    Read in keyset pages, so the caller may write on the same connection meanwhile.
    """
    t = table_of(Event)
    after = (-1, -1)
    while True:
        query = (
            select(t)
            .where(tuple_(t.c.block_number, t.c.log_index) > tuple_(*after))
            .order_by(t.c.block_number, t.c.log_index)
            .limit(_PAGE)
        )
        if names is not None:
            query = query.where(t.c.event.in_(sorted(names)))
        rows = conn.execute(query).mappings().all()
        for row in rows:
            yield event_from_row(row)
        if len(rows) < _PAGE:
            return
        after = (rows[-1]["block_number"], rows[-1]["log_index"])


def event_from_row(row: Mapping[Any, Any]) -> DecodedEvent:
    """A :class:`DecodedEvent` from a ``gw_events`` row."""
    return DecodedEvent(
        block_number=row["block_number"],
        block_hash=row["block_hash"],
        tx_hash=row["tx_hash"],
        tx_index=row["tx_index"],
        log_index=row["log_index"],
        contract=row["contract"],
        address=row["address"],
        event=row["event"],
        args=json.loads(row["args"]),
        block_time=row["block_time"],
    )


def rebuild(conn: Connection, projector: Projector) -> None:
    """Clear ``projector``'s tables and replay its events from ``gw_events``."""
    projector.clear(conn)
    project(conn, stored_events(conn, projector.events), only=projector)


def rewind(conn: Connection, block_number: int) -> None:
    """Forget projected rows above ``block_number`` (events above it must be gone already)."""
    for projector in projectors():
        if projector.mutable:
            rebuild(conn, projector)
        else:
            projector.rewind(conn, block_number)


def reproject_all(conn: Connection) -> None:
    """Rebuild every projection from the generic events table."""
    for projector in projectors():
        projector.clear(conn)
    project(conn, stored_events(conn))


__all__ = [
    "Projector",
    "counted_tables",
    "project",
    "projectors",
    "rebuild",
    "reproject_all",
    "rewind",
]
