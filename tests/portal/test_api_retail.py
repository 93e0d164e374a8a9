"""The participant API's retail routes (tests/retail's fixture: ``buyer`` the consumer,
``buyer2`` the retailer): bills before and after the issue file is loaded, a partial
payment with exact token amounts, a forged issue file refused, a retailer's 404."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger.keystore import Keystore
from node.portal.app import PortalConfig, create_app
from node.portal.cli import app as portal_cli
from node.portal.keys import keys_path
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import PASSWORD
from tests.portal.test_retail import MONTH, TOTAL_FEN, issue_bills
from tests.retail.onchain_fixtures import Retail, market, retail

__all__ = ["market", "retail"]


@contextmanager
def api_of(
    retail: Retail, account: LocalAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    """The API of ``account``'s organisation (wallet ``org``) with a read + retail key."""
    ctx = retail.ctx
    keystore = Keystore(tmp_path / f"keystore-{account.address}", scrypt_n=1024)
    keystore.create("org", PASSWORD, private_key=account.key)
    ctx.keystore = keystore  # type: ignore[misc]
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_DIR", str(keystore.directory))
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_PASSWORD", PASSWORD)
    issued = CliRunner().invoke(
        portal_cli, ["keys", "issue", "-w", "org", "--scope", "read", "--scope", "retail"]
    )
    assert issued.exit_code == 0, issued.output
    key = issued.output.strip().splitlines()[-1]
    app = create_app(ctx, PortalConfig(wallet="org"), api_account=keystore.load("org", PASSWORD))
    try:
        with (
            LiveServer(app) as server,
            httpx.Client(
                base_url=server.url + "/api/v1", timeout=60, headers={"X-API-Key": key}
            ) as client,
        ):
            yield client
    finally:
        shutil.rmtree(keys_path(ctx.settings.data_dir, "org").parent, ignore_errors=True)


def test_consumer_loads_the_issue_file_and_pays_part_of_its_bill(
    retail: Retail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package_id = retail.publish(retail.retailer)
    retail.bind(package_id, retail.agency)
    batch = issue_bills(retail)
    token, payer, payee = retail.consumer.token, retail.consumer.address, retail.retailer.address
    before = (token.balance_of(payer), token.balance_of(payee))
    with api_of(retail, retail.consumer.account, tmp_path, monkeypatch) as api:
        (row,) = api.get("/retail/bills").json()
        assert (row["batch_id"], row["month"], row["status"]) == (
            batch.batch_id, MONTH, "issue file needed",
        )  # fmt: skip
        r = api.post("/retail/pay", json={"batch_id": batch.batch_id, "amount_fen": 1})
        assert r.status_code == 422
        assert r.json() == {"detail": f"load the issue file of batch {batch.batch_id} first"}
        forged = batch.model_dump(mode="json")
        forged["bills"][0]["total_fen"] += 1
        r = api.post("/retail/issue", json=forged)
        assert r.status_code == 422, r.text
        r = api.post("/retail/issue", json=batch.model_dump(mode="json"))
        assert r.status_code == 200, r.text
        assert (r.json()["total_fen"], r.json()["unpaid_fen"]) == (TOTAL_FEN, TOTAL_FEN)
        r = api.post("/retail/pay", json={"batch_id": batch.batch_id, "amount_fen": 100_000})
        assert r.status_code == 200, r.text
        assert r.json()["signed"] is True
        (row,) = api.get("/retail/bills").json()
        assert (row["status"], row["paid_fen"], row["unpaid_fen"]) == (
            "partly paid", 100_000, TOTAL_FEN - 100_000,
        )  # fmt: skip
        r = api.post("/retail/pay", json={"batch_id": batch.batch_id, "amount_fen": 0})
        assert r.status_code == 422
        assert r.json()["detail"].startswith("amount_fen: Input should be greater than")
    after = (token.balance_of(payer), token.balance_of(payee))
    assert after == (before[0] - 100_000, before[1] + 100_000)


def test_retail_bills_are_for_consumers(
    retail: Retail, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api_of(retail, retail.retailer.account, tmp_path, monkeypatch) as api:
        r = api.get("/retail/bills")
        assert (r.status_code, r.json()) == (
            404, {"detail": "retail bills are for registered consumer nodes"},
        )  # fmt: skip
