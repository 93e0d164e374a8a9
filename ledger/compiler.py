"""Offline, deterministic, incremental Solidity build.

The pinned solc-js (``hardhat-local/node_modules/solc``) is driven by py-solc-x through
``hardhat-local/solc-wrapper.js``; a native ``solc`` of exactly the pinned version on
``PATH`` is preferred when present. Python resolves the import graph itself and embeds
every source in the standard-JSON input, so the build-info file is complete and the
output does not depend on absolute paths (two builds are byte-identical).

Output layout (what crytic-compile reads for a Hardhat project)::

    artifacts/build-info/<id>.json                      standard JSON input + output
    artifacts/contracts/<File>.sol/<Name>.json          ABI, bytecode, storage layout
    artifacts/contracts/<File>.sol/<Name>.dbg.json      pointer to the build-info
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import solcx
from pydantic import BaseModel
from solcx.exceptions import SolcError

from ledger.errors import CompileError, ToolchainError
from ledger.settings import PROJECT_ROOT, Settings

#: The one pinned compiler version (also pinned in hardhat-local/package-lock.json).
SOLC_VERSION = "0.8.30"

#: Pinned compiler settings. ``paris`` keeps the bytecode runnable on Clique/QBFT chains.
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "paris",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {
            # Hardhat's own selection (its node and crytic-compile read the build-info)
            # plus the storage layout.
            "*": [
                "abi",
                "evm.bytecode",
                "evm.deployedBytecode",
                "evm.methodIdentifiers",
                "metadata",
                "storageLayout",
            ],
            "": ["ast"],
        }
    },
}

_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^;"']*?\s+from\s+)?["']([^"']+)["']""", re.M)
_STAMP = ".build-stamp"


class BuildResult(BaseModel):
    """What one build produced."""

    compiled: bool
    """False when the inputs were unchanged and the previous build was kept."""
    build_info_id: str
    solc_long_version: str
    artifact_hashes: dict[str, str]
    """``sourceName:ContractName`` -> sha256 of the artifact file."""
    warnings: list[str]


def _source_roots(settings: Settings) -> list[Path]:
    return [settings.contracts_dir.parent, settings.node_modules]


def collect_sources(settings: Settings) -> dict[str, str]:
    """All sources under ``contracts/`` and everything they import, by source unit name."""
    roots = _source_roots(settings)
    contracts_dir = settings.contracts_dir
    if not contracts_dir.is_dir():
        raise CompileError(f"no contracts directory at {contracts_dir}")
    pending = [
        path.relative_to(contracts_dir.parent).as_posix()
        for path in sorted(contracts_dir.rglob("*.sol"))
    ]
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        content = _read_unit(unit, roots)
        sources[unit] = content
        for imported in _IMPORT_RE.findall(content):
            if imported.startswith("."):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(unit), imported))
            else:
                target = imported
            if target not in sources:
                pending.append(target)
    return dict(sorted(sources.items()))


def _read_unit(unit: str, roots: list[Path]) -> str:
    if unit.startswith("/") or ".." in unit.split("/"):
        raise CompileError(f"import escapes the source roots: {unit}")
    for root in roots:
        candidate = root / unit
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise CompileError(
        f"cannot resolve import {unit!r} in {', '.join(str(r) for r in roots)}; "
        "run `npm ci` in hardhat-local/"
    )


def standard_input(sources: Mapping[str, str]) -> dict[str, Any]:
    """The standard-JSON compiler input for ``sources`` with the pinned settings."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": COMPILER_SETTINGS,
    }


def solc_binary(settings: Settings) -> Path:
    """A native solc of the pinned version if on PATH, else the solc-js wrapper."""
    native = shutil.which("solc")
    if native and _binary_version(Path(native)).startswith(SOLC_VERSION + "+"):
        return Path(native)
    if shutil.which("node") is None:
        raise ToolchainError("node is not installed: install Node.js 20+ and run `make compile`")
    wrapper = settings.hardhat_local_dir / "solc-wrapper.js"
    if not (settings.node_modules / "solc").is_dir():
        raise ToolchainError(
            f"solc-js is not installed: run `npm ci` in {settings.hardhat_local_dir}"
        )
    return wrapper.resolve()


def _binary_version(binary: Path) -> str:
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(f"{binary} --version failed: {exc}") from exc
    match = re.search(r"Version:\s*(\S+)", out)
    if not match:
        raise ToolchainError(f"{binary} --version printed no version")
    return match.group(1)


def _long_version(binary: Path) -> str:
    """``0.8.30+commit.73712a01`` (the platform suffix differs between builds: dropped)."""
    full = _binary_version(binary)
    match = re.match(r"(\d+\.\d+\.\d+\+commit\.[0-9a-f]+)", full)
    if not match or not full.startswith(SOLC_VERSION + "+"):
        raise ToolchainError(f"solc {full} found, {SOLC_VERSION} is pinned")
    return match.group(1)


def _dump(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def build(settings: Settings, *, force: bool = False) -> BuildResult:
    """Compile every contract under ``contracts/`` unless nothing changed since last time."""
    binary = solc_binary(settings)
    long_version = _long_version(binary)
    compiler_input = standard_input(collect_sources(settings))
    input_hash = hashlib.sha256(_dump({"solc": long_version, "input": compiler_input})).hexdigest()
    build_id = input_hash[:32]
    out_dir = settings.build_dir
    stamp = out_dir / _STAMP
    if not force and stamp.is_file():
        previous = BuildResult.model_validate_json(stamp.read_text())
        if previous.build_info_id == build_id and _artifacts_intact(out_dir, previous):
            return previous.model_copy(update={"compiled": False})

    env_roots = ":".join(str(r) for r in _source_roots(settings))
    old_env = os.environ.get("GRIDLEDGER_SOLC_ROOTS")
    os.environ["GRIDLEDGER_SOLC_ROOTS"] = env_roots
    try:
        output = solcx.compile_standard(compiler_input, solc_binary=binary)
    except SolcError as exc:
        raise CompileError(_solc_messages(exc)) from exc
    finally:
        if old_env is None:
            os.environ.pop("GRIDLEDGER_SOLC_ROOTS", None)
        else:
            os.environ["GRIDLEDGER_SOLC_ROOTS"] = old_env

    warnings = [
        e.get("formattedMessage", e.get("message", ""))
        for e in output.get("errors", [])
        if e.get("severity") != "error"
        and not e.get("sourceLocation", {}).get("file", "").startswith("@")
    ]
    build_info = {
        "_format": "hh-sol-build-info-1",
        "id": build_id,
        "solcVersion": SOLC_VERSION,
        "solcLongVersion": long_version,
        "input": compiler_input,
        "output": output,
    }
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "build-info").mkdir(parents=True)
    build_info_path = out_dir / "build-info" / f"{build_id}.json"
    build_info_path.write_bytes(_dump(build_info))
    hashes: dict[str, str] = {}
    for source_name, contracts in sorted(output.get("contracts", {}).items()):
        for name, compiled in sorted(contracts.items()):
            artifact_dir = out_dir / source_name
            artifact_dir.mkdir(parents=True, exist_ok=True)
            evm = compiled.get("evm", {})
            artifact = {
                "_format": "hh-sol-artifact-1",
                "contractName": name,
                "sourceName": source_name,
                "abi": compiled.get("abi", []),
                "bytecode": "0x" + evm.get("bytecode", {}).get("object", ""),
                "deployedBytecode": "0x" + evm.get("deployedBytecode", {}).get("object", ""),
                "linkReferences": evm.get("bytecode", {}).get("linkReferences", {}),
                "deployedLinkReferences": evm.get("deployedBytecode", {}).get("linkReferences", {}),
                "methodIdentifiers": evm.get("methodIdentifiers", {}),
                "storageLayout": compiled.get("storageLayout", {}),
            }
            data = _dump(artifact)
            (artifact_dir / f"{name}.json").write_bytes(data)
            dbg = {
                "_format": "hh-sol-dbg-1",
                "buildInfo": os.path.relpath(build_info_path, artifact_dir),
            }
            (artifact_dir / f"{name}.dbg.json").write_bytes(_dump(dbg))
            hashes[f"{source_name}:{name}"] = hashlib.sha256(data).hexdigest()
    result = BuildResult(
        compiled=True,
        build_info_id=build_id,
        solc_long_version=long_version,
        artifact_hashes=hashes,
        warnings=warnings,
    )
    stamp.write_text(result.model_dump_json(indent=2) + "\n")
    return result


def _artifacts_intact(out_dir: Path, previous: BuildResult) -> bool:
    for key, digest in previous.artifact_hashes.items():
        source_name, name = key.rsplit(":", 1)
        path = out_dir / source_name / f"{name}.json"
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return False
    return (out_dir / "build-info" / f"{previous.build_info_id}.json").is_file()


def _solc_messages(exc: SolcError) -> str:
    text = str(exc)
    return text if len(text) < 4000 else text[:4000] + "\n..."


def project_relative(path: Path) -> str:
    """``path`` relative to the project root when inside it (for messages)."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)
