"""Set-up commands: deploy's order and grants by wallet name, undefined regions, the
operator's and dispatch center's configuration, chain advance."""

from __future__ import annotations

from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledger.clients.access import MarketAccessClient
from ledger.clients.oracle import DispatchResultsClient
from ledger.clients.settlement import SettlementEngineClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.keystore import demo_account, demo_wallet_index
from tests.conftest import make_settings
from tests.test_cli import run_cli


def test_deploy_says_the_admin_wallet_is_missing_before_any_prompt(tmp_path: Path) -> None:
    env = {"GRIDLEDGER_DATA_DIR": str(tmp_path), "GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}
    result = run_cli(["deploy"], env)
    assert result.returncode == 1
    assert "Keystore password" not in result.stdout + result.stderr
    assert result.stderr.strip().startswith("error: no wallet 'admin' in ")


def _deployed_env(ctx: LedgerContext, admin: LocalAccount, tmp_path: Path) -> dict[str, str]:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    return {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_RPC_URL": ctx.settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }


def test_grant_by_wallet_name_and_unknown_names_are_one_line(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    env = _deployed_env(ctx, admin, tmp_path)
    node = demo_account(demo_wallet_index("node-77")).address
    ok = run_cli(["deploy", "grant", "VERIFIER", "node-77"], env)
    assert ok.returncode == 0, ok.stderr
    assert f"granted VERIFIER to {node}" in ok.stdout
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    access = LedgerContext(settings, w3=ctx.w3).client(MarketAccessClient, admin)
    assert access.has_role("VERIFIER", node)
    bad = run_cli(["deploy", "grant", "VERIFIER", "nobody"], env)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("error: no ")
    gone = run_cli(["deploy", "revoke", "VERIFIER", "node-77"], env)
    assert gone.returncode == 0, gone.stderr
    assert not access.has_role("VERIFIER", node)


def test_apply_refuses_an_undefined_region(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    env = _deployed_env(ctx, admin, tmp_path)
    bundle = str(Path(__file__).resolve().parents[1] / "docs/examples/identity-bundle.json")
    result = run_cli(
        [
            "node",
            "apply",
            "--wallet",
            "node-78",
            "--kind",
            "wind",
            "--side",
            "seller",
            "--region",
            "3",
            "--capacity-kw",
            "1000",
            "--bundle",
            bundle,
        ],
        {**env, "GRIDLEDGER_IDENTITY_KEY_FILE": str(tmp_path / "id.key")},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: region 3 is not defined (defined: none); the regulator defines it with "
        "`gridledger tariff define-region`"
    )


def test_operator_and_dispatch_configure_settlement(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    env = _deployed_env(ctx, admin, tmp_path)
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    lctx = LedgerContext(settings, w3=ctx.w3)
    engine = lctx.client(SettlementEngineClient, admin)
    grid = demo_account(demo_wallet_index("node-79")).address
    for args in (
        ["operator", "grid-account", "5", "node-79"],
        ["operator", "balancing-account", "node-80"],
        ["operator", "remainder-account", "node-81"],
        ["operator", "open-next-period", "--delivery-in", "7200"],
        ["dispatch", "deviation-rates", "1", "--down", "300", "--up", "400.5"],
        ["operator", "open-settlement", "1", "--in", "60"],
    ):
        run = run_cli(args, env)
        assert run.returncode == 0, f"{args}: {run.stderr}"
    assert engine.grid_account_of(5) == grid
    assert engine.balancing_account() == demo_account(demo_wallet_index("node-80")).address
    assert engine.remainder_account() == demo_account(demo_wallet_index("node-81")).address
    rates = engine.deviation_rates(1)
    assert (rates.down_fen_per_mwh, rates.up_fen_per_mwh) == (30_000, 40_050)
    opens = lctx.client(DispatchResultsClient, admin).settlement_opens_at(1)
    assert opens > 0
    before = int(ctx.w3.eth.get_block("latest")["timestamp"])
    assert before < opens
