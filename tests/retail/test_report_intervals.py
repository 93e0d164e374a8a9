"""The retailer report per 15-minute interval (``node.retail.intervals``): two trades over
different interval ranges spread evenly (remainder 1 Wh each to the first intervals), two
customers' readings (meter windows, binding windows), and bad input refused."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ledger.cli import run
from ledger.clients.retail import Binding
from ledger.clients.trading import Period, Trade, TradeStatus
from ledger.errors import ValidationError
from ledger.retail.accounts import ConsumerAccount
from ledger.retail.readings import from_rows, write_csv
from ledger.units import split_even_wh
from node.retail.intervals import interval_positions, intervals_csv
from tests.retail.onchain_fixtures import TERMS

S = 1_800_000_000  # delivery start of the period
C1 = "0x" + "11" * 20
C2 = "0x" + "22" * 20
RETAILER = "0x" + "44" * 20
PERIOD = Period(
    id=1,
    delivery_start=S,
    interval_s=900,
    intervals=4,
    posting_opens_at=0,
    taking_opens_at=0,
    taking_closes_at=S,
)


def _trade(trade_id: int, period_id: int, first: int, last: int, energy_wh: int) -> Trade:
    return Trade(
        id=trade_id, listing_id=trade_id, buyer=RETAILER, seller=C1, period_id=period_id,
        first_interval=first, last_interval=last, status=TradeStatus.FORMED, formed_at=0,
        energy_wh=energy_wh, price_fen_per_mwh=0, energy_fen=0, route=[], sum_rate_fen_per_mwh=0,
        fee_fen=0, escrow_fen=0, exposure_fen=0, executed_wh=0, curtailed_wh=0, paid_out_fen=0,
    )  # fmt: skip


def _binding(binding_id: int, consumer: str, valid_from: int) -> Binding:
    return Binding(
        id=binding_id, consumer=consumer, retailer=RETAILER, package_id=1, contract_no=1,
        valid_from=valid_from, valid_to=S + 86_400, terms=TERMS, bound_at=0,
        previous_binding_id=0,
    )  # fmt: skip


def consumer_account(node: str, meters: list[dict[str, object]]) -> ConsumerAccount:
    return ConsumerAccount.model_validate(
        {
            "node": node,
            "consumer_class": "commercial",
            "voltage_level": "below_1kv",
            "contracted_capacity_kva": 630,
            "meters": meters,
        }
    )


ACCOUNTS = [
    consumer_account(C1, [{"meter_id": "m1", "valid_from": 0}]),
    # m2 until the third interval, m3 from it (a meter replaced mid-period)
    consumer_account(
        C2,
        [
            {"meter_id": "m2", "valid_from": 0, "valid_to": S + 1800},
            {"meter_id": "m3", "valid_from": S + 1800},
        ],
    ),
]
#: C1 bound over the whole day; C2 only from the second interval
BINDINGS = [_binding(1, C1, 0), _binding(2, C2, S + 900)]
ROWS = [
    *(("m1", S + k * 900, (k + 1) * 100, 0, 0) for k in range(4)),
    ("m2", S, 50, 0, 0),  # C2 not bound yet: not counted
    ("m2", S + 900, 60, 0, 0),
    ("m2", S + 1800, 70, 0, 0),  # m2 no longer C2's meter: not counted
    ("m3", S + 1800, 80, 0, 0),
    ("m3", S + 2700, 90, 0, 0),
    ("m9", S, 999, 0, 0),  # nobody's meter
    ("m1", S + 3600, 500, 0, 0),  # after the period
]
TRADES = [
    _trade(1, 1, 0, 2, 10),  # 4, 3, 3
    _trade(2, 1, 1, 3, 1001),  # 334, 334, 333
    _trade(3, 2, 0, 3, 7_000),  # another period (not in the report)
]


def test_split_even_wh_floor_shares_and_remainder_first() -> None:
    assert split_even_wh(10, 3) == [4, 3, 3]
    assert split_even_wh(1001, 3) == [334, 334, 333]
    assert split_even_wh(2_000_000, 96) == [20_834] * 32 + [20_833] * 64
    assert sum(split_even_wh(2_000_000, 96)) == 2_000_000
    assert split_even_wh(2, 4) == [1, 1, 0, 0]
    with pytest.raises(ValidationError):
        split_even_wh(5, 0)


def test_intervals_hand_computed() -> None:
    readings = [from_rows(ROWS[:5]), from_rows(ROWS[5:])]  # two files
    rows = interval_positions([PERIOD], TRADES, ACCOUNTS, readings, BINDINGS)
    got = [(r.interval, r.interval_start, r.purchased_wh, r.consumed_wh, r.imbalance_wh)
           for r in rows]  # fmt: skip
    assert got == [
        (0, S, 4, 100, 96),
        (1, S + 900, 337, 200 + 60, -77),
        (2, S + 1800, 337, 300 + 80, 43),
        (3, S + 2700, 333, 400 + 90, 157),
    ]
    assert sum(r.purchased_wh for r in rows) == 10 + 1001  # energy conserved exactly
    lines = list(csv.reader(io.StringIO(intervals_csv(rows, 5_000, 8_000))))
    assert lines[0] == [
        "period_id", "interval", "interval_start", "purchased_wh", "consumed_wh",
        "imbalance_wh", "wholesale_cost_fen", "revenue_fen", "margin_fen",
    ]  # fmt: skip
    assert lines[1] == ["1", "0", str(S), "4", "100", "96", "", "", ""]
    assert lines[-1] == ["total", "", "", "1011", "1230", "219", "5000", "8000", "3000"]


def test_two_accounts_of_one_node_refused() -> None:
    with pytest.raises(ValidationError, match="same node"):
        interval_positions([PERIOD], [], [ACCOUNTS[0], ACCOUNTS[0]], [], BINDINGS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "needs the customers' --account files"),
        (("--account", "{account}"), "either --readings files or --oracle-db"),
        (
            ("--account", "{account}", "--readings", "{readings}", "--oracle-db", "sqlite://"),
            "either --readings files or --oracle-db",
        ),
        (("--account", "{account}", "--readings", "{missing}"), "no such file"),
        (("--account", "{account}", "--readings", "{bad}"), "missing column"),
    ],
)
def test_report_interval_inputs_refused_with_one_error_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(tmp_path))
    paths = {k: tmp_path / f"{k}.csv" for k in ("readings", "missing", "bad")}
    paths["account"] = tmp_path / "account.json"
    paths["account"].write_text(ACCOUNTS[0].model_dump_json())
    write_csv(from_rows(ROWS), paths["readings"])
    paths["bad"].write_text("meter_id,import_wh\nm1,5\n")
    args = [a.format(**{k: str(v) for k, v in paths.items()}) for a in extra]
    out = str(tmp_path / "intervals.csv")
    capsys.readouterr()
    code = run(["retail", "report", RETAILER, "--month", "202701", "--intervals-csv", out, *args])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: "), err
    assert "\n" not in err, err
    assert message in err


def test_interval_inputs_from_oracle_store(tmp_path: Path) -> None:
    """``--oracle-db``: each account's counted readings of the month (flagged ones not)."""
    from sqlalchemy import text

    from ledger.db import engine_for_url
    from ledger.retail.months import month_bounds
    from node.retail.cli import _interval_inputs

    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    start, _ = month_bounds(202701)
    with engine_for_url(url).begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE oracle_readings (meter_id TEXT, interval_start INTEGER, "
                "import_wh INTEGER, export_wh INTEGER, reactive_varh INTEGER, status TEXT)"
            )
        )
        for k, status in enumerate(("accepted", "cleared", "flagged")):
            conn.execute(
                text("INSERT INTO oracle_readings VALUES ('m1', :t, :wh, 0, 0, :s)"),
                {"t": start + k * 900, "wh": 100 + k, "s": status},
            )
    account = tmp_path / "account.json"
    account.write_text(ACCOUNTS[0].model_dump_json())
    accounts, readings = _interval_inputs([account], [], url, 202701)
    assert accounts == [ACCOUNTS[0]]
    (got,) = readings
    assert got.import_wh.tolist() == [100, 101]
