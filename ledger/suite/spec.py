"""How a suite module describes its contracts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.settings import Settings


@dataclass(frozen=True)
class DeployEnv:
    """What constructor arguments may depend on."""

    settings: Settings
    admin: str
    addresses: Mapping[str, str]
    """Addresses of the contracts deployed so far, by contract name."""


@dataclass(frozen=True)
class ContractSpec:
    """One contract of the suite.

    Attributes:
        name: The artifact (contract) name; also its key in the manifest.
        args: Constructor arguments, computed when its turn comes.
        roles: Roles the deployed contract receives in ``MarketAccess``.
    """

    name: str
    args: Callable[[DeployEnv], Sequence[Any]]
    roles: tuple[str, ...] = field(default=())
