from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import compiler
from ledger.errors import CompileError
from ledger.settings import Settings


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first = compiler.build(Settings(build_dir=tmp_path / "a"), force=True)
    second = compiler.build(Settings(build_dir=tmp_path / "b"), force=True)
    assert first.artifact_hashes == second.artifact_hashes
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_unchanged_inputs_are_not_recompiled(tmp_path: Path) -> None:
    settings = Settings(build_dir=tmp_path / "out")
    assert compiler.build(settings).compiled is True
    again = compiler.build(settings)
    assert again.compiled is False
    assert again.artifact_hashes == compiler.build(settings, force=True).artifact_hashes


def test_a_changed_source_is_recompiled(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    source = contracts / "Probe.sol"
    source.write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Probe {}\n"
    )
    settings = Settings(contracts_dir=contracts, build_dir=tmp_path / "out")
    first = compiler.build(settings)
    source.write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\n"
        "contract Probe { uint256 public x; }\n"
    )
    second = compiler.build(settings)
    assert second.compiled is True
    assert first.build_info_id != second.build_info_id
    assert (
        first.artifact_hashes["contracts/Probe.sol:Probe"]
        != second.artifact_hashes["contracts/Probe.sol:Probe"]
    )


def test_compile_error_names_the_problem(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Broken.sol").write_text(
        "pragma solidity 0.8.30;\ncontract Broken { uint x = ; }\n"
    )
    settings = Settings(contracts_dir=contracts, build_dir=tmp_path / "out")
    with pytest.raises(CompileError, match=r"ParserError[\s\S]*Broken\.sol"):
        compiler.build(settings)


def test_artifacts_and_build_info_follow_the_hardhat_layout(build: compiler.BuildResult) -> None:
    out = Settings().build_dir
    artifact_path = out / "contracts/access/MarketAccess.sol/MarketAccess.json"
    artifact = json.loads(artifact_path.read_text())
    assert artifact["_format"] == "hh-sol-artifact-1"
    assert artifact["contractName"] == "MarketAccess"
    assert artifact["sourceName"] == "contracts/access/MarketAccess.sol"
    assert artifact["bytecode"].startswith("0x60")
    assert artifact["deployedBytecode"].startswith("0x60")
    assert any(i.get("name") == "grantRole" for i in artifact["abi"])
    assert any(s["label"] == "_pendingDefaultAdmin" for s in artifact["storageLayout"]["storage"])
    dbg = json.loads((artifact_path.parent / "MarketAccess.dbg.json").read_text())
    assert dbg == {
        "_format": "hh-sol-dbg-1",
        "buildInfo": f"../../../build-info/{build.build_info_id}.json",
    }
    info = json.loads((artifact_path.parent / dbg["buildInfo"]).read_text())
    assert info["_format"] == "hh-sol-build-info-1"
    assert info["solcVersion"] == compiler.SOLC_VERSION
    assert info["input"]["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert info["input"]["settings"]["evmVersion"] == "paris"
    assert "@openzeppelin/contracts/access/AccessControl.sol" in info["input"]["sources"]
    assert "contracts/access/MarketAccess.sol" in info["output"]["contracts"]
