"""README "First 15 minutes": every command of the walkthrough, verbatim, on a fresh chain
from an empty data directory to a settled trade and a downloaded statement.

A line ending in `` &`` is a service (the oracle): it is started in the background, the
test waits until it answers ``/health`` and stops it at the end. ``python -m scripts...``
lines run with this interpreter.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.engines.local import LocalChain, free_port
from ledger.keystore import demo_account
from ledger.settings import Settings
from ledger.tls import http_client
from ledger.units import value_fen

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: How a walkthrough line starts: the console script, or a simulator of ``scripts/``.
STARTS = ("gridledger ", "python -m scripts.")
BACKGROUND = " &"


def walkthrough_commands() -> list[str]:
    """The command lines of the walkthrough section's ``sh`` blocks, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## First 15 minutes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith(STARTS)
    ]


def test_walkthrough_section_is_complete() -> None:
    commands = walkthrough_commands()
    assert commands[0] == "gridledger chain up"
    needed_commands = (
        "init",
        "deploy grant",
        "oracle meter register",
        "oracle serve",
        "node take",
        "scripts.meter_sim",
        "dispatch report",
        "operator open-settlement",
        "chain advance",
        "node settle 1",
        "--deviation",
        "desk anchor",
    )
    for needed in (*needed_commands, "node statement"):
        assert any(needed in c for c in commands), needed
    # every line is a whole command: no unbalanced quotes, a service only as `... &`
    for command in commands:
        argv = shlex.split(command.removesuffix(BACKGROUND))
        assert "&" not in argv, command
        assert "|" not in argv, command


def _argv(command: str) -> list[str]:
    argv = shlex.split(command.removesuffix(BACKGROUND))
    return [sys.executable, *argv[1:]] if argv[0] == "python" else argv


def _wait_healthy(settings: Settings, service: subprocess.Popen[str], log: Path) -> None:
    """Until the oracle answers ``/health`` over TLS (its CA from the data dir)."""
    url = f"https://{settings.oracle_host}:{settings.oracle_port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert service.poll() is None, f"the service exited:\n{log.read_text()[-3000:]}"
        try:
            with http_client(settings, url, timeout=5) as http:
                if http.get("/health").status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the service did not answer /health:\n{log.read_text()[-3000:]}")


def _stop(service: subprocess.Popen[str]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), SIGKILL after 15 s."""
    service.terminate()
    try:
        service.wait(timeout=15)
    except subprocess.TimeoutExpired:
        service.kill()


def _rows(csv_text: str) -> dict[str, tuple[str, int, int, int]]:
    """``item -> (trade_id, energy_wh, rate_fen_per_mwh, amount_fen)`` of the statement CSV."""
    rows = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        rows[row["item"]] = (
            row["trade_id"],
            int(row["energy_wh"] or 0),
            int(row["rate_fen_per_mwh"] or 0),
            int(row["amount_fen"]),
        )
    return rows


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, oracle_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update(
        {
            "GRIDLEDGER_DATA_DIR": str(data),
            "GRIDLEDGER_RPC_PORT": str(port),
            "GRIDLEDGER_ORACLE_PORT": str(oracle_port),
            "GRIDLEDGER_KEYSTORE_PASSWORD": "walkthrough",
            "GRIDLEDGER_KEYSTORE_SCRYPT_N": "16384",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "COLUMNS": "200",
        }
    )
    settings = Settings(data_dir=data, rpc_port=port, oracle_port=oracle_port)
    # The commands run in a directory holding the repository's example bundles.
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    started = time.monotonic()
    outputs: list[tuple[str, str]] = []
    services: list[tuple[subprocess.Popen[str], IO[str]]] = []
    try:
        for command in walkthrough_commands():
            if command.endswith(BACKGROUND):
                log = tmp_path / f"service-{len(services)}.log"
                out = log.open("w", encoding="utf-8")
                service = subprocess.Popen(
                    _argv(command), cwd=tmp_path, env=env, stdout=out, stderr=out, text=True
                )
                services.append((service, out))
                _wait_healthy(settings, service, log)
                continue
            run = subprocess.run(
                _argv(command),
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
            outputs.append((command, run.stdout))
        trade = LedgerContext(settings).client(TradingMarketClient, demo_account(0)).trade(1)
    finally:
        for service, out in services:
            _stop(service)
            out.close()
        LocalChain(settings).down()
    print(f"walkthrough: {len(outputs)} commands in {time.monotonic() - started:.0f} s")
    said = "\n".join(out for _, out in outputs)
    assert "trade 1: 4 MWh of listing 1" in said
    assert "executed 4 MWh, curtailed 0 MWh, reason 0" in said
    assert "recorded on chain" in said
    assert "net 4200000 Wh" in said  # both meter totals are on chain
    assert "net -4000000 Wh" in said
    assert "trade 1 settled" in said
    assert "deviation of retail-1: 200000 Wh, pays 80.00 CNY" in said
    assert "settlement of period 1 opens at" in said
    assert "anchored batch 1: changes #1..#5" in said
    assert "desk database intact: 5 changes, 5 anchored in 1 batches" in said
    statement = outputs[-1][1]
    assert "not settled yet" not in statement
    assert "meter data missing" not in statement
    assert trade.status is TradeStatus.SETTLED
    assert (trade.executed_wh, trade.curtailed_wh) == (4_000_000, 0)
    # By hand: 4 MWh at 350 CNY/MWh = 35_000 fen/MWh; formula 1 on route 0->1 at
    # 20_000 + 15_000 fen/MWh; the retailer metered 4.2 MWh against 4 MWh contracted, so
    # dQ = +0.2 MWh pays formula 3 at the up rate 400 CNY/MWh = 40_000 fen/MWh.
    energy_fen = 4_000_000 * 35_000 // 1_000_000  # 140_000 fen = 1400.00 CNY
    fee_fen = 4_000_000 * (20_000 + 15_000) // 1_000_000  # 140_000 fen
    deviation_fen = 200_000 * 40_000 // 1_000_000  # 8_000 fen = 80.00 CNY
    assert (energy_fen, fee_fen) == (value_fen(4_000_000, 35_000),) * 2
    rows = _rows((tmp_path / "statement.csv").read_text())
    assert rows == {
        "energy purchased": ("1", 4_000_000, 35_000, -energy_fen),
        "transmission fee": ("1", 4_000_000, 35_000, -fee_fen),
        "deviation": ("", 200_000, 40_000, -deviation_fen),
        "net": ("", 0, 0, -(energy_fen + fee_fen + deviation_fen)),
    }
    assert -(energy_fen + fee_fen + deviation_fen) == -288_000  # -2880.00 CNY
