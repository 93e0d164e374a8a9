"""Shared fixtures: a real anvil per test session, the deployed suite, snapshot/revert.

Tests that touch the chain take ``ctx`` (a :class:`LedgerContext` on the session chain);
each such test runs between ``evm_snapshot`` and ``evm_revert`` so no test sees another's
state. The suite is deployed once per session with THROWAWAY demo keys.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger import compiler
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.local import anvil_command, free_port
from ledger.keystore import DEMO_ROLE_WALLETS, demo_account
from ledger.manifest import Manifest
from ledger.settings import Settings
from ledger.web3factory import is_reachable, make_web3
from tests.databases import database_url, other_database_url, pg_databases

__all__ = [
    "database_url",
    "other_database_url",
    "pg_databases",
]  # fixtures on SQLite and PostgreSQL (re-exported)


def make_settings(data_dir: Path, rpc_url: str, **overrides: object) -> Settings:
    """Test settings: an explicit data dir and RPC URL, demo keys, cheap scrypt."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "GRIDLEDGER_RPC_URL": rpc_url,
        "demo_keys": True,
        "keystore_scrypt_n": 1024,
        "admin_transfer_delay_s": 3600,
        "tx_timeout_s": 30.0,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture(scope="session")
def build() -> compiler.BuildResult:
    return compiler.build(Settings())


@pytest.fixture(scope="session")
def anvil_url(build: compiler.BuildResult) -> Iterator[str]:
    """A fresh in-memory anvil on a free port for the whole session."""
    port = free_port()
    settings = Settings(rpc_port=port)
    cmd = anvil_command(settings, port, state_file=None, block_time_s=None)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    deadline = time.monotonic() + 30
    while not is_reachable(w3):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("anvil did not start")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory, anvil_url: str) -> Settings:
    return make_settings(tmp_path_factory.mktemp("data"), anvil_url)


@pytest.fixture(scope="session")
def admin() -> LocalAccount:
    return demo_account(DEMO_ROLE_WALLETS["admin"])


@pytest.fixture(scope="session")
def deployed(session_settings: Settings, admin: LocalAccount) -> Manifest:
    ctx = LedgerContext(session_settings, w3=make_web3(session_settings))
    return deploy_suite(ctx, admin).manifest


@pytest.fixture
def ctx(session_settings: Settings, deployed: Manifest) -> Iterator[LedgerContext]:
    """A fresh context on the session chain, reverted after the test."""
    context = LedgerContext(session_settings, w3=make_web3(session_settings), manifest=deployed)
    snapshot = context.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield context
    context.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    context.nonces.reset()


def role_account(role: str) -> LocalAccount:
    """The demo wallet that holds ``role`` (e.g. ``OPERATOR`` -> wallet ``operator``)."""
    return demo_account(DEMO_ROLE_WALLETS[role.lower().replace("_", "-")])
