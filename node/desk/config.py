"""The desk's categories and their response-time limits.

Defaults below; ``<data_dir>/desk/categories.json`` (``{"category": hours, ...}``) replaces
them. A complaint is overdue while it is not yet resolved and its category's limit since
filing has passed (docs/desk.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ledger.errors import ConfigError

HOUR_S = 3600

#: Response-time limit (hours) of each default category.
DEFAULT_LIMITS_H: dict[str, int] = {
    "billing": 48,
    "connection": 120,
    "metering": 72,
    "other": 72,
    "settlement": 48,
    "trading": 24,
}


def categories_file(data_dir: Path) -> Path:
    return data_dir / "desk" / "categories.json"


def load_limits_s(data_dir: Path) -> dict[str, int]:
    """Each category's response-time limit in seconds (the file's, else the defaults)."""
    path = categories_file(data_dir)
    if not path.exists():
        return {name: hours * HOUR_S for name, hours in DEFAULT_LIMITS_H.items()}
    try:
        raw = TypeAdapter(dict[str, int]).validate_python(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, PydanticValidationError) as exc:
        raise ConfigError(f"bad desk categories file {path}: {exc}") from exc
    bad = [name for name, hours in raw.items() if hours <= 0 or not 0 < len(name.encode()) <= 32]
    if not raw or bad:
        raise ConfigError(
            f"bad desk categories file {path}: want {{name (1..32 bytes): hours > 0}}, "
            f"refused {bad or 'an empty file'}"
        )
    return {name: hours * HOUR_S for name, hours in raw.items()}
