"""``gridledger retail bill`` offline commands (the Typer app retail22 mounts)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from node.retail.bill_cli import bill_app

RUNNER = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(bill_app, list(args))
    return result.exit_code, result.output


def inputs(tmp_path: Path) -> list[str]:
    """The example's account, rates, readings and month as options."""
    names = {"--account": "account.json", "--rates": "rates.json", "--readings": "readings.csv"}
    return [a for opt, name in names.items() for a in (opt, str(tmp_path / name))] + [
        "--month",
        "202607",
    ]


def test_example_compute_verify_whatif_root(tmp_path: Path) -> None:
    code, out = run("example", str(tmp_path))
    assert code == 0, out
    common = inputs(tmp_path)
    packages = sorted(tmp_path.glob("package*.json"))
    assert len(packages) == 2
    pkg = ["--package", str(packages[0])]
    code, out = run("compute", *common, *pkg, "--out-dir", str(tmp_path / "out"), "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["total_fen"] > 0
    assert len(summary["files"]) == 4
    bill_json = Path(next(f for f in summary["files"] if f.endswith(".json")))
    assert Path(next(f for f in summary["files"] if f.endswith(".pdf"))).read_bytes()[:4] == b"%PDF"

    hash_args = ["--hash", summary["bill_hash"], "--total-fen", str(summary["total_fen"])]
    code, out = run("verify", *common, *pkg, "--bill", str(bill_json), *hash_args)
    assert code == 0, out
    assert out.startswith("ok: ")

    forged = json.loads(bill_json.read_text())
    forged["lines"][0]["amount_fen"] += 1
    forged["total_fen"] += 1
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps(forged))
    code, out = run("verify", *common, *pkg, "--bill", str(bad))
    assert code == 1
    assert "MISMATCH total_fen" in out

    code, out = run(
        "whatif", *common, "--package", str(packages[0]), "--package", str(packages[1]), "--json"
    )
    assert code == 0, out
    quotes = json.loads(out)
    assert len(quotes) == 2
    assert summary["total_fen"] in [q["total_fen"] for q in quotes]

    code, out = run("root", str(bill_json), "--json")
    assert code == 0, out
    assert json.loads(out)["root"] == json.loads(out)["bills"][0]["leaf"]


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    run("example", str(tmp_path))
    pkg = json.loads((tmp_path / "package-fixed.json").read_text())
    pkg["pricing"]["price_fen_per_mwh"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(pkg))
    result = RUNNER.invoke(
        bill_app, ["compute", *inputs(tmp_path), "--package", str(tmp_path / "bad.json")]
    )
    assert result.exit_code != 0
    assert "price_fen_per_mwh: Input should be greater than or equal to 0" in str(result.exception)
