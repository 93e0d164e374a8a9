from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.access import ROLE_NAMES, MarketAccessClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite, suite_specs
from ledger.errors import ManifestChainMismatchError
from ledger.manifest import load_manifest
from tests.conftest import make_settings, role_account


def test_deploy_writes_manifest_and_grants_roles(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    fresh = LedgerContext(settings, w3=ctx.w3)
    outcome = deploy_suite(fresh, admin)
    assert outcome.reused is False
    manifest = load_manifest(settings.manifest_path)
    assert manifest == outcome.manifest
    assert manifest.chain_id == 31415
    assert manifest.deployer == admin.address
    assert sorted(manifest.contracts) == sorted(spec.name for spec in suite_specs())
    assert manifest.contracts["MarketAccess"].block_number == manifest.deploy_block
    deployed = manifest.contracts["MarketAccess"]
    assert deployed.artifact_sha256 == fresh.store.get("MarketAccess").sha256
    assert ctx.w3.eth.get_code(deployed.address)
    access = fresh.client(MarketAccessClient, admin)
    assert access.default_admin() == admin.address
    # VENUE, a contract-only role, went to the venues of the suite (the central auction
    # and the bilateral contracts)
    assert sorted(manifest.roles["VENUE"]) == sorted(
        [manifest.contracts[n].address for n in ("CentralAuction", "BilateralContracts")]
    )
    for role in ROLE_NAMES:
        if role in ("MARKET_CONTRACT", "VENUE", "ORDER_INTAKE"):  # contract-only roles
            continue
        assert access.has_role(role, role_account(role).address), role
        granted = [manifest.contracts[s.name].address for s in suite_specs() if role in s.roles]
        assert manifest.roles[role] == [role_account(role).address, *granted]


def test_redeploy_on_the_same_chain_reuses(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    first = deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    block = ctx.w3.eth.block_number
    second = deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    assert second.reused is True
    assert second.manifest == first.manifest
    assert ctx.w3.eth.block_number == block


def test_manifest_for_another_chain_is_refused(
    ctx: LedgerContext, admin: LocalAccount, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    data = json.loads(settings.manifest_path.read_text())
    data["chain_id"] = 1
    settings.manifest_path.write_text(json.dumps(data))
    with pytest.raises(ManifestChainMismatchError) as info:
        deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    assert info.value.manifest_chain_id == 1
    assert info.value.node_chain_id == 31415
    assert "is for chain id 1 but the node at the RPC URL has chain id 31415" in str(info.value)


def test_fresh_deploys_a_new_suite(ctx: LedgerContext, admin: LocalAccount, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ctx.settings.rpc_url)
    first = deploy_suite(LedgerContext(settings, w3=ctx.w3), admin)
    again = deploy_suite(LedgerContext(settings, w3=ctx.w3), admin, fresh=True)
    assert again.reused is False
    assert again.manifest.address("MarketAccess") != first.manifest.address("MarketAccess")
