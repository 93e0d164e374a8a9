"""The CLI judges statuses at chain time and names them as the contracts do (issue 17)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.settings import Settings
from node.cli import app
from tests.trading.conftest import Market, advance_time, block_time

Run = Callable[..., str]


@pytest.fixture
def node_cli(session_settings: Settings) -> Run:
    """``gridledger node ...`` in-process on the session chain; ``ok=False`` expects a failure
    and returns the error's message."""
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
        "COLUMNS": "300",
    }
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert (result.exit_code == 0) == ok, (result.output, result.exception)
        return result.output if ok else str(result.exception)

    return run


def test_listings_periods_and_quotes_follow_chain_time(
    market: Market, node_cli: Run, tmp_path: Path
) -> None:
    run = node_cli
    pid = str(market.period.id)
    terms = tmp_path / "terms.txt"
    terms.write_text("delivery at the hub meter", encoding="utf-8")
    expires = str(block_time(market.ctx) + 600)
    run("post", "-w", "node-1", "--side", "sell", "--period", pid, "--energy-mwh", "1",
        "--price", "300", "--from", "0", "--to", "3", "--expires", expires,
        "--terms", str(terms))  # fmt: skip
    run("post", "-w", "node-2", "--side", "sell", "--period", pid, "--energy-mwh", "1",
        "--price", "310", "--from", "0", "--to", "3")  # fmt: skip
    assert json.loads(run("periods", "--json"))[0]["status"] == "posting"
    listed = json.loads(run("listings", "--json", "--period", pid))
    assert [x["status"] for x in listed] == ["open", "open"]
    assert listed[0]["side"] == "sell"
    # hashes read as 0x hex, never raw bytes
    assert listed[0]["terms_hash"].startswith("0x")
    assert len(listed[0]["terms_hash"]) == 66
    assert listed[1]["terms_hash"] == "0x" + "00" * 32

    advance_time(market.ctx, 1_200)  # past listing 1's expiry; the chain has not marked it
    assert market.operator.listing(1).status.name == "OPEN"
    listed = json.loads(run("listings", "--json", "--period", pid))
    assert [x["status"] for x in listed] == ["expired", "open"]
    assert "expired" in run("listings", "--period", pid)
    refused = run("quote", "1", "-w", "node-3", "--energy-mwh", "0.5", ok=False)
    assert refused.startswith("listing 1 expired at ")
    assert refused.endswith("it can no longer be taken")
    assert json.loads(run("quote", "2", "-w", "node-3", "--energy-mwh", "0.5", "--json"))
    unknown = run("quote", "99", "-w", "node-3", "--energy-mwh", "0.5", ok=False)
    assert unknown == "UnknownListing(listingId=99)"

    # Periods follow block time: hours ahead of the local clock, the period is closed.
    advance_time(market.ctx, 7_200)
    assert json.loads(run("periods", "--json"))[0]["status"] == "closed"
    assert "closed" in run("periods")


def test_trade_statuses_read_by_contract_name(market: Market, node_cli: Run) -> None:
    run = node_cli
    pid = str(market.period.id)
    run("post", "-w", "node-1", "--side", "sell", "--period", pid, "--energy-mwh", "1",
        "--price", "300", "--from", "0", "--to", "3")  # fmt: skip
    market.open_taking()
    run("take", "1", "-w", "node-3", "--energy-mwh", "0.5")
    trades = json.loads(run("trades", "-w", "node-3", "--json"))
    assert [t["status"] for t in trades] == ["formed"]
    assert "formed" in run("trades", "-w", "node-3")
