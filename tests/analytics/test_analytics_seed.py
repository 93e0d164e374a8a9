"""``--seed -1`` names the option (was numpy's "expected non-negative integer")."""

from __future__ import annotations

import pytest

from tests.analytics.test_analytics_cli import _run


@pytest.mark.parametrize("command", ["forecast", "backtest", "clusters"])
def test_a_negative_seed_names_the_option(command: str) -> None:
    code, out, err = _run(["analytics", command, "--seed", "-1"])
    assert code == 2
    assert out == ""
    assert err == (
        "error: Invalid value for '--seed': Input should be greater than or equal to 0 "
        f"(see `gridledger analytics {command} --help`)\n"
    )
