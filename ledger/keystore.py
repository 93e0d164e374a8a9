"""Encrypted keystores (Web3 Secret Storage v3, scrypt) and password sources.

Keys never leave their keystore file unencrypted. The application signs locally with
the decrypted :class:`~eth_account.signers.local.LocalAccount` and never asks a node to
sign (no ``eth_sendTransaction``).
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from pydantic import BaseModel

from ledger.errors import KeystoreError
from ledger.settings import DEMO_MNEMONIC, Settings

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

Account.enable_unaudited_hdwallet_features()


class WalletInfo(BaseModel):
    """A keystore as listed (no secret material)."""

    name: str
    address: str
    path: str


@functools.cache
def demo_account(index: int) -> LocalAccount:
    """THROWAWAY key ``index`` derived from the public demo mnemonic (demo and tests only)."""
    account: LocalAccount = Account.from_mnemonic(
        DEMO_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


def resolve_password(settings: Settings, prompt: Callable[[], str] | None = None) -> str:
    """The keystore password: env var, else password file, else ``prompt``.

    Raises:
        KeystoreError: No source gave a password.
    """
    if settings.keystore_password is not None:
        return settings.keystore_password.get_secret_value()
    if settings.keystore_password_file is not None:
        refuse_world_readable(settings.keystore_password_file, "password file")
        try:
            lines = settings.keystore_password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise KeystoreError(f"cannot read password file: {exc}") from exc
        if not lines or not lines[0]:
            raise KeystoreError(f"password file {settings.keystore_password_file} is empty")
        return lines[0]
    if prompt is not None:
        return prompt()
    raise KeystoreError(
        "no keystore password: set GRIDLEDGER_KEYSTORE_PASSWORD or "
        "GRIDLEDGER_KEYSTORE_PASSWORD_FILE, or run interactively"
    )


def refuse_world_readable(path: Path, what: str) -> None:
    """Refuse a secret file every local user may read (``chmod 600`` it).

    Raises:
        KeystoreError: ``path`` grants read permission to others (``o+r``).
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # a missing file is reported by the reader
    if mode & 0o004:
        raise KeystoreError(
            f"{what} {path} is readable by every user (mode {mode & 0o777:04o}): "
            f"run `chmod 600 {path}`"
        )


class Keystore:
    """A directory of ``<name>.json`` Web3 Secret Storage files, each mode 0600."""

    def __init__(self, directory: Path, scrypt_n: int = 262_144) -> None:
        self._dir = directory
        self._scrypt_n = scrypt_n

    @classmethod
    def from_settings(cls, settings: Settings) -> Keystore:
        return cls(settings.keystore_dir, settings.keystore_scrypt_n)

    @property
    def directory(self) -> Path:
        return self._dir

    def path(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise KeystoreError(
                f"invalid wallet name {name!r}: use lowercase letters, digits, '.', '_', '-'"
            )
        return self._dir / f"{name}.json"

    def create(self, name: str, password: str, private_key: bytes | None = None) -> WalletInfo:
        """Write a new encrypted keystore; a fresh random key unless one is given."""
        if not password:
            raise KeystoreError("the keystore password must not be empty")
        path = self.path(name)
        account: LocalAccount = (
            Account.from_key(private_key) if private_key is not None else Account.create()
        )
        encrypted = Account.encrypt(account.key, password, kdf="scrypt", iterations=self._scrypt_n)
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise KeystoreError(f"wallet {name!r} already exists at {path}") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(encrypted, handle)
        return WalletInfo(name=name, address=account.address, path=str(path))

    def list(self) -> list[WalletInfo]:
        """Every keystore in the directory, by name."""
        if not self._dir.is_dir():
            return []
        return [self.info(p.stem) for p in sorted(self._dir.glob("*.json"))]

    def info(self, name: str) -> WalletInfo:
        """Name, address and path of wallet ``name`` (no password needed)."""
        data = self._read(name)
        address = data.get("address")
        if not isinstance(address, str):
            raise KeystoreError(f"keystore {name!r} has no address field")
        return WalletInfo(
            name=name, address=to_checksum_address(address), path=str(self.path(name))
        )

    def load(self, name: str, password: str) -> LocalAccount:
        """Decrypt wallet ``name``.

        Raises:
            KeystoreError: Missing file, or the password does not open it.
        """
        data = self._read(name)
        try:
            key = Account.decrypt(data, password)
        except ValueError as exc:
            raise KeystoreError(f"wrong password for wallet {name!r}") from exc
        account: LocalAccount = Account.from_key(key)
        return account

    def _read(self, name: str) -> dict[str, object]:
        path = self.path(name)
        refuse_world_readable(path, "keystore")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KeystoreError(
                f"no wallet {name!r} in {self._dir}: create it with `gridledger node wallet create`"
            ) from exc
        except (OSError, ValueError) as exc:
            raise KeystoreError(f"unreadable keystore {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise KeystoreError(f"keystore {path} is not a JSON object")
        return data


#: Fixed derivation indices of the demo's THROWAWAY role wallets.
DEMO_ROLE_WALLETS: dict[str, int] = {
    "admin": 0,
    "operator": 1,
    "verifier": 2,
    "regulator": 3,
    "dispatch": 4,
    "meter-oracle": 5,
    "credit-agency": 6,
    "clearing-bank": 7,
}
#: Demo market nodes are ``node-<n>``, derived at index ``DEMO_NODE_BASE + n``.
DEMO_NODE_BASE = 1000


def demo_wallet_index(name: str) -> int:
    """The derivation index of demo wallet ``name`` (role names or ``node-<n>``)."""
    if name in DEMO_ROLE_WALLETS:
        return DEMO_ROLE_WALLETS[name]
    if name.startswith("node-") and name[5:].isdigit():
        return DEMO_NODE_BASE + int(name[5:])
    raise KeystoreError(
        f"no demo wallet {name!r}: demo wallets are {', '.join(DEMO_ROLE_WALLETS)} and node-<n>"
    )
