from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.errors import KeystoreError
from ledger.keystore import Keystore, demo_account, demo_wallet_index, resolve_password
from ledger.settings import Settings


def test_create_writes_scrypt_keystore_with_mode_0600(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "ks", scrypt_n=1024)
    info = store.create("alice", "correct horse")
    path = Path(info.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["version"] == 3
    assert data["crypto"]["kdf"] == "scrypt"
    assert data["crypto"]["kdfparams"]["n"] == 1024
    assert store.load("alice", "correct horse").address == info.address
    assert [w.name for w in store.list()] == ["alice"]


def test_wrong_password_is_refused(tmp_path: Path) -> None:
    store = Keystore(tmp_path, scrypt_n=1024)
    store.create("bob", "right")
    with pytest.raises(KeystoreError, match="wrong password for wallet 'bob'"):
        store.load("bob", "wrong")


def test_duplicate_and_invalid_names_are_refused(tmp_path: Path) -> None:
    store = Keystore(tmp_path, scrypt_n=1024)
    store.create("carol", "pw")
    with pytest.raises(KeystoreError, match="already exists"):
        store.create("carol", "pw")
    with pytest.raises(KeystoreError, match="invalid wallet name"):
        store.create("../evil", "pw")
    with pytest.raises(KeystoreError, match="no wallet 'dave'"):
        store.load("dave", "pw")


def test_password_sources_in_order(tmp_path: Path) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text("from-file\nignored\n")
    assert resolve_password(Settings(keystore_password="from-env")) == "from-env"
    assert resolve_password(Settings(keystore_password_file=pw_file)) == "from-file"
    assert resolve_password(Settings(), prompt=lambda: "typed") == "typed"
    with pytest.raises(KeystoreError, match="no keystore password"):
        resolve_password(Settings())


def test_demo_wallets_are_fixed_derivations() -> None:
    assert demo_wallet_index("admin") == 0
    assert demo_wallet_index("node-7") == 1007
    assert demo_account(0).address == demo_account(0).address
    assert demo_account(0).address != demo_account(1).address
    with pytest.raises(KeystoreError, match="no demo wallet"):
        demo_wallet_index("mallory")
