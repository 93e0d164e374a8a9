"""Loading compiled artifacts written by :mod:`ledger.compiler`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.errors import ArtifactError
from ledger.settings import Settings


class Artifact(BaseModel):
    """One compiled contract."""

    model_config = ConfigDict(frozen=True)

    contract_name: str
    source_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    sha256: str
    """sha256 of the artifact file: what the manifest records."""


class ArtifactStore:
    """The artifacts of the last build, by contract name (suite contracts first)."""

    def __init__(self, build_dir: Path) -> None:
        self._build_dir = build_dir
        self._cache: dict[str, Artifact] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactStore:
        return cls(settings.build_dir)

    def _paths(self) -> Iterator[Path]:
        for root in ("contracts", "@openzeppelin"):
            base = self._build_dir / root
            if base.is_dir():
                yield from (
                    p for p in sorted(base.rglob("*.json")) if not p.name.endswith(".dbg.json")
                )

    def get(self, name: str) -> Artifact:
        """The artifact of contract ``name``; suite sources win over library ones."""
        if name in self._cache:
            return self._cache[name]
        for path in self._paths():
            if path.stem == name:
                artifact = _read(path)
                self._cache[name] = artifact
                return artifact
        raise ArtifactError(
            f"no artifact for contract {name!r} in {self._build_dir}: run `gridledger "
            "contracts build`"
        )

    def all(self) -> list[Artifact]:
        """Every artifact of the build (suite and imported library contracts)."""
        return [_read(p) for p in self._paths()]

    def suite(self) -> list[Artifact]:
        """The artifacts compiled from ``contracts/``."""
        return [a for a in self.all() if a.source_name.startswith("contracts/")]


def _read(path: Path) -> Artifact:
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
        return Artifact(
            contract_name=data["contractName"],
            source_name=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            sha256=hashlib.sha256(raw).hexdigest(),
        )
    except (ValueError, KeyError) as exc:
        raise ArtifactError(f"unreadable artifact {path}: {exc}") from exc
