"""``gridledger oracle meter``: a meter's life on chain - installation (or the older
``register``), calibration, replacement, retirement, key revocation - and its record.

Every command prints one line; a refusal (a revert with its custom error, a bad argument)
is one ``error:`` line on stderr with a non-zero exit.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from web3 import Web3

from ledger.cli_support import address_argument, contract_client, make_context, print_json
from ledger.clients.oracle import Installation, MeterInfo, MeterLife, MeterOracleClient
from ledger.errors import NotFoundError, ValidationError
from ledger.keystore import resolve_password
from oracle import eip712

meter_app = typer.Typer(
    help="Metering points: install, calibrate, replace, retire, revoke, show.",
    no_args_is_help=True,
)

MeterArg = Annotated[str, typer.Argument(help="Meter id: 0x + 64 hex, or a label (<= 32 bytes).")]
OperatorOpt = Annotated[str, typer.Option("--wallet", help="OPERATOR wallet.")]
PhasesOpt = Annotated[int, typer.Option(help="Phases: 1 or 3.")]
NominalOpt = Annotated[
    int,
    typer.Option(
        help="Nominal voltage in dV: phase-to-neutral single-phase (2200 = 220 V), "
        "line-to-line three-phase (100000 = 10 kV)."
    ),
]
CapacityOpt = Annotated[int, typer.Option(help="Capacity in W (0: node registry's).")]
RegisterOpt = Annotated[int, typer.Option(min=0, help="Register (Wh).")]
RetiredAtOpt = Annotated[int, typer.Option(min=0, help="Removal time, unix s (0: now).")]


def _client(wallet: str) -> MeterOracleClient:
    ctx = make_context()
    return ctx.client(
        MeterOracleClient, ctx.account(wallet, lambda: resolve_password(ctx.settings))
    )


def _id(meter: str) -> bytes:
    return eip712.meter_id_bytes(meter)


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def certificate_hash(certificate: str) -> bytes:
    """A calibration certificate's hash: 0x + 64 hex as is, else keccak256 of its text."""
    if certificate.startswith("0x") and len(certificate) == 66:
        return bytes.fromhex(certificate[2:])
    if not certificate:
        raise ValidationError("the calibration certificate is empty")
    return Web3.keccak(text=certificate)


@meter_app.command("install")
def meter_install(
    meter: MeterArg,
    node: Annotated[str, address_argument("Node address (metering point owner).")],
    signer: Annotated[str, address_argument("The meter's signing address.")],
    phases: PhasesOpt = 3,
    nominal_voltage_dv: NominalOpt = 100_000,
    import_register_wh: RegisterOpt = 0,
    export_register_wh: RegisterOpt = 0,
    capacity_w: CapacityOpt = 0,
    wallet: OperatorOpt = "operator",
) -> None:
    """Install a meter: phases, nominal voltage, initial registers (OPERATOR)."""
    installation = Installation(
        _id(meter),
        node,
        signer,
        capacity_w,
        phases,
        nominal_voltage_dv,
        import_register_wh,
        export_register_wh,
    )
    receipt = _client(wallet).install_meter(installation)
    typer.echo(
        f"installed meter {_hex(installation.meter_id)} ({phases}-phase, "
        f"{nominal_voltage_dv / 10:g} V, registers {import_register_wh}/{export_register_wh} Wh) "
        f"in block {receipt['blockNumber']}"
    )


@meter_app.command("register")
def meter_register(
    meter: MeterArg,
    node: Annotated[str, address_argument("Node address the meter belongs to.")],
    signer: Annotated[str, address_argument("The meter's signing address.")],
    capacity_w: CapacityOpt = 0,
    wallet: OperatorOpt = "operator",
) -> None:
    """Register a metering point (an installation of a three-phase 10 kV meter with zero
    registers; OPERATOR)."""
    meter_id = _id(meter)
    receipt = _client(wallet).register_meter(meter_id, node, signer, capacity_w)
    typer.echo(f"registered meter {_hex(meter_id)} in block {receipt['blockNumber']}")


@meter_app.command("calibrate")
def meter_calibrate(
    meter: MeterArg,
    certificate: Annotated[
        str, typer.Option(help="Certificate: 0x + 64 hex hash, or its text (hashed).")
    ],
    next_due_at: Annotated[int, typer.Option(min=1, help="Next calibration due, unix s.")],
    calibrated_at: Annotated[int, typer.Option(min=0, help="Calibrated at, unix s (0: now).")] = 0,
    wallet: Annotated[str, typer.Option(help="VERIFIER wallet.")] = "verifier",
) -> None:
    """Record a calibration certificate (VERIFIER); readings of intervals from the due date
    on are flagged ``calibration_overdue``."""
    when = calibrated_at or int(time.time())
    digest = certificate_hash(certificate)
    receipt = _client(wallet).record_calibration(_id(meter), digest, when, next_due_at)
    typer.echo(
        f"calibrated meter {_hex(_id(meter))} at {when}, next due {next_due_at}, "
        f"certificate {_hex(digest)} in block {receipt['blockNumber']}"
    )


@meter_app.command("retire")
def meter_retire(
    meter: MeterArg,
    final_import_wh: Annotated[int, typer.Option(min=0, help="Final import register (Wh).")],
    final_export_wh: Annotated[int, typer.Option(min=0, help="Final export register (Wh).")],
    retired_at: RetiredAtOpt = 0,
    wallet: OperatorOpt = "operator",
) -> None:
    """Remove a meter with its final registers (OPERATOR): no reading after counts."""
    receipt = _client(wallet).retire_meter(_id(meter), final_import_wh, final_export_wh, retired_at)
    typer.echo(
        f"retired meter {_hex(_id(meter))} at registers {final_import_wh}/{final_export_wh} Wh "
        f"in block {receipt['blockNumber']}"
    )


@meter_app.command("replace")
def meter_replace(
    old: Annotated[str, typer.Argument(help="The meter removed (id or label).")],
    new: Annotated[str, typer.Argument(help="The meter installed (id or label).")],
    signer: Annotated[str, address_argument("The new meter's signing address.")],
    final_import_wh: Annotated[int, typer.Option(min=0, help="Old meter's final import (Wh).")],
    final_export_wh: Annotated[int, typer.Option(min=0, help="Old meter's final export (Wh).")],
    retired_at: RetiredAtOpt = 0,
    phases: PhasesOpt = 3,
    nominal_voltage_dv: NominalOpt = 100_000,
    import_register_wh: RegisterOpt = 0,
    export_register_wh: RegisterOpt = 0,
    capacity_w: CapacityOpt = 0,
    wallet: OperatorOpt = "operator",
) -> None:
    """Replace a meter at the same metering point (OPERATOR): the old one counts up to its
    final registers, the new one from its initial registers."""
    client = _client(wallet)
    old_id = _id(old)
    current = client.meter_of(old_id)
    if not current.registered:
        raise NotFoundError(f"no meter {old!r} is registered")
    installation = Installation(
        _id(new),
        current.node,
        signer,
        capacity_w or current.capacity_w,
        phases,
        nominal_voltage_dv,
        import_register_wh,
        export_register_wh,
    )
    receipt = client.replace_meter(
        old_id, final_import_wh, final_export_wh, retired_at, installation
    )
    typer.echo(
        f"replaced meter {_hex(old_id)} (final {final_import_wh}/{final_export_wh} Wh) by "
        f"{_hex(installation.meter_id)} (initial {import_register_wh}/{export_register_wh} Wh) "
        f"in block {receipt['blockNumber']}"
    )


@meter_app.command("revoke")
def meter_revoke(meter: MeterArg, wallet: OperatorOpt = "operator") -> None:
    """Revoke a meter's key for good (OPERATOR)."""
    receipt = _client(wallet).revoke_meter(_id(meter))
    typer.echo(f"revoked meter {_hex(_id(meter))} in block {receipt['blockNumber']}")


def meter_record(info: MeterInfo, life: MeterLife) -> dict[str, Any]:
    """A meter's registration and life as one JSON-able record."""
    return {
        **info._asdict(),
        **{k: _hex(v) if isinstance(v, bytes) else v for k, v in life._asdict().items()},
    }


def describe(meter_id: bytes, info: MeterInfo, life: MeterLife) -> str:
    """One line: where the meter is, what it is, its calibration and its state."""
    zero = bytes(32)
    state = (
        f"retired at {life.retired_at} (final {life.final_import_register_wh}/"
        f"{life.final_export_register_wh} Wh)"
        if life.retired_at
        else "in service"
    )
    if life.replaced_by != zero:
        state += f", replaced by {_hex(life.replaced_by)}"
    if info.revoked_at:
        state += f", key revoked at {info.revoked_at}"
    calibration = (
        f"calibration due {life.calibration_due_at}" if life.calibration_due_at else "uncalibrated"
    )
    replaces = f", replaces {_hex(life.replaces)}" if life.replaces != zero else ""
    return (
        f"meter {_hex(meter_id)} node {info.node} signer {info.signer} {life.phases}-phase "
        f"{life.nominal_voltage_dv / 10:g} V {info.capacity_w} W, initial "
        f"{life.initial_import_register_wh}/{life.initial_export_register_wh} Wh{replaces}, "
        f"{calibration}, {state}"
    )


@meter_app.command("show")
def meter_show(
    meter: MeterArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A meter's record: registration, installation, calibration, replacement, retirement."""
    _, client = contract_client(MeterOracleClient, None)
    meter_id = _id(meter)
    info = client.meter_of(meter_id)
    if not info.registered:
        raise NotFoundError(f"no meter {meter!r} is registered")
    life = client.meter_life_of(meter_id)
    if as_json:
        print_json(meter_record(info, life))
    else:
        typer.echo(describe(meter_id, info, life))
