"""The participant CLIs run as a user runs them: one decoded line per failure, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import text

from ledger.clients.registry import NodeRegistryClient, NodeStatus, code
from ledger.clients.tariff import TransmissionTariffClient
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.db import engine_for_url
from ledger.deploy import deploy_suite
from ledger.identity import IdentityVault, demo_bundle
from ledger.keystore import demo_account
from tests.conftest import make_settings, role_account
from tests.test_cli import run_cli


@pytest.mark.slow
def test_node_lifecycle_through_the_cli(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    lctx = LedgerContext(settings, w3=ctx.w3)
    deploy_suite(lctx, admin)
    # `node apply` refuses a region the regulator has not defined.
    lctx.client(TransmissionTariffClient, role_account("REGULATOR")).define_region(3, "north")
    env = {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_RPC_URL": ctx.settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    node = demo_account(1007).address
    bundle_file = tmp_path / "bundle.json"
    bundle_file.write_text(json.dumps(demo_bundle(7).model_dump(mode="json", exclude={"salt"})))

    def ok(*args: str) -> str:
        result = run_cli(list(args), env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(*args: str) -> str:
        result = run_cli(list(args), env)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    applied = json.loads(
        ok(
            "node",
            "apply",
            "-w",
            "node-7",
            "--kind",
            "wind",
            "--side",
            "seller",
            "--region",
            "3",
            "--capacity-kw",
            "50000",
            "--bundle",
            str(bundle_file),
            "--display-name",
            "Seven Wind",
            "--json",
        )
    )
    assert applied["node"] == node
    assert (
        fails(
            "node",
            "apply",
            "-w",
            "node-8",
            "--kind",
            "consumer",
            "--side",
            "seller",
            "--region",
            "3",
            "--bundle",
            str(bundle_file),
        )
        == "error: WrongSide(kind=8, side=0)"
    )
    # the refused apply of node-8 left no identity record behind
    vault = IdentityVault.from_settings(settings)
    assert vault.records_of(demo_account(1008).address) == []
    assert vault.records_of(node) == [applied["record_id"]]
    assert run_cli(["verifier", "show", node], env).returncode == 2  # --reason is required
    shown = ok("verifier", "show", node, "--reason", "KYC review")
    assert "Demo Person 7" in shown
    assert "match the chain" in shown
    ok("verifier", "approve", node)
    ok("verifier", "set-name", node, "Seven Wind Farm")
    registry_view = lctx.client(NodeRegistryClient, admin)
    assert registry_view.display_name_of(node) == "Seven Wind Farm"
    lines = ok("regulator", "audit-log").splitlines()
    assert len(lines) == 2
    reasons = ("KYC review", "application review")
    for n, (line, reason) in enumerate(zip(lines, reasons, strict=True), 1):
        assert line.startswith(f"#{n} ")
        assert line.endswith(f" read {node} record {applied['record_id']} (read): {reason}")
        assert " verifier 0x" in line
    verified = json.loads(ok("regulator", "audit-log", "--verify", "--json"))
    assert (verified["ok"], verified["entries"], verified["head_seq"]) == (True, 2, 2)
    with engine_for_url(settings.database_url).begin() as conn:
        conn.execute(text("UPDATE id_identity_access_log SET reason = 'x' WHERE seq = 1"))
    assert fails("regulator", "audit-log", "--verify") == (
        "error: identity access log is broken: entry 1 was altered (its hash does not match "
        "its content)"
    )
    ok("bank", "mint", node, "1000100", "--ref", "DEP-CLI-1")
    assert fails("bank", "mint", node, "1", "--ref", "DEP-CLI-1").startswith(
        "error: BankRefUsed(bankRef=0x"
    )
    ok("node", "bond", "deposit", "1000050", "-w", "node-7")
    status = ok("node", "status", node)
    assert "can trade" in status
    assert "1000050.00 CNY of 1000000.00 required" in status
    assert fails("node", "bond", "withdraw", "51", "-w", "node-7") == (
        f"error: WithdrawalExceedsExcess(node={node}, requestedFen=5100, excessFen=5000)"
    )
    ok(
        "node",
        "qualify",
        "-w",
        "node-7",
        "--licence",
        "GEN_LICENCE",
        "--number",
        "X-1",
        "--expires",
        "2099-01-01",
    )
    ok("node", "change", "-w", "node-7", "--capacity-kw", "60000")
    ok("node", "exit", "-w", "node-7")
    registry = lctx.client(NodeRegistryClient, admin)
    token = lctx.client(SettlementTokenClient, admin)
    info = registry.node_info(node)
    assert info.status == NodeStatus.EXITED
    assert registry.change_request_of(node).capacity_kw == 60_000
    assert registry.qualification_of(node, code("GEN_LICENCE")).pending
    assert token.balance_of(node) == 100_010_000
    # the regulator: removal of a re-applied node, then a permanent ban
    ok(
        "node",
        "apply",
        "-w",
        "node-7",
        "--kind",
        "wind",
        "--side",
        "seller",
        "--region",
        "3",
        "--capacity-kw",
        "50000",
        "--bundle",
        str(bundle_file),
    )
    ok("regulator", "ban", node, "--reason", "FRAUD")
    line = fails(
        "node",
        "apply",
        "-w",
        "node-9",
        "--kind",
        "wind",
        "--side",
        "seller",
        "--region",
        "3",
        "--capacity-kw",
        "1",
        "--bundle",
        str(bundle_file),
    )
    assert line == f"error: BannedEntity(entityHash=0x{demo_bundle(7).entity_hash.hex()})"
    # burning needs the holder's allowance to the bank
    assert fails("bank", "burn", node, "10", "--ref", "WD-1").startswith(
        "error: ERC20InsufficientAllowance("
    )
