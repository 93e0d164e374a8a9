"""The deployment manifest: where the suite lives on which chain."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, Field

from ledger.errors import DeploymentError, NotFoundError


class DeployedContract(BaseModel):
    """One deployed contract."""

    name: str
    address: str
    tx_hash: str
    block_number: int
    artifact_sha256: str


class Manifest(BaseModel):
    """Written by ``gridledger deploy`` to ``<data_dir>/manifest.json``."""

    chain_id: int
    rpc_url: str
    deployer: str
    deploy_block: int
    contracts: dict[str, DeployedContract]
    roles: dict[str, list[str]] = Field(default_factory=dict)
    solc_version: str
    build_info_id: str
    git_commit: str | None
    created_at: str

    def address(self, name: str) -> str:
        """The address of contract ``name``."""
        try:
            return self.contracts[name].address
        except KeyError as exc:
            raise NotFoundError(
                f"contract {name} is not in the manifest: redeploy with `gridledger deploy`"
            ) from exc


def load_manifest(path: Path) -> Manifest:
    """Read the manifest at ``path``."""
    if not path.is_file():
        raise DeploymentError(f"no deployment manifest at {path}: run `gridledger deploy`")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DeploymentError(f"unreadable manifest {path}: {exc}") from exc


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write atomically (temp file then rename), so a crash never leaves half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
