"""The demo's feeder meters and tampered meters (:mod:`ledger.feeders`, :mod:`oracle.tamper_watch`).

The scenario's feeder network (its own random stream: the day's participants, trades and
readings are unchanged) covers the :data:`HISTORY_DAYS` days before the delivery day: the
feeder (transformer) meters' daily energy and the customer meters' daily history, at least
one of them tampered (reporting ``factor`` of its true consumption from some day on). The
oracle records them as it would from the metering back office (topology, feeder readings,
imported history), its tamper watch scans through the day before delivery, and the VERIFIER
confirms each case it opens. The day's own readings are after the scanned days, so they are
not held and the day's settlement is unchanged; the truth is used only to score the flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from ledger.feeders import FeederNetwork, generate_feeders
from ledger.scenario import Scenario
from oracle import eip712
from scripts.day import plan

HISTORY_DAYS = 14
DAY_S = 86_400


class TamperOutcome(BaseModel):
    """The oracle's tamper flags against the scenario's injected tampering."""

    feeders: int = 0
    customer_meters: int = 0
    injected: list[str] = Field(default_factory=list)
    flagged: list[str] = Field(default_factory=list)
    confirmed: int = 0
    missing_wh: int = 0


def meter_id(scenario: Scenario, name: str) -> str:
    """The demo's meter id of the feeder network's ``<participant>/m<k>``."""
    participant, k = name.rsplit("/m", 1)
    p = next(x for x in scenario.participants if x.name == participant)
    return "0x" + eip712.meter_id_bytes(plan.meter_label(p, int(k))).hex()


def feeder_document(
    scenario: Scenario, nodes: Mapping[str, str], first_day: int
) -> tuple[dict[str, Any], FeederNetwork]:
    """The oracle's feeder document (:meth:`oracle.tamper_watch.TamperWatch.import_document`)
    of the days ``first_day..first_day + HISTORY_DAYS - 1``, and the network (with its
    truth). ``nodes``: participant name -> node address."""
    net = generate_feeders(scenario, days=HISTORY_DAYS)
    ids = {m.meter: meter_id(scenario, m.meter) for m in net.meters}
    doc = {
        "feeders": [
            {
                "id": f.id,
                "region": f.region,
                "meters": [
                    {"meterId": ids[m.meter], "node": nodes[m.node], "kind": m.kind}
                    for m in net.meters
                    if m.feeder == f.id
                ],
                "energyWh": {str(first_day + d): wh for d, wh in enumerate(f.energy_wh)},
            }
            for f in net.feeders
        ],
        "meterDays": {
            ids[m.meter]: {str(first_day + d): wh for d, wh in enumerate(m.reported_wh)}
            for m in net.meters
        },
    }
    return doc, net


def check_feeders(
    service: Any, scenario: Scenario, nodes: Mapping[str, str], delivery_start: int, verifier: str
) -> TamperOutcome:
    """Record the feeder history in the running oracle ``service``, scan through the day
    before ``delivery_start``, have ``verifier`` confirm each case; scored against the truth."""
    day = delivery_start // DAY_S
    doc, net = feeder_document(scenario, nodes, day - HISTORY_DAYS)
    service.tamper.import_document(doc)
    cases = service.scan_tamper(day - 1)
    for case in cases:
        service.decide_tamper(case.case_id, "confirm", verifier, "feeder balance, peers")
    return TamperOutcome(
        feeders=len(net.feeders),
        customer_meters=len(net.meters),
        injected=sorted(meter_id(scenario, m) for m in net.tampered),
        flagged=sorted(c.meter_id for c in cases),
        confirmed=len(cases),
        missing_wh=sum(c.missing_wh for c in cases),
    )
