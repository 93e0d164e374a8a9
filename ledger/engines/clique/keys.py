"""Validator keys: a node's encrypted signer and standby keystores, its p2p node key, and
reading addresses back from a keystore directory."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address

from ledger.engines.clique.files import write_private
from ledger.engines.clique.p2p import enode_id
from ledger.engines.clique.state import NodeState

#: scrypt cost of the validator keystores (geth's "standard" cost).
DEFAULT_SCRYPT_N = 262_144


def create_node_keys(node_dir: Path, index: int, *, scrypt_n: int) -> NodeState:
    """Create ``node_dir`` with a fresh validator key and standby key (encrypted with a
    random password kept in ``password.txt``) and a p2p ``nodekey``; return the node's
    record (ports are assigned when the network starts)."""
    node_dir.mkdir(mode=0o700, parents=True)
    account = Account.create()
    standby = Account.create()
    password = secrets.token_urlsafe(32)
    write_private(node_dir / "password.txt", password + "\n")
    (node_dir / "keystore").mkdir(mode=0o700)
    for key in (account, standby):
        keystore = Account.encrypt(key.key, password, kdf="scrypt", iterations=scrypt_n)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
        write_private(
            node_dir / "keystore" / f"UTC--{stamp}--{key.address.lower()[2:]}",
            json.dumps(keystore),
        )
    node_key = secrets.token_bytes(32).hex()
    write_private(node_dir / "nodekey", node_key + "\n")
    return NodeState(
        index=index,
        name=f"node{index}",
        validator=account.address,
        standby=standby.address,
        http_port=0,
        p2p_port=0,
        authrpc_port=0,
        enode=enode_id(node_key),
    )


def keystore_addresses(directory: Path) -> list[str]:
    """The addresses of the Web3 Secret Storage files in ``directory`` (read from their
    plaintext ``address`` field; other files are skipped)."""
    found: list[str] = []
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        address = data.get("address") if isinstance(data, dict) else None
        if isinstance(address, str):
            candidate = address if address.startswith("0x") else "0x" + address
            if is_address(candidate):
                checksum = str(to_checksum_address(candidate))
                if checksum not in found:
                    found.append(checksum)
    return found
