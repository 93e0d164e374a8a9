"""OPERATOR review inside gate closure: a co-signed change touching a period whose trading
closed (and whose delivery has not ended) waits for the OPERATOR; outside it applies at once."""

from __future__ import annotations

import pytest

from ledger.bilateral.typed import digest
from ledger.clients.bilateral import ChangeKind, ContractStatus
from ledger.errors import ContractRevertError
from tests.contracts_bilateral.conftest import SCHEDULE, Parties
from tests.contracts_bilateral.test_execution import AGREED, registered
from tests.trading.conftest import TAKING_CLOSES_IN_S, advance_time


def _close_gate(parties: Parties) -> None:
    advance_time(parties.market.ctx, TAKING_CLOSES_IN_S)


def test_an_amendment_inside_gate_closure_waits_for_the_operator(parties: Parties) -> None:
    no = registered(parties)
    pid = parties.market.period.id
    _close_gate(parties)
    client = parties.buyer.client

    # the unopened period p+1 is outside gate closure: applies at once
    later = parties.fields(schedule_wh=[SCHEDULE[0], 1_000_000], price_fen_per_mwh=AGREED)
    amendment, _ = parties.seller.amendment(no, later, "wholesale")
    sigs = parties.seller.sign_message(no, amendment), parties.buyer.sign_message(no, amendment)
    assert client.events(client.amend(amendment, *sigs), "ContractAmended")

    # period p's quantity is inside gate closure: held
    inside = parties.fields(schedule_wh=[1_500_000, 1_000_000], price_fen_per_mwh=AGREED)
    amendment, _ = parties.seller.amendment(no, inside, "wholesale")
    sigs = parties.seller.sign_message(no, amendment), parties.buyer.sign_message(no, amendment)
    receipt = client.amend(amendment, *sigs)
    assert not client.events(receipt, "ContractAmended")
    (held,) = client.events(receipt, "ChangeHeld")
    change = digest(client.domain(), amendment)
    assert dict(held["args"]) == {
        "contractNo": no,
        "kind": ChangeKind.AMENDMENT,
        "sequence": 2,
        "digest": bytes.fromhex(change[2:]),
        "periodId": pid,
        "gateClosedAt": parties.market.period.taking_closes_at,
        "by": parties.buyer.account.address,
    }
    pending = client.pending_change(no)
    assert (pending.kind, pending.sequence, pending.period_id, pending.digest) == (
        ChangeKind.AMENDMENT,
        2,
        pid,
        change,
    )
    assert client.schedule(no)[0].energy_wh == SCHEDULE[0]  # not applied

    # nothing else changes meanwhile; only the OPERATOR reviews
    termination = parties.buyer.termination(no, "while held")
    t_sigs = (
        parties.seller.sign_message(no, termination),
        parties.buyer.sign_message(no, termination),
    )
    with pytest.raises(ContractRevertError) as err:
        client.terminate(termination, *t_sigs)
    assert err.value.name == "ChangePending"
    assert err.value.arguments == {"contractNo": no, "digest": bytes.fromhex(change[2:])}
    with pytest.raises(ContractRevertError) as err:
        client.approve_amendment(amendment)
    assert err.value.name == "AccessControlUnauthorizedAccount"

    receipt = parties.operator.approve_amendment(amendment)
    (reviewed,) = parties.operator.events(receipt, "ChangeReviewed")
    assert (reviewed["args"]["approved"], reviewed["args"]["kind"]) == (True, 1)
    (amended,) = parties.operator.events(receipt, "ContractAmended")
    assert amended["args"]["sequence"] == 2
    assert [p.energy_wh for p in client.schedule(no)] == [1_500_000, 1_000_000]
    assert client.pending_change(no).kind == ChangeKind.NONE
    with pytest.raises(ContractRevertError) as err:
        parties.operator.approve_amendment(amendment)
    assert err.value.name == "NoPendingChange"


def test_a_termination_inside_gate_closure_is_approved_or_rejected(parties: Parties) -> None:
    no = registered(parties)
    _close_gate(parties)
    client = parties.buyer.client
    termination = parties.buyer.termination(no, "plant closure")
    sigs = parties.seller.sign_message(no, termination), parties.buyer.sign_message(no, termination)
    (held,) = client.events(client.terminate(termination, *sigs), "ChangeHeld")
    assert held["args"]["kind"] == ChangeKind.TERMINATION
    reason = "0x" + "ab" * 32
    receipt = parties.operator.reject_change(no, reason)
    (reviewed,) = parties.operator.events(receipt, "ChangeReviewed")
    assert (reviewed["args"]["approved"], reviewed["args"]["reasonHash"]) == (
        False,
        bytes.fromhex("ab" * 32),
    )
    assert client.contract_of(no).status == ContractStatus.ACTIVE
    assert client.contract_of(no).sequence == 0
    with pytest.raises(ContractRevertError) as err:
        parties.operator.approve_termination(termination)
    assert err.value.name == "NoPendingChange"
    assert err.value.arguments == {
        "contractNo": no,
        "pending": bytes(32),
        "given": bytes.fromhex(digest(client.domain(), termination)[2:]),
    }

    # co-signed again (same sequence, it was never applied), held, approved: it ends
    client.terminate(termination, *sigs)
    receipt = parties.operator.approve_termination(termination)
    (ended,) = parties.operator.events(receipt, "ContractTerminated")
    assert ended["args"]["untradedWh"] == sum(SCHEDULE)
    assert client.contract_of(no).status == ContractStatus.TERMINATED
