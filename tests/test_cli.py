"""The ``gridledger`` console script, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger.cli import _area_entry_points, app
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from tests.conftest import make_settings, role_account

GRIDLEDGER = str(Path(sys.executable).parent / "gridledger")


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    full_env.update(env)
    full_env["COLUMNS"] = "300"
    return subprocess.run(
        [GRIDLEDGER, *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_revert_reaches_the_cli_as_one_decoded_line(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    env = {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_RPC_URL": ctx.settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    dead = "0x000000000000000000000000000000000000dEaD"
    result = run_cli(["deploy", "grant", "VERIFIER", dead, "--wallet", "operator"], env)
    assert result.returncode == 1
    operator = role_account("OPERATOR").address
    assert result.stderr.strip() == (
        f"error: AccessControlUnauthorizedAccount(account={operator}, neededRole=0x{'00' * 32})"
    )
    assert "Traceback" not in result.stderr
    ok = run_cli(["deploy", "grant", "VERIFIER", dead, "--wallet", "admin"], env)
    assert ok.returncode == 0, ok.stderr
    assert f"granted VERIFIER to {dead}" in ok.stdout


def test_wallet_create_list_show_with_password_from_env(tmp_path: Path) -> None:
    env = {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_KEYSTORE_PASSWORD": "s3cret",
        "GRIDLEDGER_KEYSTORE_SCRYPT_N": "16384",  # the floor without demo keys
    }
    created = run_cli(["node", "wallet", "create", "gen-1", "--json"], env)
    assert created.returncode == 0, created.stderr
    listed = run_cli(["node", "wallet", "list"], env)
    assert "gen-1" in listed.stdout
    shown = run_cli(["node", "wallet", "show", "gen-1", "--unlock"], env)
    assert shown.returncode == 0
    assert "password ok" in shown.stdout
    wrong = run_cli(
        ["node", "wallet", "show", "gen-1", "--unlock"],
        {**env, "GRIDLEDGER_KEYSTORE_PASSWORD": "no"},
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "error: wrong password for wallet 'gen-1'"


def test_missing_chain_is_one_line(tmp_path: Path) -> None:
    env = {"GRIDLEDGER_DATA_DIR": str(tmp_path), "GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}
    result = run_cli(["deploy"], {**env, "GRIDLEDGER_DEMO_KEYS": "1"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no chain answers at http://127.0.0.1:9")


def test_every_area_and_the_recommend_command_are_mounted(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"GRIDLEDGER_DATA_DIR": str(tmp_path)}
    areas = _area_entry_points()
    assert {"node", "verifier", "regulator", "bank", "tariff", "surveil", "certs", "credit"} <= set(
        areas
    )
    for area in areas:
        result = runner.invoke(app, [area, "--help"], env=env)
        assert result.exit_code == 0, (area, result.output)
    recommend = run_cli(["node", "recommend", "--help"], env)
    assert recommend.returncode == 0, recommend.stderr
    assert "--book" in recommend.stdout
    assert "--target-wh" in recommend.stdout


def test_bad_address_and_non_positive_amount_are_one_line(tmp_path: Path) -> None:
    env = {"GRIDLEDGER_DATA_DIR": str(tmp_path), "GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}
    good = "0x" + "00" * 19 + "01"
    cases = [
        (["bank", "mint", "0xbad", "10", "--ref", "R"], "error: not an address: '0xbad'"),
        (["regulator", "remove", "nope", "--reason", "X"], "error: not an address: 'nope'"),
        (["node", "status", "0x12"], "error: not an address: '0x12'"),
        (["certs", "holdings", "0xzz"], "error: not an address: '0xzz'"),
        (["bank", "mint", good, "-10", "--ref", "R"], "error: amount must be positive: -10"),
        (["bank", "burn", good, "0", "--ref", "R"], "error: amount must be positive: 0"),
        (["node", "bond", "deposit", "-5", "-w", "x"], "error: amount must be positive: -5"),
    ]
    for args, line in cases:
        result = run_cli(args, env)
        assert result.returncode == 1, (args, result.stderr)
        assert result.stderr.strip() == line, args
