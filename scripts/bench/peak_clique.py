"""The peak on the consortium: the 4-validator geth Clique network of ``gridledger
consortium up`` (genesis, ports and keys as the CLI makes them), in a private tmp dir, with
the participants prefunded in the genesis; and where its time goes (each geth's block
build and import times, from its log).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.context import LedgerContext
from ledger.deploy import deploy_suite
from ledger.engines.clique import (
    CONSORTIUM_CHAIN_ID,
    DEFAULT_GAS_LIMIT,
    Consortium,
    ensure_geth,
    find_geth,
)
from ledger.keystore import DEMO_ROLE_WALLETS
from ledger.settings import Settings
from ledger.web3factory import make_web3
from scripts.bench.common import BenchChain, percentile, role

#: The issue's network: 4 validators, 1 s period, the default 30M gas.
VALIDATORS = 4
PERIOD_S = 1
#: Validator keystores of a throwaway network: the cheapest cost geth's keys accept.
SCRYPT_N = 2**14

_ELAPSED = re.compile(r"elapsed=\"?([0-9.]+)(ms|s|µs|us)")
_UNIT = {"ms": 1.0, "s": 1000.0, "µs": 0.001, "us": 0.001}


def geth_available() -> bool:
    return find_geth() is not None


@dataclass
class Network:
    chain: BenchChain
    consortium: Consortium
    urls: list[str]

    def log_offsets(self) -> list[int]:
        """Where each node's log ends now (to read only what a burst wrote)."""
        return [self._log(n).stat().st_size for n in range(len(self.urls))]

    def _log(self, n: int) -> Path:
        return self.consortium.log_path(n)

    def block_work(self, offsets: Sequence[int]) -> dict[str, Any]:
        """Block build ("Commit new sealing work") and import ("Imported new chain
        segment") times in ms, from every node's log since ``offsets``."""
        build: list[float] = []
        imports: list[float] = []
        for n, offset in enumerate(offsets):
            with self._log(n).open("rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            for line in text.splitlines():
                match = _ELAPSED.search(line)
                if match is None:
                    continue
                ms = float(match.group(1)) * _UNIT[match.group(2)]
                if "Commit new sealing work" in line:
                    build.append(ms)
                elif "Imported new chain segment" in line:
                    imports.append(ms)
        return {
            "build_ms_p50": percentile(build, 0.5) if build else None,
            "build_ms_max": max(build) if build else None,
            "import_ms_p50": percentile(imports, 0.5) if imports else None,
            "import_ms_max": max(imports) if imports else None,
            "builds": len(build),
            "imports": len(imports),
        }


@contextmanager
def clique_network(prefund: Sequence[str]) -> Iterator[Network]:
    """Start the network (``prefund`` funded in its genesis), deploy the suite on it."""
    tmp = Path(tempfile.mkdtemp(prefix="gl-peak-clique-"))
    consortium = Consortium(tmp / "consortium")
    try:
        roles = [role(name).address for name in DEMO_ROLE_WALLETS]
        consortium.up(
            validators=VALIDATORS,
            period_s=PERIOD_S,
            prefund=[*roles, *prefund],
            gas_limit=DEFAULT_GAS_LIMIT,
            scrypt_n=SCRYPT_N,
            geth=ensure_geth(),
        )
        urls = [node.rpc_url for node in consortium.load_state().nodes]
        settings = Settings.model_validate(
            {
                "data_dir": tmp / "data",
                "GRIDLEDGER_RPC_URL": urls[0],
                "chain_id": CONSORTIUM_CHAIN_ID,
                "poa": True,
                "demo_keys": True,
                "keystore_scrypt_n": 1024,
                "priority_fee_wei": 1,
                "admin_transfer_delay_s": 3600,
                "tx_timeout_s": 300.0,
                "rpc_timeout_s": 120.0,
            }
        )
        ctx = LedgerContext(settings, w3=make_web3(settings))
        deploy_suite(ctx, role("ADMIN"))
        chain = BenchChain(settings=settings, ctx=ctx, url=urls[0], proc=None, data_dir=tmp)
        yield Network(chain=chain, consortium=consortium, urls=urls)
    finally:
        if consortium.exists():
            consortium.down(timeout_s=15)
        shutil.rmtree(tmp, ignore_errors=True)
