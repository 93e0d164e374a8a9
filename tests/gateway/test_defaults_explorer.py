"""The explorer's default fund (``/defaults``, ``/defaults.csv``, ``/api/v1/defaults``)
over the waterfall of ``tests/settlement/test_defaults_waterfall`` on the test chain,
indexed: every figure (fund balance, reserve, unfunded shortfall, base, indexes, each
default's steps, each member's contribution, assessment owed, enforcement, recovery due)
is checked against the chain's views, before and after the defaulter repays."""

from __future__ import annotations

import csv
import io
import re

import httpx
from sqlalchemy import Engine

from gateway.defaults_web import fund_overview
from gateway.indexer import Indexer
from ledger.clients.defaults import DefaultFundClient
from tests.settlement.conftest import Flow
from tests.settlement.conftest import flow as flow  # the fixtures
from tests.settlement.test_defaults_recovery import _pay_assessment, _repay
from tests.settlement.test_defaults_waterfall import (
    ALLOCATED,
    BASE,
    BOND,
    DEBT,
    FUND,
    WALLET,
    _default,
    _fund,
    _members_and_replenish,
)
from tests.trading.conftest import market as market

Live = tuple[str, httpx.Client]


def _fen(text: str) -> int:
    return int(text.replace(",", ""))


def _cell(html: str, pattern: str) -> int:
    found = re.search(pattern + r"[^>]*>([0-9,]+)<", html)
    assert found is not None, pattern
    return _fen(found.group(1))


def _check(flow: Flow, fund: DefaultFundClient, gw_engine: Engine, client: httpx.Client) -> dict:
    """The projection, the page, the API and the CSV against the chain's views."""
    with gw_engine.connect() as conn:
        view = fund_overview(conn)
    state = view["state"]
    assert {k: state[k] for k in ("fund_fen", "reserve_fen", "unfunded_fen", "total_base_fen",
                                  "loss_index", "recovery_index")} == {
        "fund_fen": fund.fund_fen(),
        "reserve_fen": fund.recovery_reserve_fen(),
        "unfunded_fen": fund.unfunded_fen(),
        "total_base_fen": fund.total_base_fen(),
        "loss_index": str(fund.loss_index()),
        "recovery_index": str(fund.recovery_index()),
    }  # fmt: skip
    assert state["creditor"] == fund.creditor() == flow.balancing.address
    members = {m["node"]: m for m in view["members"]}
    assert set(members) == {flow.party(name).address for name in BASE}
    for node, m in members.items():
        assert (m["base_fen"], m["assessment_owed_fen"], m["enforced"], m["recovery_due_fen"]) == (
            fund.member_of(node).base_fen,
            fund.assessment_of(node),
            fund.assessment_enforced(node),
            fund.recovery_of(node),
        )
    html = client.get("/defaults").text
    for key, column in (("fund", "fund_fen"), ("reserve", "reserve_fen"),
                        ("unfunded", "unfunded_fen"), ("base", "total_base_fen")):  # fmt: skip
        assert _cell(html, f'id="{key}-fen"') == state[column]
    assert f'id="loss-index">{fund.loss_index()}<' in html
    for node, m in members.items():
        row = html[html.index(f'<tr data-node="{node}">') :]
        cols = (("base", "base_fen"), ("owed", "assessment_owed_fen"),
                ("paid", "assessments_paid_fen"), ("due", "recovery_due_fen"))  # fmt: skip
        for col, key in cols:
            assert _cell(row, f'data-col="{col}"') == m[key]
    api = client.get("/api/v1/defaults").json()
    assert api["state"]["fund_fen"] == state["fund_fen"]
    assert {m["node"]: m["assessment_owed_fen"] for m in api["members"]} == {
        n: m["assessment_owed_fen"] for n, m in members.items()
    }
    return view


def defaulted(flow: Flow) -> DefaultFundClient:
    """The waterfall's default; the seller paid its assessment, seller2's is enforced."""
    fund = _members_and_replenish(flow)
    _default(flow)
    _pay_assessment(flow, "seller")
    keeper = flow.ctx.client(DefaultFundClient, flow.ctx.account("node-93"))
    keeper.enforce_assessment(flow.party("seller2").address)
    return fund


def test_default_fund_page_matches_the_chain(
    flow: Flow, indexer: Indexer, gw_engine: Engine, live: Live
) -> None:
    _, client = live
    assert "No defaults yet" in client.get("/defaults").text
    fund = defaulted(flow)
    indexer.run_once()
    view = _check(flow, fund, gw_engine, client)
    buyer = flow.party("buyer").address
    (d,) = view["defaults"]
    steps = (d["from_credit_fen"], d["from_wallet_fen"], d["from_bond_fen"], d["debt_fen"],
             d["from_fund_fen"], d["allocated_fen"], d["unallocated_fen"])  # fmt: skip
    assert (d["node"], d["period"]) == (buyer, flow.period)
    assert steps == (0, WALLET, BOND, DEBT, FUND, ALLOCATED, None)
    assert fund.unfunded_fen() == ALLOCATED - 31_584_159
    html = client.get("/defaults").text
    waterfall = html[html.index(f'data-node="{buyer}" data-period="{flow.period}"') :]
    for rule, fen in (("CREDIT", 0), ("WALLET", WALLET), ("BOND", BOND), ("FUND", FUND),
                      ("ALLOCATION", ALLOCATED), ("DEBT", DEBT)):  # fmt: skip
        assert _cell(waterfall, f'data-rule="{rule}"') == fen
    assert 'href="/defaults"' in html  # the nav
    seller2 = {m["node"]: m for m in view["members"]}[flow.party("seller2").address]
    assert (seller2["enforced"], seller2["assessment_owed_fen"]) == (True, 631_684)
    rows = list(csv.DictReader(io.StringIO(client.get("/defaults.csv").text)))
    assert [(r["node"], int(r["period"]), int(r["from_bond_fen"]), int(r["allocated_fen"]))
            for r in rows] == [(buyer, flow.period, BOND, ALLOCATED)]  # fmt: skip
    events = [e["event"] for e in view["events"]]
    assert events.count("Contributed") == 3
    assert events[-7:] == [
        "Replenished",
        "DeviationCollected",
        "DefaultCovered",
        "LossAllocated",
        "AssessmentPaid",
        "CreditorPaid",
        "AssessmentEnforced",
    ]
    # the defaulter repays, the others pay, the seller claims its recovery
    _pay_assessment(flow, "seller2")
    _repay(flow)
    _pay_assessment(flow, "buyer2")
    _fund(flow, "seller").claim_recovery(flow.party("seller").address)
    indexer.run_once()
    view = _check(flow, fund, gw_engine, client)
    members = {m["node"]: m for m in view["members"]}
    seller = members[flow.party("seller").address]
    assert (seller["recovered_fen"], seller["recovery_due_fen"]) == (31_584_158, 0)
    assert members[flow.party("buyer2").address]["recovery_due_fen"] == 31_584_158
    assert not members[flow.party("seller2").address]["enforced"]
    assert view["state"]["unfunded_fen"] == 0
    assert [e["event"] for e in view["events"]][-1] == "RecoveryClaimed"
