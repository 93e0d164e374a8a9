"""``gridledger init``: the institutions' wallets, the deployment, their roles and the roles
file, in one step (each part is skipped when already done, so it can run again)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.errors import KeystoreError
from ledger.keystore import resolve_password

#: The institution wallets and the role each one holds (``admin`` holds DEFAULT_ADMIN).
INSTITUTIONS: dict[str, str | None] = {
    "admin": None,
    "operator": "OPERATOR",
    "verifier": "VERIFIER",
    "regulator": "REGULATOR",
    "dispatch": "DISPATCH",
    "meter-oracle": "METER_ORACLE",
    "credit-agency": "CREDIT_AGENCY",
    "clearing-bank": "CLEARING_BANK",
}


class InitOutcome(BaseModel):
    """What ``init`` did."""

    created_wallets: list[str]
    addresses: dict[str, str]
    granted: list[str]
    deployed: bool
    manifest_path: str
    roles_file: str


def ensure_wallets(
    ctx: LedgerContext, password: Callable[[], str]
) -> tuple[dict[str, str], list[str]]:
    """Every institution's address, creating the missing keystores (demo keys: none)."""
    addresses: dict[str, str] = {}
    created: list[str] = []
    for name in INSTITUTIONS:
        if ctx.settings.demo_keys:
            addresses[name] = ctx.account(name).address
            continue
        try:
            addresses[name] = ctx.keystore.info(name).address
        except KeystoreError:
            info = ctx.keystore.create(name, password())
            addresses[name] = info.address
            created.append(name)
    return addresses, created


def init_market(ctx: LedgerContext, prompt: Callable[[], str] | None = None) -> InitOutcome:
    """Create the wallets, deploy (or reuse), grant each institution its role and write
    ``<data dir>/roles.json`` (``{ROLE: [address]}``, the format of
    ``GRIDLEDGER_ROLE_ACCOUNTS_FILE``) for later deployments."""
    asked: list[str] = []

    def password() -> str:
        if not asked:
            asked.append(resolve_password(ctx.settings, prompt))
        return asked[0]

    addresses, created = ensure_wallets(ctx, password)
    admin = ctx.account("admin", password)
    outcome = deploy_suite(ctx, admin)
    access = ctx.client(MarketAccessClient, admin)
    granted: list[str] = []
    roles: dict[str, list[str]] = {}
    for name, role in INSTITUTIONS.items():
        if role is None:
            continue
        roles[role] = [addresses[name]]
        if not access.has_role(role, addresses[name]):
            access.grant_role(role, addresses[name])
            granted.append(f"{role} -> {name}")
    roles_file = ctx.settings.role_accounts_file or ctx.settings.data_dir / "roles.json"
    Path(roles_file).parent.mkdir(parents=True, exist_ok=True)
    Path(roles_file).write_text(json.dumps(roles, indent=2) + "\n", encoding="utf-8")
    return InitOutcome(
        created_wallets=created,
        addresses=addresses,
        granted=granted,
        deployed=not outcome.reused,
        manifest_path=outcome.manifest_path,
        roles_file=str(roles_file),
    )
