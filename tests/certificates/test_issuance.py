"""Issuance from verified generation: 1 certificate per MWh, remainder carried, once."""

from __future__ import annotations

import random

import pytest
from web3 import Web3

from ledger.clients.certificates import decode_token_id, token_id
from ledger.clients.registry import NodeKind
from ledger.errors import ContractRevertError
from tests.certificates.conftest import MWH, CertWorld

ZERO = "0x0000000000000000000000000000000000000000"


def test_token_id_layout(world: CertWorld) -> None:
    wind = world.p("wind").address
    tid = world.cert.token_id_of(int(NodeKind.WIND), wind, 7)
    assert tid == token_id(2, wind, 7) == (2 << 248) | (int(wind, 16) << 64) | 7
    assert decode_token_id(tid) == (2, Web3.to_checksum_address(wind), 7)
    assert tuple(world.cert.contract.functions.decodeTokenId(tid).call()) == (2, wind, 7)


def test_issue_exactly_once_per_mwh_across_period_boundaries(world: CertWorld) -> None:
    wind = world.p("wind").address
    # 2.5 MWh, 0.7 MWh, 0.8 MWh, 0 MWh, 3.0 MWh
    generation = {101: 2_500_000, 102: 700_000, 103: 800_000, 104: 0, 105: 3_000_000}
    expected = {  # period: (certificates, carried in, carried out)
        101: (2, 0, 500_000),
        102: (1, 500_000, 200_000),
        103: (1, 200_000, 0),
        104: (0, 0, 0),
        105: (3, 0, 0),
    }
    for period, export in generation.items():
        world.meter(period, {"wind": (0, export)})
    for period in generation:
        receipt = world.cert.issue(wind, period)
        certs, carried_in, carried_out = expected[period]
        tid = token_id(2, wind, period)
        (ev,) = world.cert.events(receipt, "CertificatesIssued")
        assert dict(ev["args"]) == {
            "tokenId": tid,
            "generator": wind,
            "period": period,
            "typeId": 2,
            "amount": certs,
            "generationWh": generation[period],
            "carriedInWh": carried_in,
            "carriedOutWh": carried_out,
        }
        transfers = world.cert.events(receipt, "TransferSingle")
        if certs:
            (t,) = transfers
            assert dict(t["args"]) == {
                "operator": world.cert.sender.address,
                "from": ZERO,
                "to": wind,
                "id": tid,
                "value": certs,
            }
        else:
            assert transfers == []
        assert world.cert.balance_of(wind, tid) == certs
        assert world.cert.issuance_of(wind, period).issued
        assert world.cert.carry_wh_of(wind) == carried_out
        with pytest.raises(ContractRevertError) as err:
            world.cert.issue(wind, period)
        assert err.value.name == "AlreadyIssued"
        assert err.value.arguments == {"generator": wind, "period": period}
    total = sum(generation.values())
    assert world.cert.processed_wh_of(wind) == total
    issued = sum(world.cert.issued_of(token_id(2, wind, p)) for p in generation)
    assert issued == 7 == total // MWH
    assert issued * MWH + world.cert.carry_wh_of(wind) == total
    # only token ids with certificates are listed
    assert world.cert.token_ids() == [token_id(2, wind, p) for p in (101, 102, 103, 105)]


def test_issue_out_of_order_and_random_sequences_never_lose_a_wh(world: CertWorld) -> None:
    solar = world.p("solar").address
    rng = random.Random(7)
    generation = {200 + i: rng.randrange(0, 2_600_000) for i in range(12)}
    for period, export in generation.items():
        world.meter(period, {"solar": (0, export)})
    order = list(generation)
    rng.shuffle(order)
    minted = 0
    for period in order:
        receipt = world.cert.issue(solar, period)
        minted += int(world.cert.events(receipt, "CertificatesIssued")[0]["args"]["amount"])
        processed = world.cert.processed_wh_of(solar)
        assert minted * MWH + world.cert.carry_wh_of(solar) == processed
    total = sum(generation.values())
    assert minted == total // MWH
    assert world.cert.carry_wh_of(solar) == total % MWH
    assert world.cert.totals().issued == minted


def test_issue_refuses_unverified_unknown_and_non_renewable(world: CertWorld) -> None:
    wind, coal = world.p("wind").address, world.p("coal").address
    with pytest.raises(ContractRevertError) as err:
        world.cert.issue(wind, 300)
    assert err.value.name == "GenerationNotVerified"
    assert err.value.arguments == {"generator": wind, "period": 300}
    world.meter(300, {"coal": (0, 5_000_000), "consumer": (9_000_000, 0)})
    with pytest.raises(ContractRevertError) as err:
        world.cert.issue(coal, 300)
    assert err.value.name == "NotRenewable"
    assert err.value.arguments == {"node": coal, "kind": int(NodeKind.COAL)}
    stranger = world.ctx.account("node-94").address
    with pytest.raises(ContractRevertError) as err:
        world.cert.issue(stranger, 300)
    assert err.value.name == "UnknownNode"
    assert err.value.arguments == {"node": stranger}


def test_revoke_by_verifier_only_with_reason(world: CertWorld) -> None:
    wind = world.p("wind").address
    world.meter(310, {"wind": (0, 4_000_000)})
    world.cert.issue(wind, 310)
    tid = token_id(2, wind, 310)
    with pytest.raises(ContractRevertError) as err:
        world.cert.revoke(wind, tid, 1, b"METER_FAULT".ljust(32, b"\x00"))
    assert err.value.name == "AccessControlUnauthorizedAccount"
    with pytest.raises(ContractRevertError) as err:
        world.verifier.revoke(wind, tid, 1, bytes(32))
    assert err.value.name == "ZeroReason"
    reason = b"METER_FAULT".ljust(32, b"\x00")
    receipt = world.verifier.revoke(wind, tid, 3, reason)
    (ev,) = world.cert.events(receipt, "CertificatesRevoked")
    assert dict(ev["args"]) == {
        "tokenId": tid,
        "holder": wind,
        "amount": 3,
        "reason": reason,
        "verifier": world.verifier.sender.address,
    }
    assert world.cert.balance_of(wind, tid) == 1
    assert world.cert.revoked_of(tid) == 3
    with pytest.raises(ContractRevertError) as err:
        world.verifier.revoke(wind, tid, 2, reason)
    assert err.value.name == "ERC1155InsufficientBalance"
    assert err.value.arguments == {"sender": wind, "balance": 1, "needed": 2, "tokenId": tid}
