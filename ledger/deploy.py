"""Deploying the contract suite and writing the manifest.

The suite is an ordered list of :class:`~ledger.suite.spec.ContractSpec`, gathered from the
modules ``ledger/suite/s<NN>_<area>.py`` in name order (each exports ``SPECS``); a spec
names its artifact, its constructor arguments (which may use addresses deployed before it)
and the roles it receives in ``MarketAccess``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, TypeAdapter
from web3 import Web3

from ledger import suite as suite_pkg
from ledger.artifacts import Artifact
from ledger.clients.access import ROLE_NAMES, MarketAccessClient
from ledger.clients.registry import NodeRegistryClient
from ledger.clients.trading import TradingMarketClient
from ledger.compiler import SOLC_VERSION
from ledger.context import LedgerContext
from ledger.errors import ConfigError, DeploymentError, ManifestChainMismatchError
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.manifest import DeployedContract, Manifest, load_manifest, write_manifest
from ledger.settings import PROJECT_ROOT, Settings
from ledger.suite.spec import ContractSpec, DeployEnv


def suite_specs() -> list[ContractSpec]:
    """The suite in deployment order: every ``ledger/suite/s<NN>_*.py`` module's ``SPECS``."""
    specs: list[ContractSpec] = []
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(suite_pkg.__path__)
        if re.fullmatch(r"s\d\d_\w+", m.name)
    )
    for name in names:
        module = importlib.import_module(f"{suite_pkg.__name__}.{name}")
        specs.extend(module.SPECS)
    return specs


class DeployOutcome(BaseModel):
    """What ``deploy_suite`` did."""

    manifest: Manifest
    manifest_path: str
    reused: bool


def constructor_data(artifact: Artifact, args: Sequence[Any]) -> str:
    """Creation bytecode followed by the ABI-encoded constructor arguments."""
    ctor = next((i for i in artifact.abi if i.get("type") == "constructor"), None)
    types = [str(p["type"]) for p in ctor["inputs"]] if ctor else []
    if len(types) != len(args):
        raise DeploymentError(
            f"{artifact.contract_name} takes {len(types)} constructor arguments, got {len(args)}"
        )
    return artifact.bytecode + abi_encode(types, list(args)).hex()


def git_commit() -> str | None:
    """The checked-out commit of the project, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH is intended
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def role_accounts(settings: Settings) -> dict[str, list[str]]:
    """Roles to grant at deploy: the role accounts file, plus demo wallets in demo mode."""
    grants: dict[str, list[str]] = {}
    if settings.role_accounts_file is not None:
        try:
            raw = json.loads(Path(settings.role_accounts_file).read_text())
            parsed = TypeAdapter(dict[str, list[str]]).validate_python(raw)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"bad role accounts file {settings.role_accounts_file}: {exc}"
            ) from exc
        for role, accounts in parsed.items():
            if role not in ROLE_NAMES:
                raise ConfigError(f"unknown role {role!r} in {settings.role_accounts_file}")
            for account in accounts:
                if not Web3.is_address(account):
                    raise ConfigError(f"not an address for role {role}: {account!r}")
            grants[role] = [Web3.to_checksum_address(a) for a in accounts]
    if settings.demo_keys:
        for wallet, index in DEMO_ROLE_WALLETS.items():
            role = wallet.upper().replace("-", "_")
            if role in ROLE_NAMES:
                grants.setdefault(role, []).append(demo_account(index).address)
    return grants


def _reusable(ctx: LedgerContext, manifest: Manifest) -> bool:
    """True if ``manifest``'s suite is on the chain and matches the current build."""
    w3 = ctx.w3
    names = [spec.name for spec in suite_specs()]
    if sorted(manifest.contracts) != sorted(names):
        has_code = any(
            w3.eth.get_code(Web3.to_checksum_address(c.address))
            for c in manifest.contracts.values()
        )
        if has_code:
            raise DeploymentError(
                "the contract suite changed since this chain was deployed: run "
                "`gridledger deploy --fresh` to deploy the new suite"
            )
        return False
    with_code = [
        bool(w3.eth.get_code(Web3.to_checksum_address(c.address)))
        for c in manifest.contracts.values()
    ]
    if not any(with_code):
        return False  # the chain was reset: deploy again
    if not all(with_code):
        raise DeploymentError(
            "part of the deployed suite has no code: run `gridledger deploy --fresh`"
        )
    for name, deployed in manifest.contracts.items():
        if ctx.store.get(name).sha256 != deployed.artifact_sha256:
            raise DeploymentError(
                f"{name} was rebuilt since deployment (artifact hash changed): run "
                "`gridledger deploy --fresh` to deploy the new build"
            )
    return True


def deploy_specs(
    ctx: LedgerContext,
    admin: LocalAccount,
    specs: Sequence[ContractSpec],
    grants: dict[str, list[str]],
) -> tuple[dict[str, DeployedContract], int | None]:
    """Deploy ``specs`` in order on ``ctx``'s chain, add each spec's contract to ``grants``
    under its roles and grant every role in ``grants`` (skipping ones already held).

    Returns the deployed contracts by name and the block of the first deployment.
    """
    sender = ctx.sender(admin)
    deployed: dict[str, DeployedContract] = {}
    first_block: int | None = None
    for spec in specs:
        artifact = ctx.store.get(spec.name)
        env = DeployEnv(
            settings=ctx.settings,
            admin=admin.address,
            addresses={k: v.address for k, v in deployed.items()},
        )
        receipt = sender.transact(None, constructor_data(artifact, spec.args(env)))
        address = receipt["contractAddress"]
        if address is None:
            raise DeploymentError(f"deploying {spec.name} created no contract")
        first_block = receipt["blockNumber"] if first_block is None else first_block
        deployed[spec.name] = DeployedContract(
            name=spec.name,
            address=address,
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=receipt["blockNumber"],
            artifact_sha256=artifact.sha256,
        )
    for spec in specs:
        for role in spec.roles:
            grants.setdefault(role, []).append(deployed[spec.name].address)
    access = MarketAccessClient(deployed["MarketAccess"].address, sender, ctx.store)
    for role, accounts in grants.items():
        for account in accounts:
            if not access.has_role(role, account):
                access.grant_role(role, account)
    return deployed, first_block


def deploy_suite(ctx: LedgerContext, admin: LocalAccount, *, fresh: bool = False) -> DeployOutcome:
    """Deploy the suite (or reuse a matching deployment) and write the manifest."""
    settings = ctx.settings
    path = settings.manifest_path
    chain_id = ctx.w3.eth.chain_id
    if path.is_file():
        existing = load_manifest(path)
        if existing.chain_id != chain_id:
            raise ManifestChainMismatchError(existing.chain_id, chain_id, str(path))
        if not fresh and _reusable(ctx, existing):
            ctx.use_manifest(existing)
            return DeployOutcome(manifest=existing, manifest_path=str(path), reused=True)
    grants = role_accounts(settings)
    deployed, first_block = deploy_specs(ctx, admin, suite_specs(), grants)
    # The registry's fast path for the market's obligation calls (docs/gas.md).
    NodeRegistryClient(
        deployed["NodeRegistry"].address, ctx.sender(admin), ctx.store
    ).set_trading_market(deployed["TradingMarket"].address)
    # Where the market reads the energies of a trade settled from Formed (docs/gas.md).
    TradingMarketClient(
        deployed["TradingMarket"].address, ctx.sender(admin), ctx.store
    ).set_dispatch_results(deployed["DispatchResults"].address)
    build_info_id = _build_info_id(settings)
    manifest = Manifest(
        chain_id=chain_id,
        rpc_url=settings.rpc_url,
        deployer=admin.address,
        deploy_block=first_block or 0,
        contracts=deployed,
        roles=grants,
        solc_version=SOLC_VERSION,
        build_info_id=build_info_id,
        git_commit=git_commit(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(path, manifest)
    ctx.use_manifest(manifest)
    return DeployOutcome(manifest=manifest, manifest_path=str(path), reused=False)


def _build_info_id(settings: Settings) -> str:
    stamp = settings.build_dir / ".build-stamp"
    if stamp.is_file():
        data = json.loads(stamp.read_text())
        return str(data.get("build_info_id", ""))
    return ""
