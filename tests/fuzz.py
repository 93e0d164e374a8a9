"""Schemathesis over a live server: every operation of its OpenAPI schema, no 5xx and no
response violating the schema.

Schemathesis' own pytest integration (``from_fixture``/``parametrize``) fails on pytest 9.2
(``'Function' object has no attribute '_nodeid'``), so this drives it directly: one
Hypothesis run per API operation over schemathesis' case strategy.
"""

from __future__ import annotations

from collections.abc import Callable

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.schemas import APIOperation

#: Extra headers of a generated case (None: as generated).
HeadersFor = Callable[[schemathesis.Case], dict[str, str] | None]


def operations(url: str) -> list[APIOperation]:
    """The operations of the OpenAPI schema at ``url``."""
    schema = schemathesis.openapi.from_url(url)
    return [result.ok() for result in schema.get_all_operations()]


def fuzz(
    base_url: str,
    ops: list[APIOperation],
    examples: int,
    headers_for: HeadersFor = lambda _case: None,
) -> int:
    """Run ``examples`` generated cases per operation; returns the calls made.

    Raises:
        AssertionError: (schemathesis' failures) a 5xx or a response off the schema.
    """
    calls = 0
    for operation in ops:

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(
                base_url=base_url,
                headers=headers_for(case),
                checks=[not_a_server_error, response_schema_conformance],
            )

        run()
    return calls
