"""Encrypted identity bundles: round trip, and refusal of every kind of tampering."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from ledger.db import Base, make_engine, session_factory
from ledger.errors import NotFoundError
from ledger.identity import (
    IdentityBundle,
    IdentityRecord,
    IdentityTamperedError,
    IdentityVault,
    demo_bundle,
    entity_hash,
    load_or_create_key,
    uscc_check_char,
)
from ledger.settings import Settings

NODE = "0x000000000000000000000000000000000000bEEF"


@pytest.fixture
def vault(tmp_path: Path, database_url: str) -> Iterator[IdentityVault]:
    """The vault on SQLite and on PostgreSQL."""
    engine = make_engine(Settings(), database_url)
    Base.metadata.create_all(engine)
    yield IdentityVault(session_factory(engine), load_or_create_key(tmp_path / "k" / "id.key"))
    engine.dispose()


def _set(vault: IdentityVault, record_id: str, **values: object) -> None:
    with vault._sessions.begin() as s:
        s.execute(
            update(IdentityRecord).where(IdentityRecord.record_id == record_id).values(**values)
        )


def test_round_trip_and_chain_check(vault: IdentityVault) -> None:
    bundle = demo_bundle(7)
    stored = vault.store(NODE, bundle)
    assert stored.bundle_hash == "0x" + bundle.bundle_hash.hex()
    assert vault.decrypt(stored.record_id) == bundle
    assert vault.verify(NODE, bundle.bundle_hash, entity_hash(bundle.uscc)) == bundle
    with vault._sessions() as s:
        raw = s.get(IdentityRecord, stored.record_id)
        assert raw is not None
        assert bundle.id_number.encode() not in raw.ciphertext
        assert bundle.bank_account.encode() not in raw.ciphertext


def test_tampered_ciphertext_is_refused(vault: IdentityVault) -> None:
    bundle = demo_bundle(7)
    stored = vault.store(NODE, bundle)
    with vault._sessions() as s:
        rec = s.get(IdentityRecord, stored.record_id)
        assert rec is not None
        flipped = bytes([rec.ciphertext[0] ^ 1]) + rec.ciphertext[1:]
    _set(vault, stored.record_id, ciphertext=flipped)
    with pytest.raises(IdentityTamperedError, match="tampered"):
        vault.verify(NODE, bundle.bundle_hash, bundle.entity_hash)


def test_ciphertext_moved_to_another_record_is_refused(vault: IdentityVault) -> None:
    a, b = demo_bundle(1), demo_bundle(2)
    ra, rb = vault.store(NODE, a), vault.store(NODE, b)
    with vault._sessions() as s:
        rec_a = s.get(IdentityRecord, ra.record_id)
        assert rec_a is not None
        nonce, ciphertext = rec_a.nonce, rec_a.ciphertext
    # B's row now carries A's ciphertext and hash: the record id (associated data) differs
    _set(vault, rb.record_id, nonce=nonce, ciphertext=ciphertext, bundle_hash=ra.bundle_hash)
    with pytest.raises(IdentityTamperedError):
        vault.decrypt(rb.record_id)


def test_bundle_not_matching_the_chain_is_refused(vault: IdentityVault, tmp_path: Path) -> None:
    real = demo_bundle(3)
    vault.store(NODE, real)
    # a forged bundle re-encrypted under the right key, its hash column rewritten to the
    # on-chain hash: decrypts, but does not hash to what the chain holds
    forged = real.model_copy(update={"bank_account": "62220000000000009999"})
    stored = vault.store(NODE, forged)
    _set(vault, stored.record_id, bundle_hash="0x" + real.bundle_hash.hex())
    with pytest.raises(IdentityTamperedError):
        vault.decrypt(stored.record_id)
    with pytest.raises(NotFoundError):
        vault.verify(NODE, b"\x01" * 32, real.entity_hash)
    # a record that matches the identity hash but not the on-chain entity
    other = demo_bundle(4)
    vault.store(NODE, other)
    with pytest.raises(IdentityTamperedError, match="USCC"):
        vault.verify(NODE, other.bundle_hash, real.entity_hash)


def test_wrong_key_is_refused(vault: IdentityVault, tmp_path: Path) -> None:
    bundle = demo_bundle(5)
    stored = vault.store(NODE, bundle)
    other = IdentityVault(vault._sessions, load_or_create_key(tmp_path / "other.key"))
    with pytest.raises(IdentityTamperedError):
        other.decrypt(stored.record_id)


def test_key_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "v" / "id.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_bundle_validation() -> None:
    good = demo_bundle(1)
    assert good.uscc[17] == uscc_check_char(good.uscc[:17])
    assert good.salt != demo_bundle(1).salt  # a fresh salt: the hash reveals nothing
    data = good.model_dump()
    with pytest.raises(ValueError, match="check character"):
        IdentityBundle(**{**data, "uscc": good.uscc[:17] + ("0" if good.uscc[17] != "0" else "1")})
    with pytest.raises(ValueError, match="id_number"):
        IdentityBundle(**{**data, "id_number": "123"})
    with pytest.raises(ValueError, match="legal_representative"):
        IdentityBundle(**{**data, "legal_representative": ""})
    assert entity_hash(good.uscc.lower()) == good.entity_hash
