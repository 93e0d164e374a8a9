"""SIGKILL the indexer (a real ``gridledger gateway index`` process) and restart it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from gateway.db import make_engine
from gateway.tables import Checkpoint
from ledger.clients.access import MarketAccessClient
from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.web3factory import make_web3
from tests.conftest import make_settings
from tests.gateway.conftest import dump, node

GRIDLEDGER = str(Path(sys.executable).with_name("gridledger"))


def _env(data_dir: Path, rpc_url: str, db: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GRIDLEDGER_RPC_URL=rpc_url,
        GRIDLEDGER_DATA_DIR=str(data_dir),
        GRIDLEDGER_DATABASE_URL=db,
        GRIDLEDGER_GATEWAY_CHUNK_BLOCKS="1",
        GRIDLEDGER_GATEWAY_CONFIRMATIONS="0",
        GRIDLEDGER_DEMO_KEYS="1",
    )
    return env


def _checkpoint(db: str) -> int | None:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            try:
                return conn.execute(select(Checkpoint.block_number)).scalar()
            except Exception:  # noqa: BLE001 - the schema may not exist yet
                return None
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkill_at_random_moments_then_restart_equals_an_uninterrupted_run(
    ctx: LedgerContext,
    admin: LocalAccount,
    tmp_path: Path,
    database_url: str,
    other_database_url: str,
) -> None:
    """On SQLite and on PostgreSQL (fresh databases: the crashed one and a reference)."""
    data_dir = tmp_path / "data"
    rpc_url = ctx.settings.rpc_url
    settings = make_settings(data_dir, rpc_url)
    suite_ctx = LedgerContext(settings, w3=make_web3(settings))
    deploy_suite(suite_ctx, admin, fresh=True)
    access = suite_ctx.client(MarketAccessClient, admin)
    for n in range(40):
        access.grant_role("OPERATOR", node(n))
        if n % 3 == 0:
            access.revoke_role("OPERATOR", node(n))
    head = ctx.w3.eth.block_number

    reference = other_database_url
    subprocess.run(
        [GRIDLEDGER, "gateway", "index", "--once"],
        env=_env(data_dir, rpc_url, reference),
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert _checkpoint(reference) == head

    crashed = database_url
    rng = random.Random(20260101)
    kills_mid_run = 0
    progress: list[int | None] = []
    for _ in range(8):
        proc = subprocess.Popen(
            [GRIDLEDGER, "gateway", "index", "--poll-interval", "0.2"],
            env=_env(data_dir, rpc_url, crashed),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # wait until this run has committed something (start-up takes seconds), then kill
        # it at a random moment while it indexes
        before = progress[-1] if progress else None
        deadline = time.monotonic() + 60
        while _checkpoint(crashed) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reached = _checkpoint(crashed)
        progress.append(reached)
        if reached is not None and reached < head:
            kills_mid_run += 1
        if kills_mid_run >= 4 or reached == head:
            break
    subprocess.run(
        [GRIDLEDGER, "gateway", "index", "--once"],
        env=_env(data_dir, rpc_url, crashed),
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert kills_mid_run >= 3, progress
    assert _checkpoint(crashed) == head
    engines = [make_engine(crashed), make_engine(reference)]
    try:
        assert dump(engines[0]) == dump(engines[1])
    finally:
        for engine in engines:
            engine.dispose()
