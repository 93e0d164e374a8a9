"""``gridledger certs``: issue, holdings, post, listings, take, retire, compliance, lineage."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ledger.clients.certificates import token_id
from ledger.clients.registry import NodeRegistryClient
from ledger.errors import ValidationError
from ledger.settings import Settings
from ledger.units import fen_to_cny
from node.certificates.cli import app
from tests.certificates.conftest import CertWorld, advance_time

P = 700


def _env(session_settings: Settings) -> dict[str, str]:
    return {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }


def test_cli_end_to_end(world: CertWorld, session_settings: Settings) -> None:
    env = _env(session_settings)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    wind, consumer = world.p("wind").address, world.p("consumer").address
    world.meter(P, {"wind": (0, 3_400_000), "consumer": (10_000_000, 0)})
    world.quota_for(P, 2_000, 100_000)
    issued = json.loads(run("issue", wind, str(P), "-w", "node-93", "--json"))
    tid = token_id(2, wind, P)
    assert (issued["certificates"], issued["carried_out_wh"], issued["token_id"]) == (
        3,
        400_000,
        hex(tid),
    )
    held = json.loads(run("holdings", wind, "--json"))
    assert [(h["token_id"], h["type"], h["balance"]) for h in held] == [(hex(tid), "wind", 3)]
    assert "posted certificate listing 1" in run(
        "post", hex(tid), "2", "-w", "node-1", "--price", "55.5"
    )
    listed = json.loads(run("listings", "--json"))
    assert [(x["listing_id"], x["remaining"], x["price_fen_per_certificate"]) for x in listed] == [
        (1, 2, 5_550)
    ]
    run("take", "1", "2", "-w", "node-3", "--max-price", "60")
    run("retire", hex(tid), "2", "-w", "node-3", "--period", str(P))
    view = json.loads(run("compliance", consumer, str(P), "--json"))
    assert (view["obligation_wh"], view["covered_wh"], view["shortfall_wh"]) == (
        2_000_000,
        2_000_000,
        0,
    )
    history = json.loads(run("lineage", str(tid), "--json"))
    assert [e["kind"] for e in history["events"]] == [
        "issued",
        "transfer",
        "transfer",
        "retired",
    ]
    assert history["holders"] == {wind: 1}
    assert "retired" in run("lineage", hex(tid))


def test_cli_pay_fine(world: CertWorld, session_settings: Settings) -> None:
    env = _env(session_settings)
    runner = CliRunner()
    consumer = world.p("consumer").address
    registry = world.ctx.client(NodeRegistryClient, world.ctx.account("node-93"))
    bond = registry.bond_of(consumer)
    world.meter(P, {"consumer": (10_000_000, 0)})  # obligation 2,000,000 Wh, none covered
    rate = (bond + 1_000) // 2  # fine = 2 x rate fen
    world.quota_for(P, 2_000, rate, in_s=100)
    advance_time(world.ctx, 101)
    world.quota.assess(consumer, P)
    owed = 2 * rate - bond
    assert world.quota.unpaid_fine_of(consumer) == (owed, True)
    bad = runner.invoke(app, ["pay-fine", consumer, "-1", "-w", "node-3"], env=env)
    assert isinstance(bad.exception, ValidationError)
    assert str(bad.exception) == "amount must be positive: -1"
    wind = world.p("wind").address
    bad = runner.invoke(app, ["pay-fine", wind, "1", "-w", "node-3"], env=env)
    assert isinstance(bad.exception, ValidationError)
    assert str(bad.exception) == f"{wind} owes no unpaid quota fine"
    out = runner.invoke(app, ["pay-fine", consumer, "1000", "-w", "node-3"], env=env)
    assert out.exit_code == 0, (out.output, out.exception)
    assert f"paid {fen_to_cny(owed)} CNY of {consumer}'s fines (0.00 CNY left)" in " ".join(
        out.output.split()
    )
    assert world.quota.unpaid_fine_of(consumer) == (0, False)
