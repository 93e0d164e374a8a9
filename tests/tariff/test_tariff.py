"""TransmissionTariff: formula 1 on the cheapest path, rate schedules, reverts and roles."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger.clients.access import role_id
from ledger.clients.tariff import StampRate, TransmissionTariffClient, encode_region_name
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from ledger.units import value_fen as fee_fen
from tests.tariff.conftest import (
    CITY_RATES,
    advance_time,
    block_time,
    build_graph,
)


def assert_reverts(fn: Callable[[], Any], name: str, **arguments: Any) -> None:
    with pytest.raises(ContractRevertError) as info:
        fn()
    assert info.value.name == name
    assert info.value.arguments == arguments


# --------------------------------------------------------------------------- formula 1


def test_fee_follows_formula_1_on_the_cheapest_not_the_shortest_path(
    cities: TransmissionTariffClient,
) -> None:
    # Shortest: Tangshan(0) - Zhangjiakou(1) - Langfang(4): 3,000 + 9,000 + 2,000 = 14,000.
    # Cheapest: Tangshan(0) - Qinhuangdao(2) - Chengde(3) - Langfang(4):
    #           3,000 + 1,000 + 1,500 + 2,000 = 7,500 fen/MWh.
    route = cities.cheapest_route(0, 4)
    assert route.route == [0, 2, 3, 4]
    assert route.sum_rate_fen_per_mwh == 7_500
    # 2.5 MWh x 7,500 fen/MWh = 18,750 fen.
    fee = cities.transmission_fee(0, 4, 2_500_000)
    assert (fee.fee_fen, fee.route, fee.sum_rate_fen_per_mwh) == (18_750, [0, 2, 3, 4], 7_500)
    # Rounds down: 1,234,567 Wh x 7,500 / 1e6 = 9,259.2525 -> 9,259 fen.
    assert cities.transmission_fee(0, 4, 1_234_567).fee_fen == 9_259
    assert cities.transmission_fee(0, 4, 133).fee_fen == 0  # 0.9975 fen -> 0
    # The reverse direction takes the same regions in reverse.
    assert cities.cheapest_route(4, 0).route == [4, 3, 2, 0]
    # Inside one region only its own stamp is paid.
    assert cities.transmission_fee(1, 1, 1_000_000).model_dump() == {
        "route": [1],
        "sum_rate_fen_per_mwh": 9_000,
        "energy_wh": 1_000_000,
        "fee_fen": 9_000,
    }
    # Neighbours pay both stamps: Tangshan - Zhangjiakou = 12,000 fen/MWh.
    assert cities.cheapest_route(0, 1).sum_rate_fen_per_mwh == 12_000
    assert int(cities._call("feeFen", 1_234_567, 7_500)) == fee_fen(1_234_567, 7_500) == 9_259


def test_ties_prefer_fewer_regions_then_the_lower_previous_region(
    cities: TransmissionTariffClient,
) -> None:
    # Region 5 joins Tangshan and Langfang at 2,500: 3,000 + 2,500 + 2,000 = 7,500, the same
    # sum as the 4-region route, with 3 regions: it wins.
    cities.define_region(5, "Tianjin-link")
    cities.schedule_stamp_rate(5, 2_500)
    cities.set_edge(0, 5)
    cities.set_edge(5, 4)
    assert cities.cheapest_route(0, 4).route == [0, 5, 4]
    # Region 6 is an exact twin of region 5 but arrives through... the same (cost, hops);
    # the lower previous region (5) is kept, whichever order the edges were added in.
    cities.define_region(6, "Beijing-link")
    cities.schedule_stamp_rate(6, 2_500)
    cities.set_edge(4, 6)
    cities.set_edge(6, 0)
    assert cities.cheapest_route(0, 4).route == [0, 5, 4]
    assert cities.cheapest_route(4, 0).route == [4, 5, 0]
    # Removing region 5's edge to Langfang leaves the twin.
    cities.set_edge(5, 4, False)
    assert cities.cheapest_route(0, 4).route == [0, 6, 4]


def _reference_route(
    n: int, rates: dict[int, int], edges: set[tuple[int, int]], s: int, t: int
) -> tuple[list[int], int] | None:
    """Brute force over all simple paths: least sum, then fewest regions, then the
    lexicographically least path read backwards from the destination."""
    adj = {i: {b for a, b in edges if a == i} | {a for a, b in edges if b == i} for i in range(n)}
    best: tuple[int, int, list[int], list[int]] | None = None

    def walk(path: list[int]) -> None:
        nonlocal best
        u = path[-1]
        if u == t:
            key = (sum(rates[r] for r in path), len(path), path[::-1], path)
            if best is None or key[:3] < best[:3]:
                best = key
            return
        for v in sorted(adj[u]):
            if v not in path and v in rates:
                walk([*path, v])

    if s not in rates or t not in rates:
        return None
    walk([s])
    return None if best is None else (best[3], best[0])


def test_routes_match_a_brute_force_reference_on_random_graphs(
    ctx: LedgerContext, tariff: TransmissionTariffClient
) -> None:
    rng = random.Random(20240604)
    for trial in range(3):
        snapshot = ctx.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        n = 8
        # Small rates make many ties; one region in four has no rate (never transited).
        rates = {i: rng.choice([0, 1, 2, 3]) for i in range(n) if rng.random() > 0.2}
        edges = {(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.35}
        build_graph(tariff, {i: f"R{trial}-{i}" for i in range(n)}, rates, sorted(edges))
        for s in range(n):
            for t in range(n):
                expected = _reference_route(n, rates, edges, s, t)
                if s not in rates or t not in rates:
                    missing = s if s not in rates else t
                    assert_reverts(
                        lambda s=s, t=t: tariff.cheapest_route(s, t),
                        "NoStampRate",
                        region=missing,
                        at=block_time(ctx),
                    )
                elif expected is None:
                    assert_reverts(
                        lambda s=s, t=t: tariff.cheapest_route(s, t),
                        "NoRoute",
                        **{"from": s, "to": t},
                    )
                else:
                    got = tariff.cheapest_route(s, t)
                    assert (got.route, got.sum_rate_fen_per_mwh) == expected, (trial, s, t)
        ctx.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        ctx.nonces.reset()


# --------------------------------------------------------------------------- rates over time


def test_a_later_rate_change_does_not_affect_quotes_before_its_time(
    ctx: LedgerContext, cities: TransmissionTariffClient
) -> None:
    before = block_time(ctx)
    effective = before + 3_600
    receipt = cities.schedule_stamp_rate(2, 9_000, effective)  # Qinhuangdao 1,000 -> 9,000
    [event] = cities.events(receipt, "StampRateScheduled")
    assert dict(event["args"]) == {
        "region": 2,
        "rateFenPerMwh": 9_000,
        "effectiveFrom": effective,
        "replacedPending": False,
        "replacedRateFenPerMwh": 0,
        "replacedFrom": 0,
    }
    info = cities.region(2)
    assert (info.rate_fen_per_mwh, info.pending_rate_fen_per_mwh, info.pending_from) == (
        1_000,
        9_000,
        effective,
    )
    assert cities.transmission_fee(0, 4, 1_000_000).fee_fen == 7_500
    assert cities.cheapest_route(0, 4).route == [0, 2, 3, 4]

    now = advance_time(ctx, 1_000)
    assert now < effective
    assert cities.transmission_fee(0, 4, 1_000_000).fee_fen == 7_500

    now = advance_time(ctx, effective - now)
    assert now >= effective
    # Via Qinhuangdao now costs 3,000 + 9,000 + 1,500 + 2,000 = 15,500 > 14,000 via
    # Zhangjiakou, so the cheapest route moves.
    fee = cities.transmission_fee(0, 4, 1_000_000)
    assert (fee.route, fee.sum_rate_fen_per_mwh, fee.fee_fen) == ([0, 1, 4], 14_000, 14_000)
    # A trade formed before the change is still quoted with the old rates.
    old = cities.cheapest_route(0, 4, at=effective - 1)
    assert (old.route, old.sum_rate_fen_per_mwh) == ([0, 2, 3, 4], 7_500)
    assert cities.rate_at(2, effective - 1) == 1_000
    assert cities.rate_at(2, effective) == 9_000
    assert cities.route_rate_at([0, 2, 3, 4], effective - 1) == 7_500
    assert cities.route_rate_at([0, 2, 3, 4], effective) == 15_500
    info = cities.region(2)
    assert (info.rate_fen_per_mwh, info.pending_rate_fen_per_mwh, info.pending_from) == (
        9_000,
        0,
        0,
    )


def test_a_new_schedule_replaces_the_pending_rate(
    ctx: LedgerContext, cities: TransmissionTariffClient
) -> None:
    t0 = block_time(ctx)
    cities.schedule_stamp_rate(3, 4_000, t0 + 100)
    receipt = cities.schedule_stamp_rate(3, 5_000, t0 + 200)
    [event] = cities.events(receipt, "StampRateScheduled")
    assert dict(event["args"]) == {
        "region": 3,
        "rateFenPerMwh": 5_000,
        "effectiveFrom": t0 + 200,
        "replacedPending": True,
        "replacedRateFenPerMwh": 4_000,
        "replacedFrom": t0 + 100,
    }
    entries, count = cities.rate_history(3)
    assert count == 2
    assert entries[0].rate_fen_per_mwh == 1_500
    assert entries[1] == StampRate(rate_fen_per_mwh=5_000, effective_from=t0 + 200)
    advance_time(ctx, 150)
    assert cities.region(3).rate_fen_per_mwh == 1_500  # the replaced 4,000 never applies
    advance_time(ctx, 100)
    assert cities.region(3).rate_fen_per_mwh == 5_000


def test_the_history_keeps_the_last_four_rates(
    ctx: LedgerContext, cities: TransmissionTariffClient
) -> None:
    first_from = cities.rate_history(4)[0][0].effective_from
    times = [first_from]
    for k, rate in enumerate([2_100, 2_200, 2_300, 2_400]):
        advance_time(ctx, 10)
        receipt = cities.schedule_stamp_rate(4, rate)
        [event] = cities.events(receipt, "StampRateScheduled")
        times.append(int(event["args"]["effectiveFrom"]))
        assert cities.rate_at(4, times[-1]) == rate, k
    entries, count = cities.rate_history(4)
    assert count == 5
    assert [e.rate_fen_per_mwh for e in entries] == [2_100, 2_200, 2_300, 2_400]
    assert [e.effective_from for e in entries] == times[1:]
    assert cities.rate_at(4, times[1]) == 2_100
    assert cities.rate_at(4, times[2] - 1) == 2_100
    # The 2,000 entry was dropped: times before the oldest kept entry cannot be answered.
    assert_reverts(
        lambda: cities.rate_at(4, times[1] - 1),
        "RateHistoryUnavailable",
        region=4,
        at=times[1] - 1,
        oldestKnownFrom=times[1],
    )
    assert_reverts(
        lambda: cities.cheapest_route(0, 4, at=times[1] - 1),
        "RateHistoryUnavailable",
        region=4,
        at=times[1] - 1,
        oldestKnownFrom=times[1],
    )


def test_regions_without_a_rate_are_not_transited(
    ctx: LedgerContext, tariff: TransmissionTariffClient
) -> None:
    rates = dict(CITY_RATES)
    del rates[2]  # Qinhuangdao has no rate yet
    build_graph(
        tariff,
        {0: "A", 1: "B", 2: "C", 3: "D", 4: "E"},
        rates,
        [(0, 1), (1, 4), (0, 2), (2, 3), (3, 4)],
    )
    assert tariff.cheapest_route(0, 4).route == [0, 1, 4]
    now = block_time(ctx)
    assert_reverts(lambda: tariff.cheapest_route(0, 2), "NoStampRate", region=2, at=now)
    assert_reverts(lambda: tariff.cheapest_route(2, 0), "NoStampRate", region=2, at=now)
    assert_reverts(lambda: tariff.rate_at(2, now), "NoStampRate", region=2, at=now)
    info = tariff.region(2)
    assert (info.has_rate, info.rate_fen_per_mwh) == (False, 0)


# --------------------------------------------------------------------------- regions, edges, events


def test_define_rename_and_list_regions(
    ctx: LedgerContext, tariff: TransmissionTariffClient
) -> None:
    receipt = tariff.define_region(31, "冀北-唐山")
    [event] = tariff.events(receipt, "RegionDefined")
    assert dict(event["args"]) == {
        "region": 31,
        "name": encode_region_name("冀北-唐山"),
        "previousName": b"\x00" * 32,
    }
    receipt = tariff.define_region(31, "Tangshan")
    [event] = tariff.events(receipt, "RegionDefined")
    assert dict(event["args"]) == {
        "region": 31,
        "name": encode_region_name("Tangshan"),
        "previousName": encode_region_name("冀北-唐山"),
    }
    tariff.define_region(0, "Zhangjiakou")
    assert tariff.region_ids() == [0, 31]
    assert tariff.defined_mask() == (1 << 31) | 1
    receipt = tariff.set_edge(31, 0)
    [event] = tariff.events(receipt, "EdgeSet")
    assert dict(event["args"]) == {"regionA": 0, "regionB": 31, "connected": True}
    assert tariff.region(31).neighbours == [0]
    assert tariff.region(0).neighbours == [31]
    receipt = tariff.set_edge(0, 31, False)
    [event] = tariff.events(receipt, "EdgeSet")
    assert dict(event["args"]) == {"regionA": 0, "regionB": 31, "connected": False}
    assert tariff.region(0).neighbours == []
    assert [r.name for r in tariff.regions()] == ["Zhangjiakou", "Tangshan"]
    assert int(tariff._call("MAX_REGIONS")) == 32
    assert int(tariff._call("RATE_HISTORY")) == 4


def test_every_revert_carries_its_context(
    ctx: LedgerContext, cities: TransmissionTariffClient
) -> None:
    assert_reverts(
        lambda: cities.define_region(32, "X"), "RegionOutOfRange", region=32, maxRegions=32
    )
    assert_reverts(
        lambda: cities._transact("defineRegion", 7, b"\x00" * 32), "EmptyRegionName", region=7
    )
    assert_reverts(lambda: cities.set_edge(0, 9), "UnknownRegion", region=9)
    assert_reverts(lambda: cities.set_edge(40, 0), "UnknownRegion", region=40)
    assert_reverts(lambda: cities.set_edge(3, 3), "SelfLoop", region=3)
    assert_reverts(lambda: cities.schedule_stamp_rate(9, 100), "UnknownRegion", region=9)
    now = block_time(ctx)
    # The mining block is later than `now`, so `now` itself is already in the past.
    with pytest.raises(ContractRevertError) as info:
        cities.schedule_stamp_rate(0, 100, now - 1)
    assert info.value.name == "EffectiveTimeInPast"
    assert info.value.arguments["region"] == 0
    assert info.value.arguments["effectiveFrom"] == now - 1
    assert info.value.arguments["blockTime"] >= now
    assert_reverts(lambda: cities.cheapest_route(0, 9), "UnknownRegion", region=9)
    assert_reverts(lambda: cities.cheapest_route(255, 0), "UnknownRegion", region=255)
    assert_reverts(lambda: cities.region(9), "UnknownRegion", region=9)
    assert_reverts(lambda: cities.rate_history(9), "UnknownRegion", region=9)
    assert_reverts(lambda: cities.rate_at(9, now), "UnknownRegion", region=9)
    assert_reverts(lambda: cities.transmission_fee(9, 0, 1), "UnknownRegion", region=9)
    # An island region with a rate: no route.
    cities.define_region(9, "Island")
    cities.schedule_stamp_rate(9, 100)
    assert_reverts(lambda: cities.cheapest_route(0, 9), "NoRoute", **{"from": 0, "to": 9})
    assert_reverts(lambda: cities.transmission_fee(9, 4, 1), "NoRoute", **{"from": 9, "to": 4})
    # Routes passed in are checked.
    assert_reverts(lambda: cities.route_rate_at([], now), "InvalidRoute", index=0, region=0)
    assert_reverts(lambda: cities.route_rate_at([0, 4], now), "InvalidRoute", index=1, region=4)
    assert_reverts(lambda: cities.route_rate_at([0, 2, 0], now), "InvalidRoute", index=2, region=0)
    assert_reverts(lambda: cities.route_rate_at([0, 12], now), "UnknownRegion", region=12)
    # Before any rate existed.
    assert_reverts(lambda: cities.rate_at(0, 1), "NoStampRate", region=0, at=1)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("define_region", (5, "X")),
        ("set_edge", (0, 1)),
        ("schedule_stamp_rate", (0, 100)),
    ],
)
def test_only_the_regulator_writes(
    ctx: LedgerContext,
    cities: TransmissionTariffClient,
    outsider: LocalAccount,
    call: str,
    args: tuple[Any, ...],
) -> None:
    from tests.conftest import role_account

    for account in (outsider, role_account("OPERATOR"), role_account("ADMIN")):
        client = ctx.client(TransmissionTariffClient, account)
        assert_reverts(
            lambda client=client: getattr(client, call)(*args),
            "AccessControlUnauthorizedAccount",
            account=account.address,
            neededRole=role_id("REGULATOR"),
        )
    # Anyone reads.
    reader = ctx.client(TransmissionTariffClient, outsider)
    assert reader.cheapest_route(0, 4).sum_rate_fen_per_mwh == 7_500
