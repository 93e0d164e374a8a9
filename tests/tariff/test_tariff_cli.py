"""``gridledger tariff``, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.access import role_id
from ledger.clients.tariff import TransmissionTariffClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from tests.conftest import make_settings, role_account
from tests.tariff.conftest import CITIES, CITY_EDGES, CITY_RATES, build_graph
from tests.test_cli import run_cli


@pytest.mark.slow
def test_regulator_builds_the_graph_and_anyone_asks_for_routes(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    env = {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_RPC_URL": ctx.settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    # The CLI defines, rates and connects one region; the client does the rest (each CLI
    # run starts a Python process).
    done = run_cli(["tariff", "define-region", "0", "Tangshan"], env)
    assert done.returncode == 0, done.stderr
    assert "region 0 is 'Tangshan'" in done.stdout
    done = run_cli(["tariff", "set-rate", "0", "3000"], env)
    assert done.returncode == 0, done.stderr
    assert "region 0: 30.00 CNY/MWh from " in done.stdout
    own = LedgerContext(settings, w3=ctx.w3)
    tariff = own.client(TransmissionTariffClient, role_account("REGULATOR"))
    build_graph(
        tariff,
        {k: v for k, v in CITIES.items() if k},
        {k: v for k, v in CITY_RATES.items() if k},
        [e for e in CITY_EDGES if e != (0, 2)],
    )
    done = run_cli(["tariff", "set-edge", "0", "2"], env)
    assert done.returncode == 0, done.stderr
    assert "regions 0 and 2 connected" in done.stdout
    route = run_cli(["tariff", "route", "0", "4", "--energy-wh", "1234567", "--json"], env)
    assert route.returncode == 0, route.stderr
    assert json.loads(route.stdout) == {
        "route": [0, 2, 3, 4],
        "sum_rate_fen_per_mwh": 7500,
        "energy_wh": 1234567,
        "fee_fen": 9259,
    }
    text = run_cli(["tariff", "route", "0", "4"], env)
    assert "route 0 -> 2 -> 3 -> 4: 75.00 CNY/MWh" in text.stdout
    pending = run_cli(["tariff", "set-rate", "2", "9000", "--in", "3600"], env)
    assert pending.returncode == 0, pending.stderr
    listed = run_cli(["tariff", "regions", "--json"], env)
    regions = {r["id"]: r for r in json.loads(listed.stdout)}
    assert regions[2]["rate_fen_per_mwh"] == 1000
    assert regions[2]["pending_rate_fen_per_mwh"] == 9000
    assert regions[0]["neighbours"] == [1, 2]

    refused = run_cli(["tariff", "set-edge", "0", "3", "--wallet", "operator"], env)
    assert refused.returncode == 1
    operator = role_account("OPERATOR").address
    assert refused.stderr.strip() == (
        f"error: AccessControlUnauthorizedAccount(account={operator}, "
        f"neededRole=0x{role_id('REGULATOR').hex()})"
    )
    unknown = run_cli(["tariff", "route", "0", "9"], env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: UnknownRegion(region=9)"
