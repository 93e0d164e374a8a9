"""Assertions on decoded custom errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ledger.errors import ContractRevertError


@contextmanager
def reverts(name: str, **arguments: Any) -> Iterator[None]:
    """Expect a revert with custom error ``name`` and exactly ``arguments``."""
    with pytest.raises(ContractRevertError) as info:
        yield
    assert info.value.name == name, info.value.signature
    got = {k: (bytes(v) if isinstance(v, bytes) else v) for k, v in info.value.arguments.items()}
    assert got == arguments, info.value.signature
