"""What a projector is, and helpers to read loosely-typed event arguments."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Connection, Table, delete, insert, select, update
from web3 import Web3

from gateway import summary
from gateway.db import Base
from gateway.decode import DecodedEvent
from gateway.tables import Region, table_of

INT64_MAX = 2**63 - 1


class SkipEvent(Exception):  # noqa: N818 - control flow, not an error
    """The event lacks what the projector needs: it is ignored (it stays in gw_events)."""


class Projector:
    """Turns known events into rows of typed domain tables.

    Subclasses set ``name``, ``events`` (the event names they handle; every other event is
    ignored), ``models`` (their tables; each has a ``block_number`` column) and ``mutable``
    (rows are updated in place, so a reorg rebuilds the projector from ``gw_events``
    instead of deleting rows above the common ancestor).

    Write through :func:`upsert` and :func:`append` (and delete through :meth:`rewind` and
    :meth:`clear`): they keep the table's row count in ``gw_row_counts`` (the overview's
    figures, ``gateway/summary.py``).
    """

    name: ClassVar[str]
    events: ClassVar[frozenset[str]]
    models: ClassVar[tuple[type[Base], ...]]
    mutable: ClassVar[bool] = False

    @property
    def tables(self) -> list[Table]:
        return [table_of(m) for m in self.models]

    def apply(self, conn: Connection, ev: DecodedEvent) -> None:
        raise NotImplementedError

    def rewind(self, conn: Connection, block_number: int) -> None:
        """Forget rows from blocks above ``block_number`` (immutable projectors)."""
        for table in self.tables:
            gone = conn.execute(delete(table).where(table.c.block_number > block_number)).rowcount
            summary.add_rows(conn, table, -gone)

    def clear(self, conn: Connection) -> None:
        for table in self.tables:
            conn.execute(delete(table))
            summary.emptied(conn, table)


def arg(ev: DecodedEvent, *names: str, required: bool = False) -> Any:
    """The first of ``names`` present in the event's arguments (None if none is)."""
    for name in names:
        if name in ev.args:
            return ev.args[name]
    if required:
        raise SkipEvent(f"{ev.event} lacks {names[0]}")
    return None


def as_int(value: Any) -> int | None:
    """Decimal-string (or int) to int; None when absent or beyond 64 bits."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -INT64_MAX - 1 <= number <= INT64_MAX else None


def need_int(ev: DecodedEvent, *names: str) -> int:
    number = as_int(arg(ev, *names, required=True))
    if number is None:
        raise SkipEvent(f"{ev.event}.{names[0]} is not a 64-bit integer")
    return number


def as_addr(value: Any) -> str | None:
    if isinstance(value, str) and Web3.is_address(value):
        return str(Web3.to_checksum_address(value))
    return None


def need_addr(ev: DecodedEvent, *names: str) -> str:
    address = as_addr(arg(ev, *names, required=True))
    if address is None:
        raise SkipEvent(f"{ev.event}.{names[0]} is not an address")
    return address


def as_text(value: Any, labels: tuple[str, ...] = ()) -> str | None:
    """A string argument, or an enum index mapped through ``labels``."""
    if value is None:
        return None
    if labels and isinstance(value, str) and value.isdigit() and int(value) < len(labels):
        return labels[int(value)]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        raw = bytes.fromhex(value[2:]).rstrip(b"\0")  # bytes32 label
        try:
            return raw.decode() if raw else None
        except UnicodeDecodeError:
            return value
    return str(value)


def get_row(conn: Connection, table: Table, **key: Any) -> dict[str, Any] | None:
    query = select(table)
    for column, value in key.items():
        query = query.where(table.c[column] == value)
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def upsert(conn: Connection, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Update the row at ``key`` with ``values``, or insert ``key | values``."""
    query = update(table)
    for column, value in key.items():
        query = query.where(table.c[column] == value)
    if conn.execute(query.values(**values)).rowcount == 0:
        conn.execute(insert(table).values(**key, **values))
        summary.add_rows(conn, table, 1)


def created_by(ev: DecodedEvent) -> dict[str, Any]:
    """The columns of a row first written by ``ev``: where it was created, and its last block."""
    return {
        "created_block": ev.block_number,
        "created_time": ev.block_time,
        "tx_hash": ev.tx_hash,
        "block_number": ev.block_number,
    }


def append(conn: Connection, table: Table, ev: DecodedEvent, values: dict[str, Any]) -> None:
    """Insert an append-only row carrying the event's position."""
    conn.execute(
        insert(table).values(
            block_number=ev.block_number,
            block_time=ev.block_time,
            tx_hash=ev.tx_hash,
            log_index=ev.log_index,
            **values,
        )
    )
    summary.add_rows(conn, table, 1)


def region_label(conn: Connection, value: Any) -> str | None:
    """A region argument: a TransmissionTariff region id named through ``gw_regions``
    (RegionDefined), else the id itself; a string or ``bytes32`` label as it is."""
    number = as_int(value) if isinstance(value, str) and value.isdigit() else None
    if number is not None:
        row = get_row(conn, table_of(Region), region_id=number)
        if row is not None and row["name"]:
            return str(row["name"])
        return str(number)
    return as_text(value)


def as_hash(value: Any) -> str | None:
    """A ``bytes32`` argument (0x-hex), None when absent or zero."""
    if isinstance(value, str) and value.startswith("0x") and int(value, 16) != 0:
        return value
    return None
