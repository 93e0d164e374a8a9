"""The full trade lifecycle (post, take, dispatch result, metered totals, settle) per
second, for section 1.

Raises :class:`LifecycleUnavailable` while a step has no contract to run against; fill in
:func:`lifecycle_rate` when it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scripts.bench.common import BenchChain
from scripts.bench.market import Traders


class LifecycleUnavailable(Exception):  # noqa: N818 - a reason, not a failure
    """A step of the lifecycle cannot be measured yet; the message says why."""


@dataclass
class LifecycleResult:
    per_s: float
    details: dict[str, Any] = field(default_factory=dict)


def lifecycle_rate(chain: BenchChain, traders: Traders, *, quick: bool) -> LifecycleResult:
    """Complete lifecycles per second on ``chain`` (see the module docstring)."""
    del chain, traders, quick
    raise LifecycleUnavailable(
        "SettlementEngine landed in the tree while this benchmark was written; the "
        "dispatch -> meter -> settle chain is not wired into the benchmark yet"
    )
