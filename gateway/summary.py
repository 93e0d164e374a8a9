"""The figures of the explorer's overview, kept up to date by every write of the indexer.

Counting and grouping the whole event log on each request costs seconds at a million
events, so three small tables hold the answers (``gateway/tables.py``, migration 0003):

* ``gw_row_counts``: rows per table: ``gw_events`` and ``gw_blocks`` (the indexer's
  :meth:`~gateway.indexer.Indexer._store` and :meth:`~gateway.indexer.Indexer.rewind`) and
  every projection table (the projector helpers ``upsert`` and ``append``,
  :meth:`Projector.rewind` and :meth:`Projector.clear`);
* ``gw_event_counts``: events per (contract, event name), with ``gw_events``;
* ``gw_market_stats``: traded energy and value per (period, region), by the trades
  projector whenever a trade row changes.

Each is changed in the same transaction as the rows it describes, so it is exactly right
after indexing, re-indexing (nothing new is stored), a reorg (rows above the ancestor are
deleted, mutable projections rebuilt) and ``gridledger gateway reproject``. A row exists
only while its count is not zero, so every path to the same data leaves the same rows.
:func:`rebuild` recomputes all three from the tables (the migration's backfill does the
same; ``reproject`` calls it as a repair).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from gateway.tables import Event, EventCount, MarketStat, RowCount, Trade, table_of

ROWS = table_of(RowCount)
EVENT_COUNTS = table_of(EventCount)
MARKET = table_of(MarketStat)
EVENTS = table_of(Event)
TRADES = table_of(Trade)

#: (period, region) of a market row.
MarketKey = tuple[int, str | None]


# --- batching ----------------------------------------------------------------------------

_PENDING = "gateway.summary.pending"


@dataclass
class _Pending:
    rows: Counter[str] = field(default_factory=Counter)
    market: dict[MarketKey, list[int]] = field(default_factory=dict)


@contextmanager
def batched(conn: Connection) -> Iterator[None]:
    """Within the block, sum row-count and market changes in memory and write them once at
    its end (:func:`gateway.projections.project` wraps each batch of events in it, so a
    chunk costs a few summary writes, not a few per event). Nothing is written if the
    block raises: its transaction is rolled back anyway."""
    if _PENDING in conn.info:
        yield
        return
    pending = _Pending()
    conn.info[_PENDING] = pending
    try:
        yield
    finally:
        del conn.info[_PENDING]
    for name, delta in sorted(pending.rows.items()):
        _write_rows(conn, name, delta)
    _write_market(conn, pending.market)


def _pending(conn: Connection) -> _Pending | None:
    pending = conn.info.get(_PENDING)
    return pending if isinstance(pending, _Pending) else None


# --- row counts --------------------------------------------------------------------------


def add_rows(conn: Connection, table: Table | str, delta: int) -> None:
    """``delta`` rows were inserted into (or, negative, deleted from) ``table``."""
    name = table if isinstance(table, str) else table.name
    pending = _pending(conn)
    if pending is not None:
        pending.rows[name] += delta
    else:
        _write_rows(conn, name, delta)


def _write_rows(conn: Connection, name: str, delta: int) -> None:
    if delta == 0:
        return
    where = ROWS.c.table_name == name
    changed = conn.execute(
        update(ROWS).where(where).values(row_count=ROWS.c.row_count + delta)
    ).rowcount
    if not changed:
        conn.execute(insert(ROWS).values(table_name=name, row_count=delta))
    elif delta < 0:
        conn.execute(delete(ROWS).where(where, ROWS.c.row_count == 0))


def emptied(conn: Connection, table: Table | str) -> None:
    """``table`` was emptied."""
    name = table if isinstance(table, str) else table.name
    pending = _pending(conn)
    if pending is not None:
        pending.rows.pop(name, None)  # rows inserted before are gone too
    conn.execute(delete(ROWS).where(ROWS.c.table_name == name))


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per table name (tables without a row are empty)."""
    return {str(n): int(c) for n, c in conn.execute(select(ROWS.c.table_name, ROWS.c.row_count))}


# --- events ------------------------------------------------------------------------------


def _add_event_counts(conn: Connection, tally: Mapping[tuple[str, str], int]) -> None:
    for (contract, event), delta in sorted(tally.items()):
        if delta == 0:
            continue
        where = (EVENT_COUNTS.c.contract == contract, EVENT_COUNTS.c.event == event)
        changed = conn.execute(
            update(EVENT_COUNTS)
            .where(*where)
            .values(event_count=EVENT_COUNTS.c.event_count + delta)
        ).rowcount
        if not changed:
            conn.execute(
                insert(EVENT_COUNTS).values(contract=contract, event=event, event_count=delta)
            )
        elif delta < 0:
            conn.execute(delete(EVENT_COUNTS).where(*where, EVENT_COUNTS.c.event_count == 0))


def events_added(conn: Connection, kinds: Iterable[tuple[str, str]]) -> None:
    """``gw_events`` rows of these (contract, event name)s were inserted."""
    tally = Counter(kinds)
    _add_event_counts(conn, tally)
    add_rows(conn, EVENTS, sum(tally.values()))


def events_removed_above(conn: Connection, block_number: int) -> None:
    """The ``gw_events`` rows above ``block_number`` are about to be deleted."""
    rows = conn.execute(
        select(EVENTS.c.contract, EVENTS.c.event, func.count())
        .where(EVENTS.c.block_number > block_number)
        .group_by(EVENTS.c.contract, EVENTS.c.event)
    ).all()
    _add_event_counts(conn, {(str(c), str(e)): -int(n) for c, e, n in rows})
    add_rows(conn, EVENTS, -sum(int(n) for _c, _e, n in rows))


def event_counts(conn: Connection) -> list[tuple[str, str, int]]:
    """(contract, event, count), the most frequent first."""
    c = EVENT_COUNTS
    rows = conn.execute(
        select(c.c.contract, c.c.event, c.c.event_count).order_by(
            c.c.event_count.desc(), c.c.contract, c.c.event
        )
    ).all()
    return [(str(a), str(e), int(n)) for a, e, n in rows]


# --- market ------------------------------------------------------------------------------


def trade_share(row: Mapping[Any, Any] | None) -> tuple[MarketKey, int, int] | None:
    """What a ``gw_trades`` row adds to the market series: its (period, region), energy
    and value (``energy_wh * price_fen_per_mwh``, 0 without a price); None when its
    period or energy is unknown (such trades are not in the series)."""
    if row is None or row.get("period") is None or row.get("energy_wh") is None:
        return None
    energy_wh = int(row["energy_wh"])
    price = row.get("price_fen_per_mwh")
    value = energy_wh * int(price) if price is not None else 0
    return (int(row["period"]), row.get("region")), energy_wh, value


def trades_changed(
    conn: Connection,
    before: Iterable[Mapping[Any, Any] | None],
    after: Iterable[Mapping[Any, Any] | None],
) -> None:
    """``gw_trades`` rows ``before`` were replaced by rows ``after`` (None: no row)."""
    deltas: dict[MarketKey, list[int]] = {}
    for sign, rows in ((-1, before), (1, after)):
        for row in rows:
            share = trade_share(row)
            if share is None:
                continue
            key, energy_wh, value = share
            d = deltas.setdefault(key, [0, 0, 0])
            d[0] += sign
            d[1] += sign * energy_wh
            d[2] += sign * value
    pending = _pending(conn)
    if pending is None:
        _write_market(conn, deltas)
        return
    for key, d in deltas.items():
        total = pending.market.setdefault(key, [0, 0, 0])
        for i, v in enumerate(d):
            total[i] += v


def _write_market(conn: Connection, deltas: Mapping[MarketKey, list[int]]) -> None:
    for key, (trades, energy_wh, value) in sorted(deltas.items(), key=_key_order):
        if trades or energy_wh or value:
            _add_market(conn, key, trades, energy_wh, value)


def _key_order(item: tuple[MarketKey, Any]) -> tuple[int, bool, str]:
    (period, region), _ = item
    return period, region is not None, region or ""


def _market_where(key: MarketKey) -> tuple[Any, Any]:
    period, region = key
    return (
        MARKET.c.period == period,
        MARKET.c.region.is_(None) if region is None else MARKET.c.region == region,
    )


def _add_market(conn: Connection, key: MarketKey, trades: int, energy_wh: int, value: int) -> None:
    where = _market_where(key)
    row = conn.execute(select(MARKET).where(*where)).mappings().first()
    if row is None:
        conn.execute(
            insert(MARKET).values(
                period=key[0],
                region=key[1],
                trade_count=trades,
                energy_wh=str(energy_wh),
                value_micro_fen=str(value),
            )
        )
        return
    total = int(row["trade_count"]) + trades
    if total == 0:
        conn.execute(delete(MARKET).where(MARKET.c.id == row["id"]))
        return
    conn.execute(
        update(MARKET)
        .where(MARKET.c.id == row["id"])
        .values(
            trade_count=total,
            energy_wh=str(int(row["energy_wh"]) + energy_wh),
            value_micro_fen=str(int(row["value_micro_fen"]) + value),
        )
    )


def trades_emptied(conn: Connection) -> None:
    """``gw_trades`` was emptied."""
    pending = _pending(conn)
    if pending is not None:
        pending.market.clear()
    conn.execute(delete(MARKET))


def market_rows(conn: Connection) -> list[tuple[int, str | None, int, int]]:
    """(period, region, energy_wh, value_micro_fen) in (period, region) order."""
    m = MARKET
    rows = conn.execute(
        select(m.c.period, m.c.region, m.c.energy_wh, m.c.value_micro_fen).order_by(
            m.c.period,
            m.c.region.nulls_first(),  # SQLite's order on PostgreSQL too
        )
    ).all()
    return [(int(p), r, int(e), int(v)) for p, r, e, v in rows]


# --- from scratch ------------------------------------------------------------------------


def rebuild(conn: Connection, counted: Iterable[str]) -> None:
    """Recompute every summary from the tables it summarises; ``counted`` names the tables
    whose rows are counted (:func:`gateway.projections.counted_tables`)."""
    conn.execute(delete(ROWS))
    conn.execute(delete(EVENT_COUNTS))
    conn.execute(delete(MARKET))
    tables = {t.name: t for t in EVENTS.metadata.sorted_tables}
    for name in counted:
        add_rows(
            conn,
            name,
            int(conn.execute(select(func.count()).select_from(tables[name])).scalar_one()),
        )
    rows = conn.execute(
        select(EVENTS.c.contract, EVENTS.c.event, func.count()).group_by(
            EVENTS.c.contract, EVENTS.c.event
        )
    ).all()
    _add_event_counts(conn, {(str(c), str(e)): int(n) for c, e, n in rows})
    t = TRADES
    shares = conn.execute(
        select(t.c.period, t.c.region, t.c.energy_wh, t.c.price_fen_per_mwh).where(
            t.c.period.is_not(None), t.c.energy_wh.is_not(None)
        )
    ).mappings()
    trades_changed(conn, [], shares)
