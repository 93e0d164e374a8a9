"""Mistakes found walking ``gridledger analytics`` by hand: each is one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

from tests.analytics.test_analytics_cli import _run


def _example(tmp_path: Path) -> Path:
    code, _out, err = _run(["retail", "bill", "example", str(tmp_path)])
    assert code == 0, err
    return tmp_path


def _advice(d: Path, month: str, account: Path | None = None) -> tuple[int, str, str]:
    return _run(
        [
            "analytics",
            "advice",
            "--account",
            str(account or d / "account.json"),
            "--package",
            str(d / "package-time_of_use.json"),
            "--rates",
            str(d / "rates.json"),
            "--readings",
            str(d / "readings.csv"),
            "--month",
            month,
        ]
    )


def test_advice_for_a_month_without_readings_says_so(tmp_path: Path) -> None:
    d = _example(tmp_path)
    code, _out, err = _advice(d, "202606")
    assert code == 1
    assert err.startswith("error: no readings of 0x")
    assert err.rstrip().endswith("'s meters in month 202606")


def test_a_file_that_is_not_text_is_named(tmp_path: Path) -> None:
    d = _example(tmp_path)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, _out, err = _advice(d, "202607", account=binary)
    assert (code, err.strip()) == (1, f"error: {binary} is not UTF-8 text")
    code, _out, err = _run(["analytics", "clusters", "--readings", str(binary)])
    assert (code, err.strip()) == (1, f"error: {binary} is not UTF-8 text")
