from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.errors import ConfigError, KeystoreError
from ledger.keystore import Keystore, demo_account, demo_wallet_index, resolve_password
from ledger.settings import DEMO_MIN_SCRYPT_N, MIN_SCRYPT_N, Settings
from tests.test_cli import run_cli


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
    pw_file.chmod(0o600)
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


def test_scrypt_cost_below_the_floor_is_refused() -> None:
    """N=2 was accepted silently; the floor is 2^14, 2^10 with THROWAWAY demo keys."""
    assert MIN_SCRYPT_N == 2**14
    assert DEMO_MIN_SCRYPT_N == 2**10
    for n in (2, 1024, 8192):
        with pytest.raises(ConfigError, match=f"SCRYPT_N={n} is below the minimum 16384"):
            Settings(keystore_scrypt_n=n, demo_keys=False)
    with pytest.raises(ConfigError, match="SCRYPT_N=2 is below the minimum 1024"):
        Settings(keystore_scrypt_n=2, demo_keys=True)
    with pytest.raises(ConfigError, match="SCRYPT_N=20000 is not a power of two"):
        Settings(keystore_scrypt_n=20_000)
    assert Settings(keystore_scrypt_n=2**14, demo_keys=False).keystore_scrypt_n == 16384
    assert Settings(keystore_scrypt_n=1024, demo_keys=True).keystore_scrypt_n == 1024


def test_scrypt_floor_applies_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDLEDGER_KEYSTORE_SCRYPT_N", "2")
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "false")
    with pytest.raises(ConfigError, match="below the minimum 16384"):
        Settings()


def test_world_readable_keystore_and_password_file_are_refused(tmp_path: Path) -> None:
    store = Keystore(tmp_path / "ks", scrypt_n=1024)
    info = store.create("erin", "pw")
    Path(info.path).chmod(0o644)
    with pytest.raises(KeystoreError, match=r"keystore .*erin.json is readable by every user"):
        store.load("erin", "pw")
    with pytest.raises(KeystoreError, match=r"mode 0644.*chmod 600"):
        store.info("erin")
    Path(info.path).chmod(0o640)  # group-readable stays allowed
    assert store.load("erin", "pw").address == info.address
    pw_file = tmp_path / "pw"
    pw_file.write_text("secret\n")
    pw_file.chmod(0o604)
    with pytest.raises(KeystoreError, match=r"password file .* is readable by every user"):
        resolve_password(Settings(keystore_password_file=pw_file))
    pw_file.chmod(0o600)
    assert resolve_password(Settings(keystore_password_file=pw_file)) == "secret"


def test_cli_refuses_a_weak_scrypt_cost_and_a_world_readable_keystore_in_one_line(
    tmp_path: Path,
) -> None:
    env = {
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_KEYSTORE_PASSWORD": "s3cret",
        "GRIDLEDGER_KEYSTORE_SCRYPT_N": "2",
    }
    weak = run_cli(["node", "wallet", "create", "gen-1"], env)
    assert weak.returncode == 1
    assert weak.stderr.strip() == (
        "error: GRIDLEDGER_KEYSTORE_SCRYPT_N=2 is below the minimum 16384 (2^14)"
    )
    env["GRIDLEDGER_KEYSTORE_SCRYPT_N"] = "16384"
    assert run_cli(["node", "wallet", "create", "gen-1"], env).returncode == 0
    keystore = tmp_path / "keystore" / "gen-1.json"
    keystore.chmod(0o644)
    shown = run_cli(["node", "wallet", "show", "gen-1", "--unlock"], env)
    assert shown.returncode == 1
    assert shown.stderr.strip() == (
        f"error: keystore {keystore} is readable by every user (mode 0644): "
        f"run `chmod 600 {keystore}`"
    )
