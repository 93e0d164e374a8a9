"""The meter and dispatch simulators exit 1 with a one-line summary when the oracle refuses
their data, 0 when it takes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import scripts.dispatch_sim as dispatch_sim
import scripts.meter_sim as meter_sim
from ledger.webauth import API_KEY_HEADER
from oracle.dispatch import MemoryTradeSource
from scripts.meter_sim import SimMeter
from tests.oracle.conftest import DISPATCH_KEY, Clock
from tests.oracle.test_dispatch import _trade

RUNNER = CliRunner()


@pytest.fixture
def through_api(api: TestClient, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulators talk to the in-process oracle instead of opening HTTPS, and read the
    oracle's clock (chain time, which earlier tests may have moved) as "now"."""
    monkeypatch.setattr(
        meter_sim, "time", SimpleNamespace(time=clock, perf_counter=time.perf_counter)
    )

    @contextmanager
    def fake_client(*_args: Any, **_kwargs: Any) -> Iterator[TestClient]:
        yield api

    monkeypatch.setattr(meter_sim, "http_client", fake_client)
    monkeypatch.setattr(dispatch_sim, "http_client", fake_client)


@pytest.mark.usefixtures("through_api")
def test_meter_sim_exits_1_when_readings_are_refused(meters: list[SimMeter]) -> None:
    # all three meters registered, all readings new: exit 0
    ok = RUNNER.invoke(meter_sim.app, ["--meters", "3", "--intervals", "1"])
    assert ok.exit_code == 0, ok.output
    assert ok.stderr == ""
    # the same readings again are duplicates (not refused); meters 4 and 5 are unknown
    args = ["--meters", "5", "--intervals", "1", "--batch", "2"]
    result = RUNNER.invoke(meter_sim.app, args)
    assert result.exit_code == 1, result.output
    assert result.stderr == "oracle refused 2 of 5 readings (unknown_meter 2)\n"


@pytest.mark.usefixtures("through_api")
def test_dispatch_sim_exits_1_when_results_are_refused(trades: MemoryTradeSource) -> None:
    trades.add([_trade(1, "north", "south", 40_000), _trade(2, "north", "south", 60_000)])
    key = DISPATCH_KEY[API_KEY_HEADER]
    args = ["--period", "7", "--corridor", "north:south:1000", "--api-key", key]
    first = RUNNER.invoke(dispatch_sim.app, args)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("202 ")
    second = RUNNER.invoke(dispatch_sim.app, args)
    assert second.exit_code == 1, second.output
    assert second.stderr.startswith("oracle refused 2 of 2 dispatch results (")
    assert len(second.stderr.strip().splitlines()) == 1


def test_refusals_of_one_answer() -> None:
    import httpx

    ok = httpx.Response(
        200,
        json={"results": [{"outcome": "accepted"}, {"outcome": "rejected", "reason": "replay"}]},
    )
    assert meter_sim.refusals(ok, 2) == {"replay": 1}
    bare = httpx.Response(502, text="bad gateway")
    assert meter_sim.refusals(bare, 3) == {"http_502": 3}
    problem = httpx.Response(401, json={"reason": "bad_signature", "detail": "x"})
    assert meter_sim.refusals(problem, 5) == {"bad_signature": 5}
