"""Public display names of market nodes (``setDisplayName``), and identity records that
exist only for registrations that happened (a refused apply leaves none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.clients.registry import NodeKind, Side
from ledger.errors import ChainNotRunningError, ContractRevertError, ValidationError
from ledger.identity import IdentityVault, demo_bundle
from ledger.identity_audit import Reader
from node.registry.participant import NodeProfile, Verifier
from tests.conftest import role_account
from tests.contracts.conftest import WIND, Market, addr
from tests.contracts.helpers import reverts


@pytest.fixture
def vault(market: Market, tmp_path: Path) -> Iterator[IdentityVault]:
    settings = market.ctx.settings.model_copy(
        update={"database_url_override": f"sqlite:///{tmp_path}/vault.db"}
    )
    vault = IdentityVault.from_settings(settings, key_file=tmp_path / "identity.key")
    yield vault
    vault.close()


def test_display_name_set_by_the_node_and_by_the_verifier(market: Market) -> None:
    node = market.node(1)
    result = node.apply(WIND, demo_bundle(1), display_name="  Bohai Wind Farm ")
    reg = market.verifier
    assert reg.display_name_of(node.address) == "Bohai Wind Farm"
    receipt = node.registry.set_display_name(node.address, "Bohai Wind 1")
    (ev,) = reg.events(receipt, "DisplayNameSet")
    assert dict(ev["args"]) == {
        "node": node.address,
        "name": "Bohai Wind 1",
        "setBy": node.address,
    }
    assert result.node == node.address
    verifier = role_account("VERIFIER")
    receipt = Verifier(market.ctx, verifier).set_display_name(node.address, "渤海风电一号")
    (ev,) = reg.events(receipt, "DisplayNameSet")
    assert dict(ev["args"]) == {
        "node": node.address,
        "name": "渤海风电一号",
        "setBy": verifier.address,
    }
    assert reg.display_name_of(node.address) == "渤海风电一号"


def test_display_name_errors(market: Market) -> None:
    node = market.apply(1)
    other = market.node(2)
    with reverts("NotNodeOrVerifier", caller=other.address, node=node.address):
        other.registry.set_display_name(node.address, "Not mine")
    with reverts("InvalidDisplayName", node=node.address, lengthBytes=0, maxBytes=64):
        node.registry.set_display_name(node.address, "")
    with reverts("InvalidDisplayName", node=node.address, lengthBytes=65, maxBytes=64):
        node.registry.set_display_name(node.address, "x" * 65)
    # 22 three-byte characters are 66 bytes: the bound is bytes, not characters
    with reverts("InvalidDisplayName", node=node.address, lengthBytes=66, maxBytes=64):
        node.registry.set_display_name(node.address, "风" * 22)
    node.registry.set_display_name(node.address, "x" * 64)
    with reverts("NodeNotFound", node=other.address):
        other.registry.set_display_name(other.address, "Never applied")
    with pytest.raises(ValidationError, match="1-64 bytes"):
        other.apply(WIND, demo_bundle(2), display_name="y" * 65)
    assert market.verifier.status_of(other.address) == 0  # checked before anything is sent


def test_a_refused_apply_leaves_no_identity_record(market: Market, vault: IdentityVault) -> None:
    node = market.node(1)
    wrong = NodeProfile(kind=NodeKind.CONSUMER, side=Side.SELLER, region=3)
    with pytest.raises(ContractRevertError) as info:
        node.apply(wrong, demo_bundle(1), vault)
    assert info.value.name == "WrongSide"
    assert vault.records_of(node.address) == []
    applied = node.apply(WIND, demo_bundle(1), vault)
    assert vault.records_of(node.address) == [applied.record_id]
    # the same entity under another address is refused: again no record
    other = market.node(2)
    with pytest.raises(ContractRevertError) as info:
        other.apply(WIND, demo_bundle(1), vault)
    assert (info.value.name, info.value.arguments["node"]) == (
        "EntityAlreadyRegistered",
        node.address,
    )
    assert vault.records_of(other.address) == []
    # a refused change request keeps no record of the new bundle either
    with pytest.raises(ContractRevertError):
        node.request_change(region=40, bundle=demo_bundle(1, name="Renamed Co."), vault=vault)
    assert vault.records_of(node.address) == [applied.record_id]


def test_verifier_reads_are_logged(market: Market, vault: IdentityVault) -> None:
    node = market.node(1)
    applied = node.apply(WIND, demo_bundle(1), vault)
    verifier = Verifier(market.ctx, role_account("VERIFIER"), vault)
    info, bundle = verifier.show(node.address, "onboarding check")
    assert bundle == demo_bundle(1).model_copy(update={"salt": bundle.salt})
    assert info.node == node.address
    verifier.approve(node.address)
    entries = vault.audit.entries()
    who = addr(role_account("VERIFIER"))
    assert [
        (e.seq, e.reader, e.role, e.address, e.record_id, e.reason, e.outcome) for e in entries
    ] == [
        (1, who, "verifier", node.address, applied.record_id, "onboarding check", "read"),
        (2, who, "verifier", node.address, applied.record_id, "application review", "read"),
    ]
    assert vault.audit.verify().ok
    with pytest.raises(ValidationError, match="reason"):
        vault.read(node.address, reader=Reader(identity="x", role="verifier"), reason=" ")
    assert len(vault.audit.entries()) == 2


def test_a_record_is_kept_when_the_chain_may_hold_it(market: Market, vault: IdentityVault) -> None:
    node = market.node(1).address

    def unreachable() -> bool:
        raise ChainNotRunningError("rpc down")

    for on_chain in (lambda: True, unreachable):
        with pytest.raises(TimeoutError), vault.staged(node, demo_bundle(1), on_chain) as kept:
            raise TimeoutError("receipt not seen in time")
        assert kept.record_id in vault.records_of(node)
    with pytest.raises(TimeoutError), vault.staged(node, demo_bundle(1), lambda: False) as gone:
        raise TimeoutError("refused")
    assert gone.record_id not in vault.records_of(node)
    assert len(vault.records_of(node)) == 2
