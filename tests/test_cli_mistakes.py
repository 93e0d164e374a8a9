"""Every command of the ``gridledger`` tree, run with bad arguments, says one readable line.

The tree is walked at run time from the root Typer app (areas come from entry points), so a
command added later is covered without touching this file. For each leaf command the test
synthesises bad invocations from its parameters -- a bad address, a non-numeric or negative
number, an unknown id, a negative or non-numeric CNY amount, a missing or malformed file, a
missing wallet, a wrong keystore password, a missing required argument -- and runs them
in-process against the session chain. Each must exit non-zero with exactly one line of output
(``error: ...``) and no traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from typer._click import core
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from ledger.cli import app, run
from ledger.cli_support import _address_callback
from ledger.clients.tariff import TransmissionTariffClient
from ledger.context import LedgerContext
from ledger.keystore import Keystore
from tests.conftest import role_account

GOOD_ADDRESS = "0x000000000000000000000000000000000000dEaD"
UNKNOWN_ID = str(10**12)
#: Commands that start servers or chains, or are slow by design; they are not walked.
SKIPPED = (
    "chain",
    "consortium",
    "contracts build",
    "demo",
    "gateway serve",
    "gateway index",
    "gateway reproject",
    "oracle serve",
    "intake serve",
    "tls init",
    "backup create",
    "backup restore",
    "surveil train",
    "surveil evaluate",
    "surveil simulate",
    "scenario",
)
#: Options that name a file the command writes (not one it reads).
OUTPUT_PATHS = {"out", "csv_file", "html_file", "models_dir", "backup_dir", "db"}
#: str parameters that carry CNY amounts (or CNY/MWh prices, MWh energies).
AMOUNT_NAMES = {"amount", "price", "energy", "max_price", "min_take", "limit"}
#: str parameters that hold an account address (whatever their declared type).
ADDRESS_NAMES = {"account", "signer", "holder", "party", "generator", "to"}
#: Valid values of plain str parameters, so that the bad one is what fails.
GOOD_STRINGS = {
    "side": "sell",
    "kind": "solar",
    "token_id": "1",
    "text": "why",
    "ref": "R1",
    "role": "VERIFIER",
    "meter": "m1",
    "level": "AAA",
    "capacity_mwh": "1",
    "rate": "1",
}
GOOD_BY_COMMAND = {
    ("node apply", "side"): "seller",
    ("gateway keys add", "role"): "auditor",
    ("oracle keys add", "role"): "dispatch",
}
#: Commands whose file option is a keys file they create (a missing one is no mistake).
CREATES_FILE = {"gateway keys add", "gateway keys list", "oracle keys add", "oracle keys list"}
#: Optional parameters a command needs together with the bad one.
ALSO_NEEDED = {"node take": {"listing_id", "energy"}, "surveil respond": {"text"}}
ALSO_NEEDED["surveil rule"] = {"text"}
#: ... unless the bad one replaces it (``--text`` or ``--file``).
ALTERNATIVE = {"text": "file"}
#: Commands that check something else first (still one line, but not naming the wallet):
#: ``certs deploy-aux`` needs the certificate chain; ``surveil file`` reads the history;
#: ``portal serve`` needs its TLS certificate and asks the password at log-in, not at start.
WALLET_CHECKED_LATE = {"certs deploy-aux", "surveil file", "portal serve"}


@dataclass(frozen=True)
class Case:
    command: str
    args: tuple[str, ...]
    problem: str
    #: A fragment the error line must contain (the bad value, or the problem's words).
    names: str | None


def walk(cmd: core.Command, path: tuple[str, ...]) -> Iterator[tuple[str, core.Command]]:
    if isinstance(cmd, TyperGroup):
        ctx = core.Context(cmd, info_name=path[-1] if path else "gridledger")
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None:
                yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def _annotation(param: core.Parameter) -> object:
    return param.type_descriptor.annotation  # type: ignore[attr-defined]


def kind(param: core.Parameter) -> str | None:
    """What a parameter holds, as far as bad values go (None: nothing to get wrong)."""
    ann = _annotation(param)
    name = param.name or ""
    if param.callback is _address_callback or param.metavar == "ADDRESS":
        return "address"
    if ann is str and name in ADDRESS_NAMES:
        return "address"
    if name == "wallet":
        return "wallet"
    if ann is int:
        return "id" if name.endswith("_id") or name == "period" else "int"
    if ann is float:
        return "int"
    if ann is Path:
        return None if name in OUTPUT_PATHS else "path"
    if ann is str and (param.metavar == "CNY" or name in AMOUNT_NAMES):
        return "amount"
    return None


def good_value(command: str, param: core.Parameter, files: dict[str, Path]) -> list[str]:
    ann = _annotation(param)
    desc = param.type_descriptor  # type: ignore[attr-defined]
    if ann is bool:
        return [param.opts[0]] if isinstance(param, TyperOption) else []
    if desc.is_choice and desc.choices:
        value = str(getattr(desc.choices[0], "value", desc.choices[0]))
    else:
        value = {
            "address": GOOD_ADDRESS,
            "wallet": "admin",
            "id": "1",
            "int": "1",
            "amount": "1",
            "path": str(files["good"]),
        }.get(kind(param) or "", str(files["good"]) if ann is Path else "x")
        value = GOOD_STRINGS.get(param.name or "", value)
        value = GOOD_BY_COMMAND.get((command, param.name or ""), value)
    return _render(param, value)


def _render(param: core.Parameter, value: str) -> list[str]:
    if isinstance(param, TyperOption):
        return [param.opts[0], value]
    return [value]


BAD_VALUES: dict[str, list[tuple[str, str, str | None]]] = {
    "address": [("0xbad", "bad address", "0xbad")],
    "int": [("abc", "non-numeric number", "invalid value")],
    "id": [("abc", "non-numeric id", "invalid value"), ("-1", "negative id", None)],
    "amount": [("-10", "negative amount", "-10"), ("abc", "non-numeric amount", "abc")],
    "wallet": [("no-such-wallet", "missing wallet", "no-such-wallet")],
}


def cases_for(command: str, cmd: core.Command, files: dict[str, Path]) -> Iterator[Case]:
    params = [p for p in cmd.params if p.expose_value and p.name != "help"]
    missing = (
        [] if command in CREATES_FILE else [(str(files["missing"]), "missing file", "missing")]
    )
    bad_values = {
        **BAD_VALUES,
        "path": [*missing, (str(files["malformed"]), "malformed file", None)],
    }
    required = [p for p in params if p.required]
    if required:
        yield Case(command, (), "missing argument", "missing")
    for target in params:
        target_kind = kind(target)
        for value, problem, names in bad_values.get(target_kind or "", []):
            if target_kind == "wallet" and command in WALLET_CHECKED_LATE:
                names = None
            yield Case(command, _argv(command, params, target, value, files), problem, names)
        if target_kind == "id" and target.name != "period":
            argv = _argv(command, params, target, UNKNOWN_ID, files)
            yield Case(command, argv, "unknown id", None)
        if target_kind == "wallet":
            argv = _argv(command, params, target, "m17", files)
            names = None if command in WALLET_CHECKED_LATE else "password"
            yield Case(command, (*argv, "__WRONG_PASSWORD__"), "wrong password", names)


def _argv(
    command: str,
    params: list[core.Parameter],
    target: core.Parameter,
    value: str,
    files: dict[str, Path],
) -> tuple[str, ...]:
    argv: list[str] = []
    needed = ALSO_NEEDED.get(command, set())
    for param in params:
        if param is target:
            argv += _render(param, value)
        elif param.required or (
            param.name in needed and ALTERNATIVE.get(param.name or "") != target.name
        ):
            argv += good_value(command, param, files)
    return tuple(argv)


@pytest.fixture
def cli_env(ctx: LedgerContext, tmp_path: Path) -> Iterator[dict[str, Path]]:
    settings = ctx.settings
    Keystore(settings.keystore_dir, scrypt_n=16384).create("m17", "right")
    # the regions the good values name exist, so the bad value is what fails
    ctx.client(TransmissionTariffClient, role_account("REGULATOR")).define_region(1, "north")
    good = tmp_path / "good.json"
    good.write_text("{}", encoding="utf-8")
    malformed = tmp_path / "malformed.json"
    malformed.write_text("{not json", encoding="utf-8")
    env = {
        "GRIDLEDGER_DATA_DIR": str(settings.data_dir),
        "GRIDLEDGER_RPC_URL": settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
        "GRIDLEDGER_KEYSTORE_SCRYPT_N": "16384",  # the floor without demo keys
        "GRIDLEDGER_KEYSTORE_PASSWORD": "right",
        "COLUMNS": "300",
    }
    saved = {k: v for k, v in os.environ.items() if k.startswith("GRIDLEDGER_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    yield {"good": good, "malformed": malformed, "missing": tmp_path / "missing.json"}
    for key in env:
        os.environ.pop(key, None)
    os.environ.update(saved)


def invoke(case: Case) -> tuple[int, str]:
    args = list(case.args)
    password = "right"
    if args and args[-1] == "__WRONG_PASSWORD__":
        args.pop()
        password = "wrong"
    os.environ["GRIDLEDGER_KEYSTORE_PASSWORD"] = password
    # the keystore (not the demo keys) answers for a wallet whose password is wrong
    os.environ["GRIDLEDGER_DEMO_KEYS"] = "0" if password == "wrong" else "1"
    runner = CliRunner()
    with runner.isolation(input="") as streams:
        code = run([*case.command.split(), *args])
        output = streams[2].getvalue().decode("utf-8", "replace")
    return code, output


def test_every_command_says_one_line_for_every_mistake(cli_env: dict[str, Path]) -> None:
    root = typer.main.get_command(app)
    commands = [
        (name, cmd)
        for name, cmd in walk(root, ())
        if not any(name == s or name.startswith(s + " ") for s in SKIPPED)
    ]
    cases = [case for name, cmd in commands for case in cases_for(name, cmd, cli_env)]
    failures = []
    for case in cases:
        code, output = invoke(case)
        lines = [line for line in output.splitlines() if line.strip()]
        ok = (
            code != 0
            and len(lines) == 1
            and lines[0].startswith("error: ")
            and (case.names is None or case.names.lower() in lines[0].lower())
        )
        if not ok:
            failures.append(
                f"{case.command} {' '.join(case.args)} [{case.problem}] -> {code}: "
                + " | ".join(lines[:3] + (["..."] if len(lines) > 3 else []))
            )
    print(f"\nwalked {len(commands)} commands, tried {len(cases)} bad invocations")
    assert not failures, f"{len(failures)} of {len(cases)}:\n" + "\n".join(failures)
    assert len(commands) > 80
