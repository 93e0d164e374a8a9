"""SurveillanceDesk on the session chain: models, reports, responses, rulings (issue #8)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from ledger.clients.access import role_id
from ledger.clients.registry import NodeKind, NodeRegistryClient, Side, code
from ledger.clients.reputation import WAD, ReputationLedgerClient
from ledger.clients.surveillance import ReportStatus, SurveillanceDeskClient
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError, ValidationError
from ledger.settings import Settings
from ledger.suite.s70_surveillance import (
    DEFAULT_DISMISSAL_LIMIT,
    DEFAULT_REPORTER_PENALTY_POINTS,
    DEFAULT_RULING_PERIOD_S,
)
from node.registry.participant import NodeProfile, Participant, onboard_demo_node
from node.surveillance import onchain
from node.surveillance.cli import app
from node.surveillance.indicators import schema_hash
from node.surveillance.model import SurveillanceModel
from node.surveillance.scan import SurveillanceReport, scan
from node.surveillance.simulate import simulate_preset
from tests.conftest import role_account
from tests.trading.conftest import advance_time, block_time

MODEL_ID = "0x" + "11" * 32
SCHEMA = schema_hash()
THRESHOLD = 600_000
FEATURES = "0x" + "aa" * 32
REASON = Web3.keccak(text="ruling: wash trading confirmed")
EXTRA_BOND = 500_000


def h(text: str) -> bytes:
    return bytes(Web3.keccak(text=text))


def revert(call: object) -> ContractRevertError:
    with pytest.raises(ContractRevertError) as err:
        call()  # type: ignore[operator]
    return err.value


@dataclass
class Desk:
    ctx: LedgerContext
    regulator: SurveillanceDeskClient
    operator: SurveillanceDeskClient
    reporter: SurveillanceDeskClient
    accused: SurveillanceDeskClient
    other: SurveillanceDeskClient
    nodes: list[Participant]
    registry: NodeRegistryClient
    reputation: ReputationLedgerClient
    token: SettlementTokenClient

    def file(
        self,
        desk: SurveillanceDeskClient | None = None,
        accused: str | None = None,
        features: str = FEATURES,
        score: int = 750_000,
        trade_ids: list[int] | None = None,
    ) -> int:
        desk = desk or self.reporter
        receipt = desk.file_report(
            accused or self.accused.sender.address,
            MODEL_ID,
            features,
            score,
            100,
            127,
            [7, 9, 12] if trade_ids is None else trade_ids,
        )
        return desk.filed_report_id(receipt)


@pytest.fixture
def desk(ctx: LedgerContext) -> Desk:
    profile = NodeProfile(kind=NodeKind.WIND, side=Side.SELLER, region=0, capacity_kw=50_000)
    nodes = [onboard_demo_node(ctx, n, profile, extra_bond_fen=EXTRA_BOND) for n in (61, 62, 63)]
    regulator = ctx.client(SurveillanceDeskClient, role_account("REGULATOR"))
    regulator.register_model(MODEL_ID, SCHEMA, THRESHOLD)
    reader = role_account("OPERATOR")
    return Desk(
        ctx=ctx,
        regulator=regulator,
        operator=ctx.client(SurveillanceDeskClient, reader),
        reporter=ctx.client(SurveillanceDeskClient, nodes[0].account),
        accused=ctx.client(SurveillanceDeskClient, nodes[1].account),
        other=ctx.client(SurveillanceDeskClient, nodes[2].account),
        nodes=nodes,
        registry=ctx.client(NodeRegistryClient, reader),
        reputation=ctx.client(ReputationLedgerClient, reader),
        token=ctx.client(SettlementTokenClient, reader),
    )


# ---------------------------------------------------------------- models


def test_register_model_by_regulator_only(desk: Desk) -> None:
    regulator = role_account("REGULATOR")
    info = desk.operator.model_info(MODEL_ID)
    assert info.model_id == MODEL_ID
    assert info.schema_hash == SCHEMA
    assert info.threshold_ppm == THRESHOLD
    assert info.regulator == regulator.address
    assert desk.operator.is_model_registered(MODEL_ID)
    assert desk.operator.model_count() == 1
    assert desk.operator.models(0, 10) == [info]

    other = "0x" + "22" * 32
    receipt = desk.regulator.register_model(other, SCHEMA, 1_000_000)
    [ev] = desk.regulator.events(receipt, "ModelRegistered")
    assert ev["args"]["modelId"] == bytes.fromhex("22" * 32)
    assert ev["args"]["schemaHash"] == bytes.fromhex(SCHEMA[2:])
    assert ev["args"]["thresholdPpm"] == 1_000_000
    assert ev["args"]["regulator"] == regulator.address

    err = revert(lambda: desk.regulator.register_model(MODEL_ID, SCHEMA, THRESHOLD))
    assert err.name == "ModelAlreadyRegistered"
    assert err.arguments["modelId"] == bytes.fromhex(MODEL_ID[2:])
    err = revert(lambda: desk.regulator.register_model("0x" + "33" * 32, SCHEMA, 1_000_001))
    assert (err.name, err.arguments["ppm"]) == ("InvalidPpm", 1_000_001)
    err = revert(lambda: desk.reporter.register_model("0x" + "33" * 32, SCHEMA, THRESHOLD))
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.arguments["account"] == desk.nodes[0].address
    assert err.arguments["neededRole"] == role_id("REGULATOR")


# ---------------------------------------------------------------- filing


def test_file_report_stores_evidence_and_queues_it(desk: Desk) -> None:
    reporter, accused = desk.nodes[0].address, desk.nodes[1].address
    receipt = desk.reporter.file_report(accused, MODEL_ID, FEATURES, 750_000, 100, 127, [7, 9])
    now = block_time(desk.ctx)
    [ev] = desk.reporter.events(receipt, "ViolationReported")
    assert dict(ev["args"]) == {
        "reportId": 1,
        "reporter": reporter,
        "accused": accused,
        "modelId": bytes.fromhex(MODEL_ID[2:]),
        "featureHash": bytes.fromhex(FEATURES[2:]),
        "scorePpm": 750_000,
        "firstPeriod": 100,
        "lastPeriod": 127,
        "tradeIds": [7, 9],
        "ruleBy": now + DEFAULT_RULING_PERIOD_S,
    }
    info = desk.operator.report_info(1)
    assert info.status is ReportStatus.PENDING
    assert (info.reporter, info.accused, info.trade_ids) == (reporter, accused, [7, 9])
    assert (info.filed_at, info.rule_by) == (now, now + DEFAULT_RULING_PERIOD_S)
    assert desk.operator.pending_count() == 1
    assert desk.operator.pending_reports(0, 10) == [info]
    assert desk.operator.open_report_of(reporter, accused, FEATURES) == 1
    assert desk.operator.reporter_record(reporter).filed == 1
    print(f"\nfileReport gas (2 trade ids): {receipt['gasUsed']}")
    receipt = desk.other.file_report(accused, MODEL_ID, FEATURES, 750_000, 100, 127, [*range(32)])
    print(f"fileReport gas (32 trade ids): {receipt['gasUsed']}")


def test_self_report_is_rejected(desk: Desk) -> None:
    me = desk.nodes[0].address
    err = revert(lambda: desk.file(accused=me))
    assert (err.name, err.arguments) == ("SelfReport", {"node": me})


def test_duplicate_open_report_is_rejected_until_ruled(desk: Desk) -> None:
    reporter, accused = desk.nodes[0].address, desk.nodes[1].address
    first = desk.file()
    err = revert(lambda: desk.file())
    assert err.name == "DuplicateReport"
    assert err.arguments == {
        "reporter": reporter,
        "accused": accused,
        "featureHash": bytes.fromhex(FEATURES[2:]),
        "reportId": first,
    }
    # other evidence, or another reporter, is a new report
    assert desk.file(features="0x" + "ab" * 32) == first + 1
    assert desk.file(desk=desk.other) == first + 2
    # once ruled, the same evidence may be filed again
    desk.regulator.rule(first, False, 0, 0, REASON)
    assert desk.operator.open_report_of(reporter, accused, FEATURES) == 0
    assert desk.file() == first + 3


def test_filing_checks(desk: Desk) -> None:
    accused = desk.nodes[1].address
    unknown = "0x" + "44" * 32
    err = revert(lambda: desk.reporter.file_report(accused, unknown, FEATURES, 750_000, 1, 2, [1]))
    assert (err.name, err.arguments) == ("UnknownModel", {"modelId": bytes.fromhex("44" * 32)})
    err = revert(lambda: desk.file(score=THRESHOLD - 1))
    assert err.name == "ScoreBelowThreshold"
    assert err.arguments == {
        "modelId": bytes.fromhex(MODEL_ID[2:]),
        "scorePpm": THRESHOLD - 1,
        "thresholdPpm": THRESHOLD,
    }
    err = revert(lambda: desk.file(trade_ids=[*range(33)]))
    assert (err.name, err.arguments) == ("InvalidTradeIdCount", {"count": 33, "max": 32})
    err = revert(lambda: desk.file(trade_ids=[]))
    assert (err.name, err.arguments) == ("InvalidTradeIdCount", {"count": 0, "max": 32})
    err = revert(lambda: desk.reporter.file_report(accused, MODEL_ID, FEATURES, 750_000, 5, 4, [1]))
    assert (err.name, err.arguments) == ("InvalidWindow", {"firstPeriod": 5, "lastPeriod": 4})
    stranger = desk.ctx.client(SurveillanceDeskClient, role_account("OPERATOR"))
    err = revert(lambda: desk.file(desk=stranger))
    assert (err.name, err.arguments) == (
        "ReporterNotActive",
        {"reporter": role_account("OPERATOR").address},
    )
    nobody = Web3.to_checksum_address("0x" + "55" * 20)
    err = revert(lambda: desk.file(accused=nobody))
    assert (err.name, err.arguments) == ("UnknownNode", {"node": nobody})


# ---------------------------------------------------------------- responses


def test_accused_responds_once_before_the_ruling(desk: Desk) -> None:
    rid = desk.file()
    err = revert(lambda: desk.other.respond(rid, h("not me")))
    assert (err.name, err.arguments) == (
        "NotAccused",
        {"reportId": rid, "caller": desk.nodes[2].address},
    )
    receipt = desk.accused.respond(rid, h("response"))
    [ev] = desk.accused.events(receipt, "ResponseFiled")
    assert dict(ev["args"]) == {
        "reportId": rid,
        "accused": desk.nodes[1].address,
        "responseHash": h("response"),
    }
    info = desk.operator.report_info(rid)
    assert info.response_hash == "0x" + h("response").hex()
    assert info.responded_at == block_time(desk.ctx)
    err = revert(lambda: desk.accused.respond(rid, h("again")))
    assert (err.name, err.arguments) == ("AlreadyResponded", {"reportId": rid})
    desk.regulator.rule(rid, False, 0, 0, REASON)
    err = revert(lambda: desk.accused.respond(rid + 0, h("late")))
    assert (err.name, err.arguments) == (
        "AlreadyRuled",
        {"reportId": rid, "status": ReportStatus.DISMISSED},
    )


# ---------------------------------------------------------------- rulings


def test_confirmed_ruling_slashes_bond_and_deducts_reputation_exactly(desk: Desk) -> None:
    accused = desk.nodes[1].address
    penalty_account = desk.operator.penalty_account()
    rid = desk.file()
    bond = desk.registry.bond_of(accused)
    registry_balance = desk.token.balance_of(desk.registry.address)
    fund_balance = desk.token.balance_of(penalty_account)
    rep_before = desk.reputation.reputation_of(accused)
    penalty_wad = desk.reputation.reputation_info(accused).penalty_wad

    receipt = desk.regulator.rule(rid, True, 300_000, 40, REASON)
    print(f"\nrule (confirmed, slash + penalize) gas: {receipt['gasUsed']}")

    assert desk.registry.bond_of(accused) == bond - 300_000
    assert desk.token.balance_of(desk.registry.address) == registry_balance - 300_000
    assert desk.token.balance_of(penalty_account) == fund_balance + 300_000
    assert desk.reputation.reputation_info(accused).penalty_wad == penalty_wad + 40 * WAD
    assert desk.reputation.reputation_of(accused) == rep_before - 40

    regulator = role_account("REGULATOR").address
    [ruled] = desk.regulator.events(receipt, "ViolationRuled")
    assert dict(ruled["args"]) == {
        "reportId": rid,
        "accused": accused,
        "confirmed": True,
        "bondPenaltyFen": 300_000,
        "slashedFen": 300_000,
        "reputationPenalty": 40,
        "reasonHash": bytes(REASON),
        "regulator": regulator,
    }
    [announced] = desk.regulator.events(receipt, "ViolationAnnounced")
    assert dict(announced["args"]) == {
        "accused": accused,
        "reportId": rid,
        "modelId": bytes.fromhex(MODEL_ID[2:]),
        "featureHash": bytes.fromhex(FEATURES[2:]),
        "slashedFen": 300_000,
        "reputationPoints": 40,
        "reasonHash": bytes(REASON),
    }
    [slashed] = desk.registry.events(receipt, "BondSlashed")
    assert dict(slashed["args"]) == {
        "node": accused,
        "to": penalty_account,
        "requestedFen": 300_000,
        "slashedFen": 300_000,
        "reason": code("MARKET_VIOLATION"),
        "by": desk.regulator.address,
    }
    [penalized] = desk.reputation.events(receipt, "ReputationPenalized")
    assert dict(penalized["args"]) == {
        "node": accused,
        "points": 40,
        "reasonHash": bytes(REASON),
        "by": desk.regulator.address,
    }
    info = desk.operator.report_info(rid)
    assert info.status is ReportStatus.CONFIRMED
    assert (info.penalty_fen, info.slashed_fen, info.reputation_points) == (300_000, 300_000, 40)
    assert info.ruled_at == block_time(desk.ctx)
    assert desk.operator.pending_count() == 0
    assert desk.operator.reporter_record(desk.nodes[0].address).confirmed == 1

    err = revert(lambda: desk.regulator.rule(rid, True, 1, 1, REASON))
    assert (err.name, err.arguments) == (
        "AlreadyRuled",
        {"reportId": rid, "status": ReportStatus.CONFIRMED},
    )


def test_slash_is_capped_at_the_bond(desk: Desk) -> None:
    accused = desk.nodes[1].address
    bond = desk.registry.bond_of(accused)
    rid = desk.file()
    receipt = desk.regulator.rule(rid, True, bond + 1, 0, REASON)
    assert desk.registry.bond_of(accused) == 0
    [ev] = desk.regulator.events(receipt, "ViolationAnnounced")
    assert ev["args"]["slashedFen"] == bond
    assert desk.reputation.events(receipt, "ReputationPenalized") == []
    assert desk.operator.report_info(rid).slashed_fen == bond


def test_ruling_checks(desk: Desk) -> None:
    rid = desk.file()
    err = revert(lambda: desk.reporter.rule(rid, True, 1, 1, REASON))
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.arguments["neededRole"] == role_id("REGULATOR")
    err = revert(lambda: desk.regulator.rule(rid, False, 1, 0, REASON))
    assert (err.name, err.arguments) == (
        "InvalidRuling",
        {"confirmed": False, "penaltyFen": 1, "reputationPoints": 0},
    )
    err = revert(lambda: desk.regulator.rule(rid, True, 0, 1001, REASON))
    assert (err.name, err.arguments) == (
        "InvalidRuling",
        {"confirmed": True, "penaltyFen": 0, "reputationPoints": 1001},
    )
    err = revert(lambda: desk.regulator.rule(rid, True, 1, 1, b"\x00" * 32))
    assert err.name == "ZeroHash"
    err = revert(lambda: desk.regulator.rule(99, True, 1, 1, REASON))
    assert (err.name, err.arguments) == ("UnknownReport", {"reportId": 99})


def test_ruling_deadline_and_expiry(desk: Desk) -> None:
    rid = desk.file()
    rule_by = desk.operator.report_info(rid).rule_by
    err = revert(lambda: desk.operator.expire(rid))
    assert err.name == "RulingDeadlineNotReached"
    assert err.arguments["ruleBy"] == rule_by
    advance_time(desk.ctx, DEFAULT_RULING_PERIOD_S + 1)
    err = revert(lambda: desk.regulator.rule(rid, True, 1, 1, REASON))
    assert err.name == "RulingDeadlinePassed"
    assert err.arguments["reportId"] == rid
    assert err.arguments["ruleBy"] == rule_by
    assert err.arguments["nowS"] > rule_by
    bond = desk.registry.bond_of(desk.nodes[1].address)
    receipt = desk.operator.expire(rid)
    [ev] = desk.operator.events(receipt, "ReportExpired")
    assert dict(ev["args"]) == {
        "reportId": rid,
        "ruleBy": rule_by,
        "by": role_account("OPERATOR").address,
    }
    assert desk.operator.report_info(rid).status is ReportStatus.EXPIRED
    assert desk.operator.pending_count() == 0
    assert desk.registry.bond_of(desk.nodes[1].address) == bond


def test_ruling_period_is_set_by_operator_or_regulator(desk: Desk) -> None:
    receipt = desk.operator.set_ruling_period(3_600)
    [ev] = desk.operator.events(receipt, "RulingPeriodSet")
    assert dict(ev["args"]) == {"periodS": 3_600, "by": role_account("OPERATOR").address}
    desk.regulator.set_ruling_period(7_200)
    assert desk.operator.ruling_period() == 7_200
    err = revert(lambda: desk.reporter.set_ruling_period(1))
    assert (err.name, err.arguments) == (
        "UnauthorizedConfigurer",
        {"account": desk.nodes[0].address},
    )
    err = revert(lambda: desk.regulator.set_ruling_period(0))
    assert err.name == "InvalidConfiguration"


def test_repeatedly_dismissed_reporter_loses_reputation(desk: Desk) -> None:
    reporter = desk.nodes[0].address
    assert desk.operator.reporter_policy() == (
        DEFAULT_DISMISSAL_LIMIT,
        DEFAULT_REPORTER_PENALTY_POINTS,
    )
    rep_before = desk.reputation.reputation_of(reporter)
    penalty_wad = desk.reputation.reputation_info(reporter).penalty_wad
    accused_bond = desk.registry.bond_of(desk.nodes[1].address)
    for i in range(1, DEFAULT_DISMISSAL_LIMIT + 1):
        rid = desk.file(features="0x" + f"{i:02x}" * 32)
        receipt = desk.regulator.rule(rid, False, 0, 0, REASON)
        [dismissed] = desk.regulator.events(receipt, "ReportDismissed")
        assert dict(dismissed["args"]) == {"reportId": rid, "reporter": reporter, "dismissed": i}
        [ruled] = desk.regulator.events(receipt, "ViolationRuled")
        assert ruled["args"]["confirmed"] is False
        assert ruled["args"]["slashedFen"] == 0
        penalized = desk.regulator.events(receipt, "ReporterPenalized")
        if i < DEFAULT_DISMISSAL_LIMIT:
            assert penalized == []
            assert desk.reputation.reputation_of(reporter) == rep_before
        else:
            print(f"\nrule (dismissed, reporter penalized) gas: {receipt['gasUsed']}")
            assert dict(penalized[0]["args"]) == {
                "reporter": reporter,
                "dismissed": i,
                "points": DEFAULT_REPORTER_PENALTY_POINTS,
            }
            [rp] = desk.reputation.events(receipt, "ReputationPenalized")
            assert rp["args"]["node"] == reporter
            assert rp["args"]["points"] == DEFAULT_REPORTER_PENALTY_POINTS
    assert desk.reputation.reputation_of(reporter) == rep_before - DEFAULT_REPORTER_PENALTY_POINTS
    assert (
        desk.reputation.reputation_info(reporter).penalty_wad
        == penalty_wad + DEFAULT_REPORTER_PENALTY_POINTS * WAD
    )
    assert desk.registry.bond_of(desk.nodes[1].address) == accused_bond
    record = desk.operator.reporter_record(reporter)
    assert (record.filed, record.confirmed, record.dismissed) == (3, 0, 3)


def test_pending_queue_pages_in_filing_order(desk: Desk) -> None:
    ids = [desk.file(features="0x" + f"{i:02x}" * 32) for i in range(1, 5)]
    assert [r.report_id for r in desk.operator.pending_reports(0, 10)] == ids
    assert [r.report_id for r in desk.operator.pending_reports(1, 2)] == ids[1:3]
    assert desk.operator.pending_reports(10, 5) == []
    desk.regulator.rule(ids[0], False, 0, 0, REASON)
    # the queue comes from the events (filed, not ruled or expired), in filing order
    assert [r.report_id for r in desk.operator.pending_reports(0, 10)] == ids[1:]
    assert [r.report_id for r in onchain.queue(desk.operator, page_size=2)] == ids[1:]


# ---------------------------------------------------------------- node helpers


def test_onchain_helpers_file_and_rule_a_computed_report(desk: Desk) -> None:
    accused = desk.nodes[1].address
    report = SurveillanceReport(
        node=accused,
        first_period=10,
        last_period=37,
        model_id=MODEL_ID,
        schema_hash=SCHEMA,
        score_ppm=910_000,
        threshold_ppm=THRESHOLD,
        flagged=True,
        feature_hash="0x" + "cd" * 32,
        features={"trades": 12_000_000},
        trade_ids=[*range(1, 41)],
        listing_ids=[3],
    )
    filed = onchain.file_report(desk.reporter, report)
    assert filed.trade_ids == [*range(9, 41)]
    info = desk.operator.report_info(filed.report_id)
    assert (info.accused, info.score_ppm, info.feature_hash) == (
        accused,
        910_000,
        report.feature_hash,
    )
    assert (info.first_period, info.last_period, info.trade_ids) == (10, 37, filed.trade_ids)
    reason = onchain.document_hash(text="dismissed: seasonal pattern")
    onchain.rule(desk.regulator, filed.report_id, confirmed=False, reason_hash=reason)
    assert desk.operator.report_info(filed.report_id).reason_hash == reason


def test_cli_register_file_queue_respond_rule(
    desk: Desk, session_settings: Settings, tmp_path: Path
) -> None:
    model = SurveillanceModel.load()
    market = simulate_preset("jibei-mini", 41, days=7)
    suspect = next(r for r in scan(market.history, model).rows if r.flagged).node
    accused = desk.nodes[1].address
    # Stand the on-chain node in for the simulated suspect.
    text = re.sub(re.escape(suspect), accused, market.history.model_dump_json(), flags=re.I)
    history = tmp_path / "history.json"
    history.write_text(text)
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    assert "registered" in run("register-model")
    assert desk.operator.model_info(model.model_id).threshold_ppm == model.threshold_ppm
    filed = json.loads(run("file", accused, "--history", str(history), "-w", "node-61", "--json"))
    rid = filed["filed"]["report_id"]
    info = desk.operator.report_info(rid)
    assert (info.accused, info.model_id) == (accused, model.model_id)
    assert (info.feature_hash, info.score_ppm) == (
        filed["report"]["feature_hash"],
        filed["report"]["score_ppm"],
    )
    queue = json.loads(run("queue", "--json"))
    assert [q["report_id"] for q in queue] == [rid]
    run("respond", str(rid), "-w", "node-62", "--text", "we trade with our subsidiary")
    assert desk.operator.report_info(rid).response_hash == onchain.document_hash(
        text="we trade with our subsidiary"
    )
    bond = desk.registry.bond_of(accused)
    run("rule", str(rid), "--confirm", "--penalty-fen", "1000", "--points", "5", "--text", "wash")
    assert desk.registry.bond_of(accused) == bond - 1000
    assert desk.operator.report_info(rid).status is ReportStatus.CONFIRMED
    assert json.loads(run("queue", "--json")) == []


def test_unserved_penalty_is_an_obligation_until_paid(desk: Desk) -> None:
    """Penalty beyond the bond -> exit refused -> same entity from a new address refused ->
    payment (partial, then full) to the penalty account -> exit and the new address succeed."""
    accused = desk.nodes[1]
    node = accused.address
    bond = desk.registry.bond_of(node)
    owed = 1_000
    rid = desk.file()
    receipt = desk.regulator.rule(rid, True, bond + owed, 0, REASON)
    entity = desk.registry.node_info(node).entity_hash
    [ev] = desk.regulator.events(receipt, "PenaltyUnpaid")
    assert dict(ev["args"]) == {
        "reportId": rid,
        "node": node,
        "entityHash": entity,
        "unpaidFen": owed,
        "totalUnpaidFen": owed,
        "obligationHeld": True,
    }
    assert desk.operator.unpaid_penalty_of(node) == (owed, True)
    assert desk.registry.obligations_of(node) == 1
    own_registry = desk.ctx.client(NodeRegistryClient, accused.account)
    err = revert(own_registry.exit)
    assert (err.name, err.arguments) == ("OpenObligations", {"node": node, "obligations": 1})
    newcomer = desk.ctx.client(NodeRegistryClient, desk.ctx.account("node-94"))
    register = lambda: newcomer.register(  # noqa: E731
        NodeKind.WIND, Side.SELLER, 0, 1_000, 0, entity, b"\x94" * 32
    )
    err = revert(register)
    assert (err.name, err.arguments) == (
        "EntityAlreadyRegistered",
        {"entityHash": entity, "node": node},
    )
    # bad payments
    err = revert(lambda: desk.accused.pay_penalty(node, 0))
    assert err.name == "ZeroAmount"
    other = desk.nodes[2].address
    err = revert(lambda: desk.accused.pay_penalty(other, 1))
    assert (err.name, err.arguments) == ("NoUnpaidPenalty", {"node": other})
    # pay: part, then more than the rest (capped), from the node's own allowance
    penalty_account = desk.operator.penalty_account()
    bank = desk.ctx.client(SettlementTokenClient, role_account("CLEARING_BANK"))
    bank.mint(node, owed, b"PENALTY-FUNDS".ljust(32, b"\x00"))
    supply = desk.token.total_supply()
    before = (desk.token.balance_of(node), desk.token.balance_of(penalty_account))
    desk.ctx.client(SettlementTokenClient, accused.account).approve(desk.accused.address, owed)
    [paid] = desk.accused.events(desk.accused.pay_penalty(node, 400), "PenaltyPaid")
    assert dict(paid["args"]) == {"node": node, "payer": node, "paidFen": 400, "remainingFen": 600}
    assert desk.operator.unpaid_penalty_of(node) == (600, True)
    assert desk.registry.obligations_of(node) == 1
    [paid] = desk.accused.events(desk.accused.pay_penalty(node, 5_000), "PenaltyPaid")
    assert dict(paid["args"]) == {"node": node, "payer": node, "paidFen": 600, "remainingFen": 0}
    assert desk.operator.unpaid_penalty_of(node) == (0, False)
    assert desk.registry.obligations_of(node) == 0
    assert (desk.token.balance_of(node), desk.token.balance_of(penalty_account)) == (
        before[0] - owed,
        before[1] + owed,
    )
    assert desk.token.total_supply() == supply
    own_registry.exit()
    register()
    assert desk.registry.node_of_entity(entity) == newcomer.sender.address


def test_cli_pay_penalty(desk: Desk, session_settings: Settings) -> None:
    node = desk.nodes[1].address
    rid = desk.file()
    desk.regulator.rule(rid, True, desk.registry.bond_of(node) + 1_000, 0, REASON)
    bank = desk.ctx.client(SettlementTokenClient, role_account("CLEARING_BANK"))
    bank.mint(node, 1_000, b"PENALTY-FUNDS".ljust(32, b"\x00"))
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()
    bad = runner.invoke(app, ["pay-penalty", node, "-5", "-w", "node-62"], env=env)
    assert isinstance(bad.exception, ValidationError)
    assert str(bad.exception) == "amount must be positive: -5"
    other = desk.nodes[2].address
    bad = runner.invoke(app, ["pay-penalty", other, "1", "-w", "node-62"], env=env)
    assert isinstance(bad.exception, ValidationError)
    assert str(bad.exception) == f"{other} owes no unserved penalty"
    out = runner.invoke(app, ["pay-penalty", node, "4", "-w", "node-62"], env=env)
    assert out.exit_code == 0, (out.output, out.exception)
    assert f"paid 4.00 CNY of {node}'s penalties (6.00 CNY left)" in " ".join(out.output.split())
    out = runner.invoke(app, ["pay-penalty", node, "100", "-w", "node-62"], env=env)
    assert out.exit_code == 0, (out.output, out.exception)
    assert desk.operator.unpaid_penalty_of(node) == (0, False)
    assert desk.registry.obligations_of(node) == 0
