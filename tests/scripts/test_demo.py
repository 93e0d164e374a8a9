"""The main job end to end: ``gridledger demo --no-serve`` on the mini preset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.clients.token import SettlementTokenClient
from ledger.clients.trading import TradeStatus, TradingMarketClient
from ledger.context import LedgerContext
from ledger.db import engine_for_url
from ledger.engines.local import LocalChain, free_port
from ledger.keystore import demo_account
from ledger.settings import Settings
from scripts.demo import demo_settings

GRIDLEDGER = str(Path(sys.executable).parent / "gridledger")


def anvil_pids(port: int) -> list[int]:
    """Processes whose command line runs anvil on ``port``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"anvil") for a in argv) and str(port).encode() in argv:
            pids.append(int(proc.name))
    return pids


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_mini_demo_summary_matches_the_chain_and_the_gateway(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update({"GRIDLEDGER_DATA_DIR": str(tmp_path), "GRIDLEDGER_RPC_PORT": str(port)})
    out = tmp_path / "summary.json"
    settings = demo_settings(Settings(data_dir=tmp_path, rpc_port=port))
    try:
        run = subprocess.run(
            [GRIDLEDGER, "demo", "--no-serve", "--summary-out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "market day summary" in run.stdout
        result = json.loads(out.read_text())
        summary = result["summary"]
        assert summary["conserved"] is True
        assert summary["participants"] == 60
        assert summary["trades"] > 50
        assert summary["trades_settled"] == summary["trades"]
        assert summary["readings_accepted"] > 0
        # Feeder meters: the running oracle flags exactly the injected tampered meter.
        assert summary["tamper"]["injected"]
        assert summary["tamper"]["flagged"] == summary["tamper"]["injected"]
        # --no-serve stops the anvil it started (its state is kept): none is left running.
        assert "chain stopped" in run.stdout
        assert anvil_pids(port) == []
        assert not LocalChain(settings).status().running
        LocalChain(settings).up()

        ctx = LedgerContext(settings)
        reader = demo_account(0)
        market = ctx.client(TradingMarketClient, reader)
        every = [market.trade(i) for i in range(1, market.trade_count() + 1)]
        # the day's period: posted trades, then the auction's (counted apart: docs/auction.md
        # "Demo"); the bilateral contracts' period trades are in later periods
        trades = [t for t in every if t.period_id == summary["period_id"]]
        assert len(every) - len(trades) == summary["contract_trades"] == 2  # one per block
        assert summary["contracts_registered"] == 2
        assert summary["auction_trades"] > 0
        assert summary["auction_trades_settled"] == summary["auction_trades"]
        assert len(trades) == summary["trades"] + summary["auction_trades"]
        assert sum(t.energy_wh for t in trades) == (
            summary["traded_wh"] + summary["auction_traded_wh"]
        )
        assert all(t.status == TradeStatus.SETTLED for t in trades)
        token = ctx.client(SettlementTokenClient, reader)
        assert token.total_supply() == summary["total_supply_fen"]

        engine = engine_for_url(settings.database_url)
        with engine.connect() as conn:
            indexed = conn.execute(text("select count(*) from gw_events")).scalar_one()
            created = conn.execute(
                text("select count(*) from gw_events where event = 'TradeCreated'")
            ).scalar_one()
        assert indexed == result["events_indexed"]
        assert created == summary["trades"] + summary["auction_trades"] + summary["contract_trades"]
    finally:
        LocalChain(settings).down()
