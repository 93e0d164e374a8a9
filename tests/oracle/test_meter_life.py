"""A meter's life on chain (installation, calibration, replacement, retirement) and what the
oracle makes of it: readings after retirement or past the final registers are refused, a
new meter's first reading is checked against its initial registers, readings after the
calibration fell due are flagged; electrical refusals name the field over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from ledger.clients.oracle import Installation, MeterOracleClient
from ledger.context import LedgerContext
from ledger.errors import ContractRevertError
from ledger.keystore import demo_account
from oracle.schemas import MeterReading, SignedReading
from oracle.service import OracleService
from scripts.meter_sim import METER_KEY_BASE, SimMeter, batch_json
from tests.conftest import role_account
from tests.oracle.conftest import Clock
from tests.oracle.test_period_cli_and_meter_sim import _gridledger, cli_settings  # noqa: F401

NODE = demo_account(1001).address
OTHER_NODE = demo_account(1002).address


def _sim(label: str, n: int, *, phases: int = 3, nominal_dv: int = 100_000) -> SimMeter:
    return SimMeter(
        label=label,
        account=demo_account(METER_KEY_BASE + 500 + n),
        capacity_w=50_000,
        seed=n,
        phases=phases,
        nominal_voltage_dv=nominal_dv,
    )


def _install(
    client: MeterOracleClient, sim: SimMeter, *, node: str = NODE, imp: int = 0, exp: int = 0
) -> Installation:
    installation = Installation(
        bytes.fromhex(sim.meter_id[2:]),
        node,
        sim.account.address,
        sim.capacity_w,
        sim.phases,
        sim.nominal_voltage_dv,
        imp,
        exp,
    )
    client.install_meter(installation)
    sim.import_register_wh, sim.export_register_wh = imp, exp
    return installation


def _post(api: TestClient, service: OracleService, *items: SignedReading) -> Any:
    body = batch_json(list(items), service.chain_id, service.meter_oracle.address)
    return api.post("/readings", json=body)


def _signed(service: OracleService, sim: SimMeter, reading: MeterReading) -> SignedReading:
    return sim.sign(reading, service.chain_id, service.meter_oracle.address)


def _result(resp: Any) -> dict[str, Any]:
    result: dict[str, Any] = resp.json()["results"][0]
    return result


def _revert(call: Any) -> tuple[str, dict[str, Any]]:
    with pytest.raises(ContractRevertError) as info:
        call()
    return info.value.name, info.value.arguments


def test_installation_declares_phases_voltage_and_registers(
    operator_oracle: MeterOracleClient, ctx: LedgerContext
) -> None:
    sim = _sim("LIFE-INSTALL", 1, phases=1, nominal_dv=2200)
    installation = _install(operator_oracle, sim, imp=1234, exp=56)
    life = operator_oracle.meter_life_of(installation.meter_id)
    assert (life.phases, life.nominal_voltage_dv) == (1, 2200)
    assert (life.initial_import_register_wh, life.initial_export_register_wh) == (1234, 56)
    assert (life.retired_at, life.calibration_due_at) == (0, 0)
    assert operator_oracle.meter_of(installation.meter_id).signer == sim.account.address
    meter_id = installation.meter_id
    assert _revert(lambda: operator_oracle.install_meter(installation)) == (
        "MeterAlreadyRegistered",
        {"meterId": meter_id},
    )
    two = installation._replace(meter_id=b"\x02" * 32, phases=2)
    assert _revert(lambda: operator_oracle.install_meter(two)) == (
        "InvalidPhases",
        {"meterId": b"\x02" * 32, "phases": 2},
    )
    unpowered = installation._replace(meter_id=b"\x03" * 32, nominal_voltage_dv=0)
    assert _revert(lambda: operator_oracle.install_meter(unpowered))[0] == "InvalidNominalVoltage"
    verifier = ctx.client(MeterOracleClient, role_account("VERIFIER"))
    assert _revert(lambda: verifier.install_meter(installation._replace(meter_id=b"\x04" * 32)))[
        0
    ] == ("AccessControlUnauthorizedAccount")
    # the older registerMeter installs a three-phase 10 kV meter with zero registers
    operator_oracle.register_meter(b"\x05" * 32, NODE, sim.account.address, 1000)
    legacy = operator_oracle.meter_life_of(b"\x05" * 32)
    assert (legacy.phases, legacy.nominal_voltage_dv, legacy.initial_import_register_wh) == (
        3,
        100_000,
        0,
    )


def test_calibration_is_the_verifiers_and_flags_overdue_readings(
    ctx: LedgerContext,
    operator_oracle: MeterOracleClient,
    api: TestClient,
    service: OracleService,
    clock: Clock,
) -> None:
    sim = _sim("LIFE-CALIB", 2)
    meter_id = _install(operator_oracle, sim).meter_id
    t0 = int(clock()) // 900 * 900 - 4 * 900
    verifier = ctx.client(MeterOracleClient, role_account("VERIFIER"))
    cert = Web3.keccak(text="CNAS cert 2026-0042")
    assert _revert(lambda: operator_oracle.record_calibration(meter_id, cert, 1, t0))[0] == (
        "AccessControlUnauthorizedAccount"
    )
    assert _revert(lambda: verifier.record_calibration(meter_id, cert, t0, t0)) == (
        "InvalidCalibration",
        {"meterId": meter_id, "certificateHash": cert, "calibratedAt": t0, "nextDueAt": t0},
    )
    verifier.record_calibration(meter_id, cert, t0 - 86_400 * 365, t0 + 2 * 900)
    life = operator_oracle.meter_life_of(meter_id)
    assert (life.certificate_hash, life.calibration_due_at) == (cert, t0 + 2 * 900)
    outcomes = []
    for k in range(4):
        resp = _post(api, service, _signed(service, sim, sim.reading(t0 + k * 900)))
        outcomes.append("calibration_overdue" in _result(resp)["flags"])
    assert outcomes == [False, False, True, True]


def test_replacement_keeps_register_continuity(
    operator_oracle: MeterOracleClient, api: TestClient, service: OracleService, clock: Clock
) -> None:
    old, new = _sim("LIFE-OLD", 3), _sim("LIFE-NEW", 4)
    old_id = _install(operator_oracle, old, imp=10_000).meter_id
    t0 = int(clock()) // 900 * 900 - 6 * 900
    for k in range(2):
        assert _post(api, service, _signed(service, old, old.reading(t0 + k * 900))).is_success
    final_import, final_export = old.import_register_wh, old.export_register_wh
    retired_at = t0 + 3 * 900
    installation = Installation(
        bytes.fromhex(new.meter_id[2:]), OTHER_NODE, new.account.address, 50_000, 3, 100_000
    )
    assert _revert(
        lambda: operator_oracle.replace_meter(old_id, final_import, 0, retired_at, installation)
    ) == ("ReplacementNodeMismatch", {"oldMeterId": old_id, "expected": NODE, "node": OTHER_NODE})
    installation = installation._replace(node=NODE, import_register_wh=500)
    operator_oracle.replace_meter(old_id, final_import, final_export, retired_at, installation)
    new.import_register_wh = 500
    assert operator_oracle.meter_life_of(old_id).replaced_by == installation.meter_id
    assert operator_oracle.meter_life_of(installation.meter_id).replaces == old_id
    assert _revert(lambda: operator_oracle.retire_meter(old_id, final_import, 0, 0)) == (
        "MeterIsRetired",
        {"meterId": old_id, "retiredAt": retired_at},
    )
    # the old meter's third interval ends at its removal but counts past its final register
    late = old.reading(t0 + 2 * 900)
    resp = _post(api, service, _signed(service, old, late))
    assert (resp.status_code, _result(resp)["field"]) == (422, "importRegisterWh")
    assert "past the retired meter's final register" in _result(resp)["detail"]
    # and nothing of an interval ending after its removal
    after = old.reading(t0 + 3 * 900, import_wh=0, export_wh=0)
    resp = _post(api, service, _signed(service, old, after))
    assert (resp.status_code, resp.json()["reason"]) == (403, "retired_meter")
    assert "replaced by 0x" in resp.json()["detail"]
    # the new meter's first reading counts from its initial registers: energy below them
    # would be counted twice (refused), above them unaccounted (flagged)
    twice = new.reading(t0 + 3 * 900)
    low = MeterReading(**{**twice.model_dump(), "import_register_wh": 500 + twice.import_wh - 1})
    resp = _post(api, service, _signed(service, new, low))
    assert (resp.status_code, _result(resp)["field"]) == (422, "importRegisterWh")
    assert "counted twice" in _result(resp)["detail"]
    resp = _post(api, service, _signed(service, new, twice))
    assert _result(resp)["outcome"] == "accepted", resp.text


def test_a_first_reading_off_the_initial_registers_is_flagged(
    operator_oracle: MeterOracleClient, api: TestClient, service: OracleService, clock: Clock
) -> None:
    sim = _sim("LIFE-GAP", 5)
    _install(operator_oracle, sim, imp=1000)
    sim.import_register_wh = 3000  # 2 kWh unaccounted since installation
    t0 = int(clock()) // 900 * 900 - 2 * 900
    resp = _post(api, service, _signed(service, sim, sim.reading(t0)))
    assert _result(resp)["flags"] == ["initial_register_mismatch"]


def test_a_retired_meter_reads_no_more(
    operator_oracle: MeterOracleClient, api: TestClient, service: OracleService, clock: Clock
) -> None:
    sim = _sim("LIFE-RETIRE", 6)
    meter_id = _install(operator_oracle, sim, imp=100).meter_id
    assert _revert(lambda: operator_oracle.retire_meter(meter_id, 99, 0, 0)) == (
        "FinalRegisterBelowInitial",
        {
            "meterId": meter_id,
            "finalImportRegisterWh": 99,
            "finalExportRegisterWh": 0,
            "initialImportRegisterWh": 100,
            "initialExportRegisterWh": 0,
        },
    )
    t0 = int(clock()) // 900 * 900 - 3 * 900
    operator_oracle.retire_meter(meter_id, 100, 0, t0)
    resp = _post(api, service, _signed(service, sim, sim.reading(t0, import_wh=0, export_wh=0)))
    assert (resp.status_code, resp.json()["reason"], _result(resp)["field"]) == (
        403,
        "retired_meter",
        "intervalStart",
    )


def test_electrical_refusals_name_the_field_and_bands_flag(
    meters: list[SimMeter], api: TestClient, service: OracleService, clock: Clock
) -> None:
    sim = meters[0]
    t0 = int(clock()) // 900 * 900 - 3 * 900
    good = sim.reading(t0)
    bad = MeterReading(**{**good.model_dump(), "power_factor_milli": 1200})
    resp = _post(api, service, _signed(service, sim, bad))
    assert resp.status_code == 422
    assert (resp.json()["reason"], _result(resp)["field"]) == ("implausible", "powerFactorMilli")
    assert "a power factor lies in [0, 1]" in resp.json()["detail"]
    sagging = MeterReading(**{**good.model_dump(), "voltage_l2_dv": 85_000})
    resp = _post(api, service, _signed(service, sim, sagging))
    assert _result(resp)["flags"] == ["voltage_out_of_band"]
    # the same interval again with other electrical content: a replay
    resp = _post(api, service, _signed(service, sim, good))
    assert (resp.status_code, resp.json()["reason"]) == (409, "replay")


@pytest.mark.usefixtures("cli_settings")
def test_the_meter_commands_print_one_line(operator_oracle: MeterOracleClient) -> None:
    signer = demo_account(METER_KEY_BASE + 590).address
    code, out = _gridledger(
        "oracle", "meter", "install", "LIFE-CLI", NODE, signer,
        "--phases", "1", "--nominal-voltage-dv", "2200", "--import-register-wh", "700",
        "--capacity-w", "10000",
    )  # fmt: skip
    assert code == 0, out
    assert out.startswith("installed meter 0x")
    assert "(1-phase, 220 V, registers 700/0 Wh)" in out
    assert out.count("\n") == 1
    code, out = _gridledger(
        "oracle", "meter", "calibrate", "LIFE-CLI", "--certificate", "CNAS-7",
        "--calibrated-at", "1000", "--next-due-at", "2000", "--wallet", "verifier",
    )  # fmt: skip
    assert (code, "next due 2000" in out) == (0, True), out
    code, out = _gridledger(
        "oracle", "meter", "replace", "LIFE-CLI", "LIFE-CLI-2", signer,
        "--final-import-wh", "650", "--final-export-wh", "0", "--phases", "1",
        "--nominal-voltage-dv", "2200",
    )  # fmt: skip
    assert code != 0
    assert (out[:6], "FinalRegisterBelowInitial" in out) == ("error:", True), out
    assert out.count("\n") == 1
    code, out = _gridledger(
        "oracle", "meter", "replace", "LIFE-CLI", "LIFE-CLI-2", signer,
        "--final-import-wh", "900", "--final-export-wh", "0", "--phases", "1",
        "--nominal-voltage-dv", "2200",
    )  # fmt: skip
    assert (code, "(final 900/0 Wh)" in out) == (0, True), out
    code, out = _gridledger("oracle", "meter", "show", "LIFE-CLI")
    assert (code, out.count("\n")) == (0, 1), out
    assert "1-phase 220 V 10000 W, initial 700/0 Wh, calibration due 2000, retired at" in out
    assert "(final 900/0 Wh), replaced by 0x" in out
    code, out = _gridledger("oracle", "meter", "retire", "LIFE-CLI-2", "--final-import-wh", "1")
    assert code != 0, out
    assert out.startswith("error:"), out
    assert "FinalRegisterBelowInitial" in out or "final-export-wh" in out
