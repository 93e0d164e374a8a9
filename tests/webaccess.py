"""The web role matrix shared by the gateway's and the oracle's tests: every route of an
app, called with no key, with a key of every role and with an unknown key, answers
exactly what its README "Web access" table says (2xx or the route's own not-found/replay
answer when admitted, 403 when not, 401 for an unknown key)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from ledger.settings import PROJECT_ROOT
from ledger.webauth import API_KEY_HEADER, DOC_PATHS, ROLES, Role, markdown_table, route_table

#: The keys file of the tests: ``<role>-key`` for every role.
KEYS: dict[str, str] = {f"{role}-key": role.value for role in ROLES}
UNKNOWN = "unknown key"
#: Who calls: no key, every role's key, an unknown key.
CALLERS: tuple[tuple[str, dict[str, str]], ...] = (
    ("no key", {}),
    *((role.value, {API_KEY_HEADER: f"{role}-key"}) for role in ROLES),
    (UNKNOWN, {API_KEY_HEADER: "nope"}),
)


def key_of(role: Role) -> dict[str, str]:
    return {API_KEY_HEADER: f"{role}-key"}


@dataclass
class Target:
    """How to call one route with valid parameters, and what it answers when admitted."""

    url: str
    ok: tuple[int, ...] = (200,)
    body: Any = None
    seen: list[int] = field(default_factory=list)


def expected(path: str, roles: frozenset[Role], caller: str) -> int | None:
    """The auth outcome: 401/403, or None when admitted (the route's own answer)."""
    if path in DOC_PATHS:
        return None  # FastAPI's docs read no key
    if caller == UNKNOWN:
        return 401
    role = Role.public if caller == "no key" else Role(caller)
    return None if role in roles else 403


def check_matrix(
    client: httpx.Client,
    app: FastAPI,
    targets: dict[tuple[str, str], Target],
    refusal: Callable[[httpx.Response, str, int], None],
) -> tuple[int, int]:
    """Calls every route x caller; ``refusal(response, path, status)`` checks a 401/403
    body. Returns (routes, callers)."""
    table = route_table(app)
    assert {(r.method, r.path) for r in table} == set(targets), "a route without a target"
    assert [r for r in table if r.roles is None] == [], "a route without a role requirement"
    failures = []
    for row in table:
        target = targets[(row.method, row.path)]
        assert row.roles is not None
        for caller, headers in CALLERS:
            response = client.request(row.method, target.url, headers=headers, json=target.body)
            want = expected(row.path, row.roles, caller)
            if want is None:
                target.seen.append(response.status_code)
                if response.status_code not in target.ok:
                    failures.append((row.method, row.path, caller, response.status_code, target.ok))
            elif response.status_code != want:
                failures.append((row.method, row.path, caller, response.status_code, want))
            else:
                refusal(response, row.path, want)
    assert failures == [], failures
    print(
        f"role matrix: {len(table)} routes x {len(CALLERS)} callers = {len(table) * len(CALLERS)}"
    )
    return len(table), len(CALLERS)


def readme_table(heading: str) -> str:
    """The route x role table under ``heading`` in README's "## Web access"."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Web access\n", 1)[1].split("\n## ", 1)[0]
    part = section.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    return "\n".join(re.findall(r"^\|.*\|$", part, flags=re.MULTILINE))


def assert_readme_table(heading: str, app: FastAPI) -> None:
    want = markdown_table(route_table(app))
    assert readme_table(heading) == want, f"README '### {heading}' should be:\n{want}"
