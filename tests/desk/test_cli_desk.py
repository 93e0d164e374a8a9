"""``gridledger desk``: file, track, move, rate, anchor and verify from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.cli import run
from ledger.context import LedgerContext
from ledger.keystore import DEMO_NODE_BASE, demo_account


@pytest.fixture
def desk_cli(ctx: LedgerContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Environment of the session chain (demo keys); yields the desk database URL."""
    monkeypatch.setenv("GRIDLEDGER_DATA_DIR", str(ctx.settings.data_dir))
    monkeypatch.setenv("GRIDLEDGER_RPC_URL", ctx.settings.rpc_url)
    monkeypatch.setenv("GRIDLEDGER_DEMO_KEYS", "1")
    monkeypatch.setenv("COLUMNS", "300")
    return f"sqlite:///{tmp_path / 'desk.db'}"


def gl(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation(input="") as streams:
        code = run(list(args))
        out = streams[0].getvalue().decode()
        err = streams[2].getvalue().decode()
    return code, out, err


def test_a_complaint_from_the_command_line(desk_cli: str, tmp_path: Path) -> None:
    db = ("--db", desk_cli)
    photo = tmp_path / "meter.jpg"
    photo.write_bytes(b"jpeg")
    code, out, err = gl(
        "desk",
        "file",
        "metering",
        "Meter stuck",
        "-w",
        "node-5",
        "--body",
        "no readings since May",
        "--meter",
        "m-17",
        "--attach",
        str(photo),
        "--json",
        *db,
    )
    assert code == 0, err
    filed = json.loads(out)
    assert (filed["id"], filed["state"], filed["links"]["meter"]) == (1, "new", "m-17")
    assert filed["filer"] == demo_account(DEMO_NODE_BASE + 5).address
    code, _out, err = gl("desk", "move", "1", "resolved", "-w", "operator", *db)
    assert (code, err.strip()) == (1, "error: complaint 1 cannot move from new to resolved")
    assert gl("desk", "assign", "1", "regulator", "-w", "operator", *db)[0] == 0
    for step in ("in_progress", "resolved"):
        assert gl("desk", "move", "1", step, "-w", "operator", "--note", "ok", *db)[0] == 0
    assert gl("desk", "rate", "1", "4", "-w", "node-5", *db)[0] == 0
    code, out, _err = gl("desk", "show", "1", "-w", "node-5", *db)
    assert "change #5" in out
    assert "(operator)" in out
    assert "meter.jpg" in out
    code, out, _err = gl("desk", "list", "-w", "operator", "--state", "resolved", *db)
    assert out.startswith("#1 [resolved] metering/complaint Meter stuck")
    code, _out, err = gl("desk", "anchor", "-w", "node-5", *db)
    assert (code, "does not hold OPERATOR" in err) == (1, True)
    code, out, err = gl("desk", "anchor", "-w", "operator", *db)
    assert code == 0, err
    assert out.startswith("anchored batch 1: changes #1..#6 root 0x")
    code, out, err = gl("desk", "verify", *db)
    assert (code, out.strip()) == (0, "desk database intact: 6 changes, 6 anchored in 1 batches")
    assert (
        gl(
            "desk",
            "kb",
            "add",
            "Meters",
            "-w",
            "regulator",
            "--body",
            "stuck meters",
            "--tags",
            "metering",
            *db,
        )[0]
        == 0
    )
    code, out, _err = gl("desk", "kb", "search", "meter", *db)
    assert out.strip() == "1: Meters [metering]"
    assert gl("desk", "kb", "search", "tariff", *db)[1].strip() == "no article matches"
    assert gl("desk", "announce", "Closed Sunday", "-w", "operator", *db)[0] == 0
    code, out, _err = gl("desk", "feed", *db)
    assert "[operator] Closed Sunday" in out
