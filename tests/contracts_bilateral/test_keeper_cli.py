"""``gridledger contract review|watch|notifications``: a change held inside gate closure and
approved by the OPERATOR (its bundle still verifies), the keeper recording a deviation
with no human, and each party's notification feed."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.bilateral.archive import build_bundle
from ledger.bilateral.bundle import verify_bundle
from node.contracts.keeper import watch_once
from node.contracts.notify import notifications
from tests.contracts_bilateral.conftest import SCHEDULE, Cli, Parties
from tests.contracts_bilateral.test_execution import escrow_of
from tests.trading.conftest import TAKING_CLOSES_IN_S, advance_time, block_time


def test_review_watch_and_notifications(parties: Parties, cli: Cli, tmp_path: Path) -> None:
    run = cli
    nid = parties.negotiate()
    no = parties.seller.register(nid, *parties.cosign(nid))
    m, pid = parties.market, parties.market.period.id
    agreement = parties.seller.agreement(nid)
    advance_time(m.ctx, TAKING_CLOSES_IN_S)  # period p's trading closed: gate closure

    # a co-signed amendment of period p is held; the OPERATOR approves it
    values = agreement.fields.model_dump(mode="json") | {"schedule_wh": [1_500_000, SCHEDULE[1]]}
    fields = tmp_path / "amended.json"
    fields.write_text(json.dumps(values))
    change = tmp_path / "change.json"
    args = ["--template", "wholesale", "--fields", str(fields), "-o", str(change)]
    run("amendment", str(no), *args, "-w", "node-1")
    run("cosign", str(change), "-w", "node-3")
    assert "held for OPERATOR review" in run("submit", str(change), "-w", "node-3")
    listed = json.loads(run("review", "list", "--json"))
    assert [(r["contract_no"], r["kind"], r["period_id"]) for r in listed] == [(no, 1, pid)]
    assert f"approved the change of contract {no}" in run("review", "approve", str(change))
    assert "no change waits for review" in run("review", "list")
    assert parties.buyer.client.schedule(no)[0].energy_wh == 1_500_000
    # the bundle finds the signatures of an approved amendment in the amend that held it
    built = build_bundle(parties.seller.client, no, "wholesale", values)
    assert len(built.amendments) == 1
    assert verify_bundle(built).contract_no == no

    # formed before (delivery has not started), dispatched 20 % short: the keeper flags it
    parties.buyer.approve_escrow(escrow_of(1_500_000))
    tid = parties.buyer.form_period(no, pid)
    assert watch_once(parties.retailer.client, m.operator) == []  # not dispatched yet
    m.settler.mark_dispatched(tid, 1_200_000, 300_000)
    assert "1 anomalies recorded" in run("watch", "-w", "node-4", "--rounds", "1")
    assert watch_once(parties.retailer.client, m.operator) == []  # recorded once

    feed = json.loads(run("notifications", "-w", "node-3", "--json"))
    kinds = [(n["kind"], n["period_id"]) for n in feed]
    assert kinds[:3] == [("anomaly", pid), ("review approved", 0), ("review held", pid)]
    assert "deviation recorded by " + parties.retailer.account.address in feed[0]["detail"]
    seller_feed = notifications(
        parties.seller.client, m.operator, parties.seller.account.address, block_time(m.ctx)
    )
    assert [n.kind for n in seller_feed[:3]] == [k for k, _ in kinds[:3]]
    assert (
        notifications(
            parties.retailer.client, m.operator, parties.retailer.account.address, block_time(m.ctx)
        )
        == []
    )
