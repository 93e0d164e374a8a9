"""Reverts decode by selector across every ABI of the build, so one selector must mean one
error: the same name and the same argument names wherever it is declared."""

from __future__ import annotations

from eth_utils.abi import function_signature_to_4byte_selector

from ledger import compiler
from ledger.artifacts import ArtifactStore
from ledger.revert import _abi_type
from ledger.settings import Settings


def test_every_error_selector_has_one_name_and_one_set_of_argument_names(
    build: compiler.BuildResult,
) -> None:
    seen: dict[bytes, tuple[str, tuple[str, ...], str]] = {}
    clashes = []
    for artifact in ArtifactStore.from_settings(Settings()).all():
        for item in artifact.abi:
            if item.get("type") != "error":
                continue
            types = ",".join(_abi_type(p) for p in item["inputs"])
            selector = function_signature_to_4byte_selector(f"{item['name']}({types})")
            names = tuple(p.get("name", "") for p in item["inputs"])
            entry = (str(item["name"]), names, artifact.contract_name)
            previous = seen.setdefault(selector, entry)
            if previous[:2] != entry[:2]:
                clashes.append((previous, entry))
    assert clashes == []
