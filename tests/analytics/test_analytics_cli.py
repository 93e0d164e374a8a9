"""``gridledger analytics``: the commands work on small inputs, and a mistake is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import run


def _run(args: list[str]) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, *_):
        code = run(args)
        return code, out.getvalue().decode(), err.getvalue().decode()


def test_backtest_json_beats_the_baseline() -> None:
    code, out, _ = _run(
        ["analytics", "backtest", "--days", "24", "--holdout", "4", "--regions", "2", "--json"]
    )
    assert code == 0
    data = json.loads(out)
    assert data["beats_baseline"] is True
    assert data["mape"] < data["baseline_mape"]
    assert (data["train_days"], data["test_days"]) == (13, 4)


def test_forecast_writes_its_band_chart(tmp_path: Path) -> None:
    svg = tmp_path / "f.svg"
    args = ["analytics", "forecast", "--days", "15", "--regions", "2", "--region", "zhangjiakou"]
    code, out, _ = _run([*args, "--out", str(svg), "--json"])
    assert code == 0
    data = json.loads(out)
    rows = data["regions"]["Zhangjiakou"]
    assert len(rows) == 96
    assert data["day"] == "2026-05-19"
    assert all(r["p10_fen_per_mwh"] <= r["p50_fen_per_mwh"] <= r["p90_fen_per_mwh"] for r in rows)
    text = svg.read_text()
    assert text.startswith("<svg")
    assert "p10-p90 band" in text
    assert "<script" not in text


def test_clusters_of_the_sample_population(tmp_path: Path) -> None:
    svg = tmp_path / "c.svg"
    code, out, _ = _run(["analytics", "clusters", "--consumers", "12", "--out", str(svg), "--json"])
    assert code == 0
    data = json.loads(out)
    assert data["k"] == 4
    assert len(data["consumers"]) == 12
    assert {"flags", "best_saving_cny", "cluster"} <= set(data["consumers"][0])
    assert svg.read_text().count("<polyline") == 4


def test_advice_on_the_retail_example(tmp_path: Path) -> None:
    assert _run(["retail", "bill", "example", str(tmp_path)])[0] == 0
    files = {n: str(tmp_path / f"{n}.json") for n in ("account", "rates")}
    code, out, _ = _run(
        ["analytics", "advice", "--account", files["account"], "--rates", files["rates"],
         "--package", str(tmp_path / "package-time_of_use.json"),
         "--readings", str(tmp_path / "readings.csv"), "--month", "202607", "--json"]
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    shift = next(a for a in data["advice"] if a["kind"] == "shift")
    assert shift["saving_fen"] == shift["bill_before_fen"] - shift["bill_after_fen"] > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["forecast", "--region", "atlantis", "--days", "15", "--regions", "1"], "atlantis"),
        (["forecast", "--days", "abc"], "invalid value"),
        (["backtest", "--days", "15", "--holdout", "9", "--regions", "1"], "cannot hold out"),
        (["clusters", "--readings", "/no/such/file.csv"], "/no/such/file.csv"),
        (["clusters", "--month", "202613"], "yyyymm"),
        (["advice", "--month", "202607"], "missing option"),
    ],
)
def test_a_mistake_is_one_line(args: list[str], fragment: str) -> None:
    code, out, err = _run(["analytics", *args])
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert fragment in lines[0].lower()
