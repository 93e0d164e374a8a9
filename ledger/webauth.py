"""Least-privilege web access of the gateway and the oracle: API keys with roles, one
explicit set of roles per route requirement, and the route x role table of an app.

A keys file is JSON ``{api_key: role}``; a request without a key is ``public``. There is
no order of roles: each requirement (:class:`Access`) lists the roles it admits, so a
``regulator`` key reads what an ``auditor`` key reads only because both sets say so, and an
``operator`` key reads nothing of the auditors'. A route requires an access by depending on
a :class:`Requires` (the apps wrap it in their typed dependencies); an unknown key answers
401, a known key outside the set 403, in the app's own error body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader
from pydantic import TypeAdapter

from ledger.errors import ConfigError

API_KEY_HEADER = "X-API-Key"


class Role(StrEnum):
    """Who calls a web app; ``public`` is a request without a key."""

    public = "public"
    auditor = "auditor"
    regulator = "regulator"
    operator = "operator"
    dispatch = "dispatch"
    meter = "meter"


ROLES: tuple[Role, ...] = tuple(Role)


class ApiKeys:
    """The keys file ``{api_key: role}``; requests without a key have ``anonymous``'s role
    (``public``, unless an in-process caller such as the demo trusts its own requests)."""

    def __init__(self, keys: dict[str, Role], *, anonymous: Role = Role.public) -> None:
        self._keys = keys
        self.anonymous = anonymous

    @classmethod
    def load(cls, path: Path | None, *, setting: str, anonymous: Role = Role.public) -> ApiKeys:
        """The keys of ``path`` (none when unset); ``setting`` names it in errors."""
        if path is None:
            return cls({}, anonymous=anonymous)
        try:
            raw = TypeAdapter(dict[str, str]).validate_python(json.loads(Path(path).read_text()))
            return cls({key: Role(role) for key, role in raw.items()}, anonymous=anonymous)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"bad API keys file {path} ({setting}): {exc} (want {{key: {'|'.join(ROLES)}}})"
            ) from exc

    def role(self, key: str | None) -> Role | None:
        """The key's role; the anonymous role without a key; None for an unknown key."""
        if key is None or key == "":
            return self.anonymous
        return self._keys.get(key)


def key_id(key: str | None) -> str:
    """A short, non-secret identifier of an API key for audit rows."""
    if not key:
        return "-"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Access:
    """A route requirement: the roles admitted, listed explicitly."""

    name: str
    roles: frozenset[Role]


def access(name: str, *roles: Role) -> Access:
    return Access(name, frozenset(roles))


EVERYONE = access("everyone", *ROLES)

#: FastAPI's own pages (the API's description), open to everyone; they read no key.
DOCS = access("docs (no key read)", *ROLES)
DOC_PATHS = (
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/static/swagger-ui",  # the docs page's packaged assets (gateway/app.py mount_docs)
)

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description=f"An API key of the keys file; its role is one of {', '.join(ROLES)}.",
)
ApiKeyDep = Annotated[str | None, Depends(api_key_header)]


class Requires:
    """A dependency admitting the roles of ``access``: finds the keys with ``keys_of``
    and raises ``deny(status, detail)`` (401 unknown key, 403 role not admitted)."""

    def __init__(
        self,
        access: Access,
        keys_of: Callable[[Request], ApiKeys],
        deny: Callable[[int, str], Exception],
    ) -> None:
        self.access = access
        self.keys_of = keys_of
        self.deny = deny

    def __call__(self, request: Request, key: ApiKeyDep = None) -> Role:
        role = self.keys_of(request).role(key)
        if role is None:
            raise self.deny(401, "unknown API key")
        if role not in self.access.roles:
            wanted = " or ".join(r for r in ROLES if r in self.access.roles)
            raise self.deny(403, f"needs an API key with role {wanted}")
        return role


def _requirements(dependant: Dependant) -> Iterator[Access]:
    for dep in dependant.dependencies:
        if isinstance(dep.call, Requires):
            yield dep.call.access
        yield from _requirements(dep)


@dataclass(frozen=True)
class RouteAccess:
    """One route of an app with the roles that may call it (None: no requirement found)
    and the name of its narrowest requirement."""

    method: str
    path: str
    roles: frozenset[Role] | None
    requirement: str = "none"


def route_table(app: FastAPI, open_paths: Iterable[str] = DOC_PATHS) -> list[RouteAccess]:
    """Every method and path of ``app`` with its admitted roles: the intersection of the
    route's :class:`Requires`; ``open_paths`` (docs, OpenAPI) admit everyone."""
    opened = set(open_paths)
    rows: list[RouteAccess] = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        needs = []
        if isinstance(route.original_route, APIRoute):
            needs = sorted(
                _requirements(route.original_route.dependant), key=lambda a: len(a.roles)
            )
        if path in opened:
            needs = [DOCS]
        roles = frozenset.intersection(*(a.roles for a in needs)) if needs else None
        name = needs[0].name if needs else "none"
        rows.extend(RouteAccess(m, path, roles, name) for m in methods)
    return rows


def markdown_table(rows: Iterable[RouteAccess]) -> str:
    """The README's route x role table of ``rows``."""
    lines = [
        "| route | requirement | " + " | ".join(ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for row in rows:
        cells = [("yes" if row.roles and r in row.roles else "–") for r in ROLES]
        lines.append(
            f"| `{row.method} {row.path}` | {row.requirement} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)
