"""``gridledger portal serve`` refuses to start without the organisation's keystore or,
unless ``--insecure-http``, without the portal's TLS certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.errors import KeystoreError
from ledger.keystore import Keystore
from ledger.tls import TlsError
from node.portal.cli import app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path))
    return tmp_path


def test_serve_needs_the_keystore_and_a_certificate(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "-w", "acme"])
    assert isinstance(result.exception, KeystoreError)
    assert "no wallet 'acme'" in str(result.exception)
    Keystore(data_dir / "keystore", scrypt_n=1024).create("acme", "pw")
    result = runner.invoke(app, ["serve", "-w", "acme"])
    assert isinstance(result.exception, TlsError)
    assert "portal certificate" in str(result.exception)
