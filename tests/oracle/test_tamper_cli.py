"""The VERIFIER's tamper commands: import feeder data, scan, list the cases, decide one."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from ledger import scenario
from ledger.feeders import generate_feeders
from oracle import tamper_cli
from oracle.service import OracleService
from tests.conftest import role_account

RUNNER = CliRunner()
FIRST_DAY = 20_000


def test_the_verifier_cli_imports_scans_lists_and_decides(
    service: OracleService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    net = generate_feeders(scenario.generate("jibei-mini", 2), days=10)
    doc = {
        "feeders": [
            {
                "id": f.id,
                "region": f.region,
                "meters": [
                    {"meterId": m.meter, "node": m.node, "kind": m.kind}
                    for m in net.meters
                    if m.feeder == f.id
                ],
                "energyWh": {str(FIRST_DAY + d): wh for d, wh in enumerate(f.energy_wh)},
            }
            for f in net.feeders
        ],
        "meterDays": {
            m.meter: {str(FIRST_DAY + d): wh for d, wh in enumerate(m.reported_wh)}
            for m in net.meters
        },
    }
    path = tmp_path / "feeders.json"
    path.write_text(json.dumps(doc))
    verifier = role_account("VERIFIER")
    monkeypatch.setattr(tamper_cli, "_service", lambda: service)
    monkeypatch.setattr(
        tamper_cli,
        "make_context",
        lambda: SimpleNamespace(settings=None, account=lambda wallet, password: verifier),
    )
    app = tamper_cli.tamper_app
    imported = RUNNER.invoke(app, ["import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert f"{len(net.feeders)} feeders recorded" in imported.output
    last = FIRST_DAY + net.days - 1
    scanned = RUNNER.invoke(app, ["scan", "--through-day", str(last), "--json"])
    assert scanned.exit_code == 0, scanned.output
    cases = json.loads(RUNNER.invoke(app, ["cases", "--json"]).output)
    assert [c["meterId"] for c in cases] == list(net.tampered)
    case = cases[0]
    assert case["status"] == "pending"
    assert case["firstDay"] == FIRST_DAY + net.tampered[case["meterId"]]
    assert case["heldReadings"] == 0  # history from before the store: nothing to hold
    decided = RUNNER.invoke(app, ["confirm", str(case["caseId"]), "--note", "feeder"])
    assert decided.exit_code == 0, decided.output
    assert f"tamper case {case['caseId']}: confirmed" in decided.output
    again = RUNNER.invoke(app, ["dismiss", str(case["caseId"])])
    assert again.exit_code != 0
    assert json.loads(RUNNER.invoke(app, ["cases", "--status", "pending", "--json"]).output) == []
