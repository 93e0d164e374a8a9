"""Gas of the route search on the largest graphs the contract allows (32 regions)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hexbytes import HexBytes

from ledger.clients.tariff import TransmissionTariffClient, encode_region_name

#: Upper bounds the measured figures must stay under (reported in docs/tariff.md).
COMPLETE_GRAPH_GAS_LIMIT = 360_000
LINE_GRAPH_GAS_LIMIT = 220_000


def _send_all(
    tariff: TransmissionTariffClient, calls: Iterable[tuple[str, tuple[object, ...]]]
) -> None:
    """Send many writes without waiting for each receipt (fixed gas, no estimates)."""
    hashes: list[HexBytes] = [
        tariff.sender.send(tariff.address, tariff.encode(fn, *args), gas=200_000)
        for fn, args in calls
    ]
    for tx_hash in hashes:
        tariff.sender.wait(tx_hash)


def _graph(tariff: TransmissionTariffClient, edges: list[tuple[int, int]]) -> None:
    calls: list[tuple[str, tuple[object, ...]]] = []
    for i in range(32):
        calls.append(("defineRegion", (i, encode_region_name(f"R{i:02d}"))))
        calls.append(("scheduleStampRate", (i, 1_000 + 37 * i, 0)))
    calls += [("setEdge", (a, b, True)) for a, b in edges]
    _send_all(tariff, calls)


@pytest.mark.slow
def test_gas_of_cheapest_route_on_the_complete_32_region_graph(
    tariff: TransmissionTariffClient, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = [(a, b) for a in range(32) for b in range(a + 1, 32)]
    _graph(tariff, edges)
    # Every pair is adjacent: the direct edge is cheapest (rates are positive).
    assert tariff.cheapest_route(0, 31).route == [0, 31]
    # The worst case: the destination is extracted last (it has the highest rate), after
    # every region was reached, loaded and relaxed from every other.
    worst = tariff.estimate_cheapest_route_gas(31, 30)
    typical = tariff.estimate_cheapest_route_gas(0, 31)
    same = tariff.estimate_cheapest_route_gas(5, 5)
    with capsys.disabled():
        print(
            f"\ncheapestRoute gas, complete 32-region graph (496 edges), tx incl. 21,000 "
            f"intrinsic: 31->30 {worst:,}; 0->31 {typical:,}; 5->5 {same:,}"
        )
    assert worst < COMPLETE_GRAPH_GAS_LIMIT


@pytest.mark.slow
def test_gas_of_cheapest_route_on_the_32_region_line(
    tariff: TransmissionTariffClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _graph(tariff, [(i, i + 1) for i in range(31)])
    route = tariff.cheapest_route(0, 31)
    assert route.route == list(range(32))
    assert route.sum_rate_fen_per_mwh == sum(1_000 + 37 * i for i in range(32))
    gas = tariff.estimate_cheapest_route_gas(0, 31)
    with capsys.disabled():
        print(f"\ncheapestRoute gas, 32-region line (32-region route): 0->31 {gas:,}")
    assert gas < LINE_GRAPH_GAS_LIMIT
