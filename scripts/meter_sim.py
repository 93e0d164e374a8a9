"""Simulated smart meters: realistic 15-minute readings, EIP-712-signed with each meter's
own key, posted to the oracle in batches.

Each reading also carries a power factor and per-phase voltages and currents consistent
with its energies (:meth:`SimMeter.electrical`): a three-phase 10 kV meter by default, as
``gridledger oracle meter register`` installs; ``--phases``/``--nominal-voltage-dv`` for a
meter installed otherwise (``gridledger oracle meter install``).

Profiles: ``consumer`` (morning and evening peaks), ``pv`` (a solar plant: export by day),
``prosumer`` (rooftop PV over household load: import at night, export at noon). Registers
advance by exactly the interval energies, sequences by one per reading.

    python -m scripts.meter_sim --oracle-url https://127.0.0.1:8600 --meters 50 --intervals 96

Keys are THROWAWAY demo keys (derived from the public demo mnemonic, index 20000 + n), or
one registered meter's own key from the keystore (``--meter LABEL --wallet NAME``). With
``--period P`` the readings cover trading period P's delivery intervals (read from the
chain) instead of the last ``--intervals``; ``--import-mwh``/``--export-mwh`` replace the
profile by that total energy, spread evenly over the intervals:

    python -m scripts.meter_sim --meter MP-1 --wallet meter-1 --period 1 --import-mwh 4.2

The oracle's URL defaults to ``https://<GRIDLEDGER_ORACLE_HOST>:<GRIDLEDGER_ORACLE_PORT>``.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import httpx
import typer
from eth_account.signers.local import LocalAccount

from ledger.cli_support import make_context, prompt_password, signer
from ledger.clients.trading import TradingMarketClient
from ledger.errors import GridLedgerError, ValidationError
from ledger.keystore import demo_account
from ledger.settings import get_settings
from ledger.tls import InsecureOpt, http_client
from ledger.units import mwh_to_wh
from node.dispatch.report import oracle_url as default_oracle_url
from oracle import eip712
from oracle.schemas import MeterReading, ReadingBatch, SignedReading

Profile = Literal["consumer", "pv", "prosumer"]
#: Demo key index of simulated meter n.
METER_KEY_BASE = 20_000


@dataclass
class SimMeter:
    """One metering point with its own signing key."""

    label: str
    account: LocalAccount
    capacity_w: int
    profile: Profile = "consumer"
    seed: int = 0
    interval_s: int = 900
    import_register_wh: int = 0
    export_register_wh: int = 0
    sequence: int = 0
    phases: int = 3
    nominal_voltage_dv: int = 100_000
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def meter_id(self) -> str:
        return "0x" + eip712.meter_id_bytes(self.label).hex()

    def energies(self, interval_start: int) -> tuple[int, int, int]:
        """(import Wh, export Wh, reactive varh) of the profile at ``interval_start``."""
        hour = (interval_start % 86_400) / 3600
        cap_wh = self.capacity_w * self.interval_s / 3600
        noise = 1 + self._rng.gauss(0, 0.05)
        load = (
            0.25 + 0.2 * math.exp(-((hour - 8) ** 2) / 4) + 0.35 * math.exp(-((hour - 19) ** 2) / 5)
        )
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0
        if self.profile == "consumer":
            imp, exp = load * cap_wh * noise, 0.0
        elif self.profile == "pv":
            imp, exp = 0.002 * cap_wh * (1 + self._rng.gauss(0, 0.2)), 0.85 * sun * cap_wh * noise
        else:
            net = (load - 0.6 * sun) * cap_wh * noise
            imp, exp = max(net, 0.0), max(-net, 0.0)
        imp_i = max(0, min(int(imp), int(cap_wh)))
        exp_i = max(0, min(int(exp), int(cap_wh)))
        return imp_i, exp_i, int(0.3 * imp_i)

    def reading(
        self, interval_start: int, *, import_wh: int | None = None, export_wh: int | None = None
    ) -> MeterReading:
        """The next reading (advances registers and sequence)."""
        imp, exp, reactive = self.energies(interval_start)
        imp = imp if import_wh is None else import_wh
        exp = exp if export_wh is None else export_wh
        reactive = min(reactive, int(self.capacity_w * self.interval_s / 3600))
        self.import_register_wh += imp
        self.export_register_wh += exp
        self.sequence += 1
        return MeterReading(
            meter_id=self.meter_id,
            interval_start=interval_start,
            interval_seconds=self.interval_s,
            import_wh=imp,
            export_wh=exp,
            reactive_varh=reactive,
            import_register_wh=self.import_register_wh,
            export_register_wh=self.export_register_wh,
            sequence=self.sequence,
            **self.electrical(interval_start, imp + exp, reactive),
        )

    def electrical(self, interval_start: int, active_wh: int, reactive_varh: int) -> dict[str, int]:
        """Power factor, per-phase voltages and currents consistent with the energies: the
        voltage swings +/-2 % of nominal over the day, the currents carry the apparent power
        (a single-phase meter's L2/L3 are 0)."""
        hours = self.interval_s / 3600
        p_w, q_w = active_wh / hours, reactive_varh / hours
        s_w = math.hypot(p_w, q_w)
        day = 2 * math.pi * (interval_start % 86_400) / 86_400
        volts = [0.0, 0.0, 0.0]
        amps = [0.0, 0.0, 0.0]
        for k in range(self.phases):
            volts[k] = self.nominal_voltage_dv / 10 * (1 + 0.02 * math.sin(day + k))
            per_phase = s_w / self.phases
            amps[k] = per_phase * math.sqrt(3) / volts[k] if self.phases == 3 else s_w / volts[k]
        return {
            "power_factor_milli": round(1000 * p_w / s_w) if s_w else 1000,
            **{f"voltage_l{k + 1}_dv": round(v * 10) for k, v in enumerate(volts)},
            **{f"current_l{k + 1}_ma": round(a * 1000) for k, a in enumerate(amps)},
        }

    def sign(self, reading: MeterReading, chain_id: int, contract: str) -> SignedReading:
        return sign_reading(self.account, reading, chain_id, contract)


def sign_reading(
    account: LocalAccount, reading: MeterReading, chain_id: int, contract: str
) -> SignedReading:
    """Sign ``reading`` with ``account`` for the MeterOracle ``contract`` on ``chain_id``."""
    separator = eip712.domain_separator(eip712.METER_DOMAIN_NAME, chain_id, contract)
    digest = eip712.typed_digest(separator, eip712.reading_struct_hash(reading.message()))
    signature = eip712.sign_digest(bytes(account.key), digest)
    return SignedReading(reading=reading, signature="0x" + signature.hex())


def make_meters(count: int, *, capacity_w: int = 50_000, start_index: int = 0) -> list[SimMeter]:
    """``count`` meters cycling through the three profiles, keys from the demo mnemonic."""
    profiles: tuple[Profile, ...] = ("consumer", "prosumer", "pv")
    return [
        SimMeter(
            label=f"MP-{start_index + n:06d}",
            account=demo_account(METER_KEY_BASE + start_index + n),
            capacity_w=capacity_w,
            profile=profiles[n % 3],
            seed=start_index + n,
        )
        for n in range(count)
    ]


def batch_json(readings: list[SignedReading], chain_id: int, contract: str) -> dict[str, Any]:
    batch = ReadingBatch(chain_id=chain_id, verifying_contract=contract, readings=readings)
    return batch.model_dump(mode="json", by_alias=True)


def refusals(resp: httpx.Response, posted: int) -> Counter[str]:
    """Reasons of the readings the oracle refused in one answer to ``POST /readings``
    (every posted reading when an error answer lists none)."""
    try:
        body: Any = resp.json()
    except ValueError:
        body = {}
    results = body.get("results") if isinstance(body, dict) else None
    if isinstance(results, list):
        refused = [r for r in results if r.get("outcome") == "rejected"]
        if refused or resp.is_success:
            return Counter(str(r.get("reason") or "rejected") for r in refused)
    if resp.is_success:
        return Counter()
    reason = body.get("reason") if isinstance(body, dict) else None
    return Counter({str(reason or f"http_{resp.status_code}"): posted})


def refusal_summary(refused: Counter[str], sent: int) -> str:
    """One line: how many readings were refused and why."""
    why = ", ".join(f"{reason} {n}" for reason, n in refused.most_common())
    return f"oracle refused {sum(refused.values())} of {sent} readings ({why})"


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A mistake in the meter options (wallet, period, energies) ends the simulator with
    one line, exit 2."""
    try:
        yield
    except GridLedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def split_evenly(total_wh: int, parts: int) -> list[int]:
    """``total_wh`` in ``parts`` whole-Wh shares differing by at most 1 Wh (larger first)."""
    base, rest = divmod(total_wh, parts)
    return [base + 1] * rest + [base] * (parts - rest)


@dataclass(frozen=True)
class Plan:
    """Which meters read, at which interval starts, and any fixed energies per interval."""

    sims: list[SimMeter]
    starts: list[int]
    import_wh: list[int] | None = None
    export_wh: list[int] | None = None


def _plan(
    meters: int,
    intervals: int,
    *,
    meter: str | None,
    wallet: str | None,
    period: int | None,
    import_mwh: str | None,
    export_mwh: str | None,
    phases: int = 3,
    nominal_voltage_dv: int = 100_000,
) -> Plan:
    """The readings to send: demo meters or one keystore meter, recent intervals or a
    trading period's delivery intervals, profile or fixed energies."""
    if (meter is None) != (wallet is None):
        raise ValidationError("--meter and --wallet go together (the meter's own key)")
    ctx = make_context() if meter is not None or period is not None else None
    interval_s = 900
    if ctx is not None and period is not None:
        p = ctx.client(TradingMarketClient, signer(ctx, None)).period(period)
        if p.intervals == 0:
            raise ValidationError(f"the trading market has no period {period}")
        interval_s = p.interval_s
        starts = [p.delivery_start + i * interval_s for i in range(p.intervals)]
    else:
        now = int(time.time()) // 900 * 900
        starts = [now - k * 900 for k in range(intervals, 0, -1)]
    if ctx is not None and meter is not None and wallet is not None:
        account = ctx.account(wallet, prompt_password)
        sims = [
            SimMeter(
                label=meter,
                account=account,
                capacity_w=50_000,
                interval_s=interval_s,
                phases=phases,
                nominal_voltage_dv=nominal_voltage_dv,
            )
        ]
    else:
        sims = make_meters(meters)
    fixed = [
        None if mwh is None else split_evenly(mwh_to_wh(mwh), len(starts))
        for mwh in (import_mwh, export_mwh)
    ]
    if any(f is not None for f in fixed):
        fixed = [f or [0] * len(starts) for f in fixed]
    return Plan(sims, starts, fixed[0], fixed[1])


app = typer.Typer(help="Simulated smart meters posting signed readings to the oracle.")


@app.command()
def run(
    oracle_url: Annotated[
        str | None, typer.Option(help="The oracle API (default: the oracle settings').")
    ] = None,
    meters: Annotated[int, typer.Option(min=1)] = 20,
    intervals: Annotated[int, typer.Option(min=1, help="15-minute intervals per meter.")] = 8,
    batch: Annotated[int, typer.Option(min=1, help="Readings per POST.")] = 500,
    insecure_http: InsecureOpt = False,
    meter: Annotated[
        str | None, typer.Option(help="One registered meter's label (instead of --meters).")
    ] = None,
    wallet: Annotated[
        str | None, typer.Option(help="That meter's signing key (a keystore wallet).")
    ] = None,
    period: Annotated[
        int | None,
        typer.Option(min=1, help="Read trading period P's delivery intervals (not recent ones)."),
    ] = None,
    import_mwh: Annotated[
        str | None, typer.Option(help="Total import (MWh), spread evenly over the intervals.")
    ] = None,
    export_mwh: Annotated[
        str | None, typer.Option(help="Total export (MWh), spread evenly over the intervals.")
    ] = None,
    phases: Annotated[
        int, typer.Option(min=1, max=3, help="--meter's phases as installed (1 or 3).")
    ] = 3,
    nominal_voltage_dv: Annotated[
        int, typer.Option(min=1, help="--meter's nominal voltage as installed (dV).")
    ] = 100_000,
) -> None:
    """Post ``intervals`` recent readings of each meter (registered beforehand with
    ``gridledger oracle meter register``); HTTPS verified against the consortium CA.
    Exits 1 with a one-line summary when the oracle refused any reading."""
    settings = get_settings()
    with one_line_errors():
        plan = _plan(
            meters,
            intervals,
            meter=meter,
            wallet=wallet,
            period=period,
            import_mwh=import_mwh,
            export_mwh=export_mwh,
            phases=phases,
            nominal_voltage_dv=nominal_voltage_dv,
        )
    url = oracle_url or default_oracle_url(settings)
    with http_client(settings, url, client_name="meter", insecure_http=insecure_http) as http:
        health = http.get("/health").raise_for_status().json()
        chain_id, contract = int(health["chainId"]), str(health["meterOracle"])
        sims, last = plan.sims, len(plan.starts) - 1
        pending: list[SignedReading] = []
        sent = 0
        refused: Counter[str] = Counter()
        started = time.perf_counter()
        for k, start in enumerate(plan.starts):
            for sim in sims:
                reading = sim.reading(
                    start,
                    import_wh=plan.import_wh[k] if plan.import_wh else None,
                    export_wh=plan.export_wh[k] if plan.export_wh else None,
                )
                pending.append(sim.sign(reading, chain_id, contract))
                if len(pending) >= batch or (k == last and sim is sims[-1]):
                    resp = http.post("/readings", json=batch_json(pending, chain_id, contract))
                    refused += refusals(resp, len(pending))
                    sent += len(pending)
                    pending = []
        elapsed = time.perf_counter() - started
        typer.echo(f"posted {sent} readings in {elapsed:.2f} s ({sent / elapsed:.0f}/s)")
        if refused:
            typer.echo(refusal_summary(refused, sent), err=True)
            raise typer.Exit(1)


if __name__ == "__main__":
    app()
