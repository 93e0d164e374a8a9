"""``gridledger oracle tamper``: feeder readings and tamper cases (see :mod:`oracle.tamper_watch`).

``import FILE`` records feeder topology, feeder meters' daily energy and imported customer
history (JSON: ``{"feeders": [{"id", "region", "meters": [{"meterId", "node", "kind"}],
"energyWh": {"<day>": Wh}}], "meterDays": {"<meterId>": {"<day>": Wh}}}``), ``scan`` runs the
detector, ``cases`` lists the cases with their evidence, and a VERIFIER ``confirm``s (the held
readings are rejected) or ``dismiss``es (they are cleared) one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ledger.cli_support import console, make_context, print_json
from ledger.keystore import resolve_password
from oracle.service import OracleService
from oracle.tamper_watch import TamperCase

tamper_app = typer.Typer(
    help="Feeder readings and tampered-meter cases (VERIFIER decides).", no_args_is_help=True
)
WalletOpt = Annotated[str, typer.Option(help="VERIFIER wallet.")]


def _service() -> OracleService:
    from oracle.cli import _service as make

    return make(make_context())


def _print(cases: list[TamperCase], as_json: bool) -> None:
    if as_json:
        print_json([c.model_dump(mode="json", by_alias=True) for c in cases])
        return
    for c in cases:
        console.print(f"{c.case_id:>5}  {c.status:<9}  node {c.node}  held {c.held_readings}")
        console.print(f"       {c.evidence()}")


@tamper_app.command("import")
def import_file(path: Path) -> None:
    """Record feeder topology, feeder readings and imported customer history from JSON."""
    count = _service().tamper.import_document(json.loads(path.read_text()))
    console.print(f"{count} feeders recorded")


@tamper_app.command("scan")
def scan(
    through_day: Annotated[
        int | None, typer.Option(help="Last day (default: the due one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the tamper detector now; print the cases it opened or extended."""
    _print(_service().scan_tamper(through_day), as_json)


@tamper_app.command("cases")
def cases(
    status: Annotated[str | None, typer.Option(help="pending, confirmed or dismissed.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Tamper cases with their evidence (feeder, days, missing energy)."""
    _print(_service().tamper_cases(status), as_json)


def _decide(decision: str) -> Callable[[int, str, str], None]:
    def command(case_id: int, note: str = "", wallet: WalletOpt = "verifier") -> None:
        ctx = make_context()
        verifier = ctx.account(wallet, lambda: resolve_password(ctx.settings))
        case = _service().decide_tamper(case_id, decision, verifier.address, note)
        console.print(f"tamper case {case_id}: {case.status}")

    return command


tamper_app.command(
    "confirm", help="Confirm a case: the meter's held readings are rejected (never count)."
)(_decide("confirm"))
tamper_app.command(
    "dismiss", help="Dismiss a case: the meter's held readings are cleared (they count)."
)(_decide("dismiss"))
