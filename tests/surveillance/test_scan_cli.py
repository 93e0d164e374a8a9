"""Scanning a history, building a report, and the `gridledger surveil` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from node.surveillance.cli import app
from node.surveillance.history import MarketHistory
from node.surveillance.indicators import FeatureVector, compute_features
from node.surveillance.model import SurveillanceModel
from node.surveillance.scan import build_report, scan, scan_window
from node.surveillance.simulate import SimulatedMarket, simulate_preset

runner = CliRunner()


@pytest.fixture(scope="module")
def market() -> SimulatedMarket:
    return simulate_preset("jibei-mini", 41, days=7)


@pytest.fixture(scope="module")
def history_file(market: SimulatedMarket, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("surveil") / "history.json"
    market.history.save(path)
    return path


def test_scan_ranks_the_injected_violators_first(market: SimulatedMarket) -> None:
    model = SurveillanceModel.load()
    result = scan(market.history, model)
    assert (result.first_period, result.last_period) == (0, 27)
    assert len(result.rows) == len(market.history.nodes)
    violators = {a for a, k in market.labels.items() if k is not None}
    flagged = {r.node for r in result.rows if r.flagged}
    assert len(flagged & violators) >= len(violators) // 2
    top = {r.node for r in result.rows[: len(violators)]}
    assert len(top & violators) >= len(violators) // 2


def test_a_report_can_be_recomputed_by_anyone(market: SimulatedMarket) -> None:
    model = SurveillanceModel.load()
    suspect = next(
        a for a, k in market.labels.items() if k is not None and k.value == "wash_trading"
    )
    report = build_report(market.history, suspect, model)
    assert report.model_id == model.model_id
    vector = FeatureVector(
        node=report.node,
        first_period=report.first_period,
        last_period=report.last_period,
        values=report.features,
    )
    assert vector.hash == report.feature_hash
    assert model.score(vector) == report.score_ppm
    # A second node recomputing from the same (re-serialised) history gets the same vector.
    copy = MarketHistory.model_validate_json(market.history.model_dump_json())
    again = compute_features(scan_window(copy, 28))[suspect]
    assert again.hash == report.feature_hash
    trade_ids = {t.id for t in market.history.trades if suspect in (t.buyer, t.seller)}
    assert report.trade_ids
    assert set(report.trade_ids) <= trade_ids


def test_cli_evaluate_prints_metrics_as_json() -> None:
    result = runner.invoke(app, ["evaluate", "--seed", "41", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model_id"] == SurveillanceModel.load().model_id
    assert data["sources"] == [{"preset": "jibei-mini", "seed": 41}]
    metrics = data["metrics"]
    assert metrics["examples"] == 2 * 60
    assert set(metrics) >= {"precision", "recall", "roc_auc", "recall_by_kind"}
    table = runner.invoke(app, ["evaluate", "--seed", "41"])
    assert table.exit_code == 0
    assert "precision" in table.output
    assert "ROC-AUC" in table.output


def test_cli_scan_indicators_and_report(market: SimulatedMarket, history_file: Path) -> None:
    scanned = runner.invoke(app, ["scan", "--history", str(history_file), "--json"])
    assert scanned.exit_code == 0, scanned.output
    rows = json.loads(scanned.output)["rows"]
    assert len(rows) == 60
    name = rows[0]["name"]
    shown = runner.invoke(app, ["indicators", name, "--history", str(history_file), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["feature_hash"] == rows[0]["feature_hash"]
    report = runner.invoke(app, ["report", rows[0]["node"], "--history", str(history_file)])
    assert report.exit_code == 0, report.output
    payload = json.loads(report.output)
    assert payload["score_ppm"] == rows[0]["score_ppm"]
    assert payload["feature_hash"] == rows[0]["feature_hash"]
    missing = runner.invoke(app, ["indicators", "nobody", "--history", str(history_file)])
    assert missing.exit_code != 0
