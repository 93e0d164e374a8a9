"""A consumer's metered intervals for a month: from the oracle store or from plain files.

:class:`Readings` holds one row per (meter, 15-minute interval) as numpy ``int64`` columns,
so a month of a consumer with many meters is a few hundred kB and the bill engine works on
whole columns. Sources:

* :func:`from_oracle_store`: the oracle's ``oracle_readings`` table (SQLAlchemy Core, raw
  SQL: the core does not import the oracle app), statuses ``accepted`` and ``cleared`` only
  (a ``flagged`` reading waits for a VERIFIER, a ``rejected`` one never counts). Readings'
  signatures were verified once at the oracle's intake; the bill does not re-verify them.
* :func:`load_csv` / :func:`load_json`: offline input, columns ``meter_id, interval_start,
  import_wh, export_wh, reactive_varh`` (``interval_start`` in unix seconds).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, bindparam, text

from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.months import month_bounds

Column = npt.NDArray[np.int64]
#: The columns of a readings file, in order.
FIELDS = ("meter_id", "interval_start", "import_wh", "export_wh", "reactive_varh")
#: Reading statuses that count in a bill.
COUNTED_STATUSES = ("accepted", "cleared")


@dataclass(frozen=True)
class Readings:
    """Rows of (meter, interval): ``meter[i]`` indexes ``meter_ids``."""

    meter_ids: tuple[str, ...]
    meter: Column
    interval_start: Column
    import_wh: Column
    export_wh: Column
    reactive_varh: Column

    def __len__(self) -> int:
        return int(self.meter.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> Readings:
        """The rows where ``mask`` holds."""
        return Readings(
            self.meter_ids,
            self.meter[mask],
            self.interval_start[mask],
            self.import_wh[mask],
            self.export_wh[mask],
            self.reactive_varh[mask],
        )


def from_rows(rows: Iterable[Sequence[Any]]) -> Readings:
    """Readings from ``(meter_id, interval_start, import_wh, export_wh, reactive_varh)`` rows;
    a :class:`ValidationError` naming the row if a value is not a whole number or an energy is
    negative."""
    index: dict[str, int] = {}
    cols: list[list[int]] = [[], [], [], [], []]
    for n, row in enumerate(rows, start=1):
        if len(row) != len(FIELDS):
            raise ValidationError(f"reading {n}: expected {len(FIELDS)} fields, got {len(row)}")
        meter_id = str(row[0])
        try:
            values = [int(v) for v in row[1:]]
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"reading {n}: not a whole number in {list(row)}") from exc
        if min(values[1:3]) < 0:
            raise ValidationError(f"reading {n}: active energy must not be negative")
        cols[0].append(index.setdefault(meter_id, len(index)))
        for col, value in zip(cols[1:], values, strict=True):
            col.append(value)
    arrays = [np.asarray(c, dtype=np.int64) for c in cols]
    return Readings(tuple(index), *arrays)


def from_arrays(
    meter_ids: Sequence[str],
    meter: Column,
    interval_start: Column,
    import_wh: Column,
    export_wh: Column,
    reactive_varh: Column,
) -> Readings:
    """Readings from columns (no copy); the bench's generator uses this."""
    return Readings(tuple(meter_ids), meter, interval_start, import_wh, export_wh, reactive_varh)


def load_csv(path: Path) -> Readings:
    """Readings from a CSV file with a header naming :data:`FIELDS`."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ValidationError(f"{path}: missing column(s) {missing}")
        return from_rows([r[f] for f in FIELDS] for r in reader)


def load_json(path: Path) -> Readings:
    """Readings from a JSON list of objects with the :data:`FIELDS` keys."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValidationError(f"{path}: expected a JSON list of readings")
    try:
        return from_rows([r[f] for f in FIELDS] for r in data)
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"{path}: every reading needs the keys {list(FIELDS)}") from exc


def load_file(path: Path) -> Readings:
    """:func:`load_csv` or :func:`load_json` by the file's suffix."""
    if path.suffix.lower() == ".json":
        return load_json(path)
    return load_csv(path)


def write_csv(readings: Readings, path: Path) -> None:
    """Readings as a CSV file :func:`load_csv` reads back."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(FIELDS)
        for i in range(len(readings)):
            out.writerow(
                [
                    readings.meter_ids[int(readings.meter[i])],
                    int(readings.interval_start[i]),
                    int(readings.import_wh[i]),
                    int(readings.export_wh[i]),
                    int(readings.reactive_varh[i]),
                ]
            )


_SQL = text(
    "SELECT meter_id, interval_start, import_wh, export_wh, reactive_varh "
    "FROM oracle_readings WHERE meter_id IN :meters AND interval_start >= :start "
    "AND interval_start < :end AND status IN :statuses ORDER BY interval_start, meter_id"
).bindparams(bindparam("meters", expanding=True), bindparam("statuses", expanding=True))


def from_oracle_store(engine: Engine, account: ConsumerAccount, month: int) -> Readings:
    """The counted readings of the account's meters in the local month ``month``."""
    start, end = month_bounds(month)
    params = {
        "meters": account.meter_ids,
        "start": start,
        "end": end,
        "statuses": list(COUNTED_STATUSES),
    }
    with engine.connect() as conn:
        rows = conn.execute(_SQL, params).all()
    return from_rows(tuple(r) for r in rows)
