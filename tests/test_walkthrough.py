"""README "First 15 minutes": every command of the walkthrough, verbatim, on a fresh chain
from an empty data directory to a formed trade, its settlement window and a statement."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.engines.local import LocalChain, free_port
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def walkthrough_commands() -> list[str]:
    """The ``gridledger`` lines of the walkthrough section's ``sh`` blocks, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## First 15 minutes", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip().startswith("gridledger ")
    ]


def test_walkthrough_section_is_complete() -> None:
    commands = walkthrough_commands()
    assert commands[0] == "gridledger chain up"
    needed_commands = ("init", "deploy grant", "operator open-settlement", "node take")
    for needed in (*needed_commands, "node statement"):
        assert any(needed in c for c in commands), needed


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update(
        {
            "GRIDLEDGER_DATA_DIR": str(data),
            "GRIDLEDGER_RPC_PORT": str(port),
            "GRIDLEDGER_KEYSTORE_PASSWORD": "walkthrough",
            "GRIDLEDGER_KEYSTORE_SCRYPT_N": "16384",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "COLUMNS": "200",
        }
    )
    # The commands run in a directory holding the repository's example bundles.
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    started = time.monotonic()
    outputs: dict[str, str] = {}
    try:
        for command in walkthrough_commands():
            run = subprocess.run(
                shlex.split(command),
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
            outputs[command] = run.stdout
    finally:
        LocalChain(Settings(data_dir=data, rpc_port=port)).down()
    print(f"walkthrough: {len(outputs)} commands in {time.monotonic() - started:.0f} s")
    assert any("trade 1: 4 MWh of listing 1" in out for out in outputs.values())
    assert any("settlement of period 1 opens at" in out for out in outputs.values())
    csv = (tmp_path / "statement.csv").read_text()
    assert csv.startswith("node,period,item,trade_id,energy_wh")
