"""``gridledger retail``: publish, bind, issue bills, pay, re-derive and check, report; bad
input refused with one ``error:`` line and a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import run
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.bill import compute_bill
from ledger.retail.months import first_day, local_datetime, month_bounds
from ledger.retail.packages import RetailPackage
from ledger.retail.rates import PublishedRates
from ledger.retail.readings import from_rows, write_csv
from ledger.settings import Settings
from node.retail.cli import app
from tests.retail.onchain_fixtures import Retail, market, retail

__all__ = ["market", "retail"]

METER = "0x" + "0a" * 32
RATES = {
    "name": "Test rates",
    "td_rates": [
        {"consumer_class": "commercial", "voltage_level": "below_1kv", "rate_fen_per_mwh": 120_000}
    ],
    "funds": [{"name": "Renewable energy surcharge", "rate_fen_per_mwh": 19_000}],
}


def _last_month(retail: Retail) -> int:
    today = local_datetime(retail.now()).date()
    year, month = today.year, today.month - 1
    return (year - 1) * 100 + 12 if month == 0 else year * 100 + month


@pytest.fixture
def files(retail: Retail, tmp_path: Path) -> dict[str, Path]:
    month = _last_month(retail)
    start, _ = month_bounds(month)
    package = RetailPackage.model_validate(
        {
            "retailer": retail.retailer.address,
            "name": "Business fixed",
            "consumer_class": "commercial",
            "valid_from": first_day(month).isoformat(),
            "valid_to": first_day(month).replace(year=first_day(month).year + 1).isoformat(),
            "pricing": {"kind": "fixed", "price_fen_per_mwh": 450_000},
        }
    )
    account = ConsumerAccount.model_validate(
        {
            "node": retail.consumer.address,
            "consumer_class": "commercial",
            "voltage_level": "below_1kv",
            "contracted_capacity_kva": 630,
            "pf_standard_milli": 900,
            "meters": [{"meter_id": METER, "valid_from": 0}],
        }
    )
    rows = [(METER, start + k * 900, 25_000 + k, 0, 9_000) for k in range(96)]
    paths = {k: tmp_path / f"{k}.json" for k in ("package", "account", "rates", "bill")}
    paths["readings"] = tmp_path / "readings.csv"
    paths["package"].write_text(package.model_dump_json())
    paths["account"].write_text(account.model_dump_json())
    paths["rates"].write_text(json.dumps(RATES))
    write_csv(from_rows(rows), paths["readings"])
    rates = PublishedRates.model_validate(RATES)
    bill = compute_bill(account, from_rows(rows), package, rates, month)
    paths["bill"].write_text(bill.model_dump_json())
    return paths


def _runner(settings: Settings) -> Callable[..., str]:
    env = {
        "GRIDLEDGER_DATA_DIR": str(settings.data_dir),
        "GRIDLEDGER_RPC_URL": settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return invoke


def test_cli_publish_bind_issue_pay_check_report(
    retail: Retail, session_settings: Settings, files: dict[str, Path], tmp_path: Path
) -> None:
    cli = _runner(session_settings)
    month = _last_month(retail)
    assert "published package 1" in cli("publish", str(files["package"]), "-w", "node-4")
    assert "package 1 (0x" in cli("package-check", str(files["package"]))
    listed = json.loads(cli("packages", "--retailer", retail.retailer.address, "--json"))
    assert [(p["id"], p["pricing_kind"], p["headline_price_fen_per_mwh"]) for p in listed] == [
        (1, "fixed", 450_000)
    ]
    to = str(retail.now() + 30 * 86_400)
    out = cli("bind", "1", "--contract", str(retail.agency), "--account", str(files["account"]),
              "--to", to, "-w", "node-3")  # fmt: skip
    assert "bound as binding 1 to package 1" in out
    (shown,) = json.loads(cli("binding", retail.consumer.address, "--json"))
    assert shown["terms"]["contracted_capacity_kva"] == 630
    issue = tmp_path / "issue.json"
    due = str(retail.now() + 15 * 86_400)
    out = cli("issue-bills", str(files["bill"]), "--month", str(month), "--due", due,
              "-o", str(issue), "-w", "node-4")  # fmt: skip
    assert f"anchored batch 1: 1 bills of {month}" in out
    bill = json.loads(files["bill"].read_text())
    total = bill["total_fen"]
    out = cli("pay", "--issue", str(issue), "--consumer", "node-3", "--amount-fen", "100",
              "--approve", "-w", "node-3")  # fmt: skip
    assert f"paid 1.00 CNY of {retail.consumer.address}'s bill" in out
    check = ("bill-check", "--issue", str(issue), "--account", str(files["account"]),
             "--readings", str(files["readings"]), "--package", str(files["package"]),
             "--rates", str(files["rates"]))  # fmt: skip
    status = json.loads(cli(*check, "--json"))
    assert (status["paid_fen"], status["total_fen"]) == (100, total)
    cli("pay", "--issue", str(issue), "--consumer", "node-3", "--approve", "-w", "node-3")
    (batch,) = json.loads(cli("bills", "--json"))
    assert (batch["count"], batch["total_fen"], batch["paid_fen"]) == (1, total, total)
    report_csv = tmp_path / "report.csv"
    report = json.loads(
        cli("report", "node-4", "--month", str(month), "--csv", str(report_csv), "--json")
    )
    assert (report["bills"], report["revenue_fen"], report["paid_fen"]) == (1, total, total)
    rows = list(csv.reader(io.StringIO(report_csv.read_text())))
    assert rows[-1][0] == "total"
    assert rows[-1][-2:] == [str(total), str(total)]
    intervals = tmp_path / "intervals.csv"
    out = cli("report", "node-4", "--month", str(month), "--intervals-csv", str(intervals),
              "--account", str(files["account"]), "--readings", str(files["readings"]))  # fmt: skip
    assert "0 intervals: purchased 0.000 MWh" in out  # no period in that month
    rows = list(csv.reader(io.StringIO(intervals.read_text())))
    assert rows[0][:6] == ["period_id", "interval", "interval_start", "purchased_wh",
                           "consumed_wh", "imbalance_wh"]  # fmt: skip
    assert rows[-1][0] == "total"
    assert rows[-1][-2:] == [str(total), str(total - int(rows[-1][-3]))]  # revenue, margin


def test_cli_refusals_are_one_error_line(
    retail: Retail,
    session_settings: Settings,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(session_settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_RPC_URL", session_settings.rpc_url)
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "1")
    month = _last_month(retail)

    def refused(*args: str) -> str:
        capsys.readouterr()
        assert run(["retail", *args]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: "), err
        assert "\n" not in err, err
        return err

    # the package's retailer is node-4: node-5 cannot publish it
    assert "the package's retailer is" in refused("publish", str(files["package"]), "-w", "node-5")
    assert "is published" in refused("package-check", str(files["package"]))
    cli = _runner(session_settings)
    cli("publish", str(files["package"]), "-w", "node-4")
    err = refused("withdraw", "1", "-w", "node-3")
    assert "NotPackageRetailer" in err
    to = str(retail.now() + 30 * 86_400)
    err = refused("bind", "1", "--contract", str(retail.agency2), "--account",
                  str(files["account"]), "--to", to, "-w", "node-3")  # fmt: skip
    assert "AgencyPartiesMismatch" in err
    bad_account = tmp_path / "bad-account.json"
    bad_account.write_text(
        json.dumps(json.loads(files["account"].read_text()) | {"pf_standard_milli": 950})
    )
    err = refused("bind", "1", "--contract", str(retail.agency), "--account", str(bad_account),
                  "--to", to, "-w", "node-3")  # fmt: skip
    assert "pf_standard_milli" in err
    issue = tmp_path / "issue.json"
    due = str(retail.now() + 86_400)
    err = refused("issue-bills", str(files["bill"]), "--month", str(month + 1), "--due", due,
                  "-o", str(issue), "-w", "node-4")  # fmt: skip
    assert "every bill must be of month" in err
    err = refused("issue-bills", str(files["bill"]), "--month", str(month), "--due", due,
                  "-o", str(issue), "-w", "node-5")  # fmt: skip
    assert f"not {retail.retailer2.address}'s for {month}" in err
    cli("issue-bills", str(files["bill"]), "--month", str(month), "--due", due, "-o", str(issue),
        "-w", "node-4")  # fmt: skip
    total = json.loads(files["bill"].read_text())["total_fen"]
    err = refused("pay", "--issue", str(issue), "--consumer", "node-3", "--amount-fen",
                  str(total + 1), "--approve", "-w", "node-3")  # fmt: skip
    assert "Overpayment" in err
    # a reading changed by one Wh: the re-derived bill is not the anchored one
    readings = files["readings"].read_text().splitlines()
    head, first, *rest = readings
    fields = first.split(",")
    fields[2] = str(int(fields[2]) + 1)
    changed = tmp_path / "changed.csv"
    changed.write_text("\n".join([head, ",".join(fields), *rest]) + "\n")
    err = refused("bill-check", "--issue", str(issue), "--account", str(files["account"]),
                  "--readings", str(changed), "--package", str(files["package"]),
                  "--rates", str(files["rates"]))  # fmt: skip
    assert "is not the one anchored in batch 1" in err
    assert "month must be YYYYMM" in refused("report", "node-4", "--month", "202613")
