"""Fixtures of the tariff tests: the regulator's client and small graph builders."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.tariff import TransmissionTariffClient
from ledger.context import LedgerContext
from ledger.keystore import demo_account
from tests.conftest import role_account

#: The example grid of docs/tariff.md: Jibei's five cities, rates in fen/MWh.
CITIES = {0: "Tangshan", 1: "Zhangjiakou", 2: "Qinhuangdao", 3: "Chengde", 4: "Langfang"}
CITY_RATES = {0: 3_000, 1: 9_000, 2: 1_000, 3: 1_500, 4: 2_000}
#: Tangshan-Zhangjiakou-Langfang is the shortest path (3 regions, 14,000 fen/MWh);
#: Tangshan-Qinhuangdao-Chengde-Langfang the cheapest (4 regions, 7,500 fen/MWh).
CITY_EDGES = [(0, 1), (1, 4), (0, 2), (2, 3), (3, 4)]


@pytest.fixture
def regulator() -> LocalAccount:
    return role_account("REGULATOR")


@pytest.fixture
def outsider() -> LocalAccount:
    return demo_account(1000 + 7)


@pytest.fixture
def tariff(ctx: LedgerContext, regulator: LocalAccount) -> TransmissionTariffClient:
    return ctx.client(TransmissionTariffClient, regulator)


def build_graph(
    tariff: TransmissionTariffClient,
    names: dict[int, str],
    rates: dict[int, int],
    edges: Iterable[tuple[int, int]],
) -> None:
    """Define regions, schedule their rates effective now, and connect the edges."""
    for region, name in names.items():
        tariff.define_region(region, name)
    for region, rate in rates.items():
        tariff.schedule_stamp_rate(region, rate)
    for a, b in edges:
        tariff.set_edge(a, b)


@pytest.fixture
def cities(tariff: TransmissionTariffClient) -> TransmissionTariffClient:
    build_graph(tariff, CITIES, CITY_RATES, CITY_EDGES)
    return tariff


def block_time(ctx: LedgerContext) -> int:
    return int(ctx.w3.eth.get_block("latest")["timestamp"])


def advance_time(ctx: LedgerContext, seconds: int) -> int:
    """Move the chain's clock forward and mine a block; return the new block time."""
    ctx.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    ctx.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return block_time(ctx)
