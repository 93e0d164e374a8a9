"""What the walkthrough's meters and oracle rely on: ``oracle period show`` (and its
``--wait``), the chain clock of ``oracle serve --clock chain``, and the meter simulator
signing with one keystore meter's key over a trading period's delivery intervals."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import scripts.meter_sim as meter_sim
from ledger.cli import run
from ledger.clients.oracle import MeterOracleClient
from ledger.clients.trading import TradingMarketClient
from ledger.context import LedgerContext
from ledger.keystore import Keystore, demo_account
from oracle import eip712
from oracle.cli import chain_clock
from oracle.service import OracleService
from oracle.store import ReadingRow
from scripts.meter_sim import SimMeter
from tests.conftest import role_account
from tests.oracle.conftest import Clock, TestClient
from tests.oracle.test_gateway_meter_proof import _posted_period


@pytest.fixture
def cli_settings(ctx: LedgerContext, monkeypatch: pytest.MonkeyPatch) -> LedgerContext:
    """The session chain's settings in the environment, as the commands read them."""
    for key in [k for k in os.environ if k.startswith("GRIDLEDGER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_RPC_URL", ctx.settings.rpc_url)
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "1")
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_PASSWORD", "meter")
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_SCRYPT_N", "16384")
    monkeypatch.setenv("COLUMNS", "300")
    return ctx


def _gridledger(*args: str) -> tuple[int, str]:
    with CliRunner().isolation() as (out, err, _):
        code = run(list(args))
        return code, (out.getvalue() + err.getvalue()).decode()


def test_chain_clock_is_the_latest_block(ctx: LedgerContext) -> None:
    assert chain_clock(ctx)() == float(ctx.w3.eth.get_block("latest")["timestamp"])


@pytest.mark.usefixtures("cli_settings")
def test_period_show_and_its_wait(
    service: OracleService, meters: list[SimMeter], clock: Clock
) -> None:
    period = _posted_period(service, meters, clock)
    node = demo_account(1001).address
    code, said = _gridledger("oracle", "period", "show", str(period), node, "--wait", "5")
    assert code == 0, said
    lines = said.splitlines()
    assert lines[0].startswith(f"period {period}: posted at ")
    assert ", 3 nodes, 12 readings, totals root 0x" in lines[0]
    total = service.meter_oracle.metered_energy_of(node, period)
    assert (
        lines[1].split()
        == (
            f"{node}: import {total.import_wh} Wh, export {total.export_wh} Wh, "
            f"net {total.net_wh} Wh"
        ).split()
    )
    code, said = _gridledger("oracle", "period", "show", str(period), "node-1", "--json")
    assert code == 0, said
    shown = json.loads(said)
    assert shown["period"]["node_count"] == 3
    assert shown["totals"][node]["recorded"] is True
    # a period nobody posted: shown as such, and --wait ends in one error line
    code, said = _gridledger("oracle", "period", "show", str(period + 5), "node-1")
    assert (code, said.splitlines()[0]) == (0, f"period {period + 5}: not posted yet")
    code, said = _gridledger("oracle", "period", "show", str(period + 5), "--wait", "1")
    assert code == 1
    assert said == (
        f"error: period {period + 5}: not posted with every total recorded after 1 s "
        "(is the oracle serving, and its late-reading window over?)\n"
    )
    code, said = _gridledger("oracle", "period", "show", "1", "0xbad")
    assert (code, said) == (1, "error: not an address: '0xbad'\n")


def test_split_evenly() -> None:
    assert meter_sim.split_evenly(4_200_000, 4) == [1_050_000] * 4
    assert meter_sim.split_evenly(10, 4) == [3, 3, 2, 2]
    assert sum(meter_sim.split_evenly(7, 3)) == 7


@pytest.fixture
def keystore_meter(
    cli_settings: LedgerContext,
    operator_oracle: MeterOracleClient,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """Meter ``MP-KS-1`` of node-1 signing with keystore wallet ``meter-ks-1`` (keystore
    keys, not the demo keys; the session's keystore loses the wallet afterwards)."""
    ctx = cli_settings
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "0")
    keystore = Keystore(ctx.settings.keystore_dir, scrypt_n=16384)
    info = keystore.create("meter-ks-1", "meter")
    meter_id = eip712.meter_id_bytes("MP-KS-1")
    operator_oracle.register_meter(meter_id, demo_account(1001).address, info.address, 5_000_000)
    yield "0x" + meter_id.hex()
    keystore.path("meter-ks-1").unlink()


@pytest.fixture
def through_api(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator talks to the in-process oracle instead of opening HTTPS."""

    @contextmanager
    def fake_client(*_args: Any, **_kwargs: Any) -> Iterator[TestClient]:
        yield api

    monkeypatch.setattr(meter_sim, "http_client", fake_client)


@pytest.mark.usefixtures("through_api")
def test_keystore_meter_reads_a_trading_period(
    ctx: LedgerContext, service: OracleService, keystore_meter: str, clock: Clock
) -> None:
    # a trading period of four aligned intervals; the oracle's clock moves past its end
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    start = (now + 7200) // 900 * 900
    operator = ctx.client(TradingMarketClient, role_account("OPERATOR"))
    receipt = operator.open_period(start, now, now, start - 3600, intervals=4)
    period = operator.opened_period_id(receipt)
    clock.now = float(start + 3600 + 10)
    args = ["--meter", "MP-KS-1", "--wallet", "meter-ks-1", "--period", str(period)]
    result = CliRunner().invoke(meter_sim.app, [*args, "--import-mwh", "4.2"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("posted 4 readings in ")
    with service.sessions() as session:
        rows = session.scalars(
            select(ReadingRow)
            .where(ReadingRow.meter_id == keystore_meter)
            .order_by(ReadingRow.interval_start)
        ).all()
        got = [(r.interval_start, r.import_wh, r.export_wh, r.sequence) for r in rows]
    assert got == [(start + k * 900, 1_050_000, 0, k + 1) for k in range(4)]
    # the same meter without its key, or an unknown period: one line, exit 2
    bad = CliRunner().invoke(meter_sim.app, ["--meter", "MP-KS-1", "--period", str(period)])
    assert (bad.exit_code, bad.stderr) == (
        2,
        "error: --meter and --wallet go together (the meter's own key)\n",
    )
    bad = CliRunner().invoke(meter_sim.app, [*args[:4], "--period", "999"])
    assert (bad.exit_code, bad.stderr) == (2, "error: UnknownPeriod(periodId=999)\n")
    bad = CliRunner().invoke(meter_sim.app, [*args, "--export-mwh", "-1"])
    assert bad.exit_code == 2
    assert bad.stderr == "error: energy in MWh must not be negative: -1\n"


def test_simulators_default_to_the_settings_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    @contextmanager
    def record(_settings: Any, url: str, **_kwargs: Any) -> Iterator[Any]:
        seen.append(url)
        raise httpx.ConnectError("down")
        yield SimpleNamespace()  # pragma: no cover

    monkeypatch.setattr(meter_sim, "http_client", record)
    monkeypatch.setenv("GRIDLEDGER_ORACLE_PORT", "18999")
    result = CliRunner().invoke(meter_sim.app, ["--meters", "1"])
    assert seen == ["https://127.0.0.1:18999"]
    assert isinstance(result.exception, httpx.ConnectError)
