"""``gridledger gateway|oracle keys``: random keys with roles in the keys file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ledger.apikeys import add_key, list_keys, revoke_key
from ledger.errors import ConfigError
from ledger.webauth import ApiKeys, Role, key_id


def test_add_list_revoke_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    auditor = add_key(path, Role.auditor)
    regulator = add_key(path, Role.regulator)
    assert auditor != regulator
    assert len(auditor) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {auditor: "auditor", regulator: "regulator"}
    keys = ApiKeys.load(path, setting="GRIDLEDGER_GATEWAY_API_KEYS_FILE")
    assert keys.role(auditor) is Role.auditor
    assert {(k.key_id, k.role) for k in list_keys(path)} == {
        (key_id(auditor), Role.auditor),
        (key_id(regulator), Role.regulator),
    }
    gone = revoke_key(path, key_id(auditor))
    assert gone.role is Role.auditor
    assert json.loads(path.read_text()) == {regulator: "regulator"}
    revoke_key(path, regulator)
    assert list_keys(path) == []
    with pytest.raises(ConfigError, match="no key"):
        revoke_key(path, regulator)
    with pytest.raises(ConfigError, match="public needs no key"):
        add_key(path, Role.public)
