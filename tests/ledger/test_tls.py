"""TLS end to end: `gridledger tls init`, a real uvicorn server over HTTPS, clients that
trust the consortium CA (accepted), another CA (refused), mutual TLS, plain HTTP refused."""

from __future__ import annotations

import os
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from ledger.engines.local import free_port
from ledger.manifest import Manifest, write_manifest
from ledger.settings import Settings
from ledger.tls import (
    CLIENT_NAMES,
    SERVER_NAMES,
    TlsError,
    client_ssl_context,
    http_client,
    init_tls,
    uvicorn_ssl_kwargs,
)
from ledger.tls_cli import app as tls_app
from scripts import meter_sim


def _settings(data_dir: Path, **kw: Any) -> Settings:
    return Settings.model_validate({"data_dir": data_dir, **kw})


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


class _Server:
    """``uvicorn`` over HTTPS in a thread, with the settings' TLS arguments."""

    def __init__(self, settings: Settings, service: str = "oracle") -> None:
        self.port = free_port()
        config = uvicorn.Config(
            _app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            **uvicorn_ssl_kwargs(settings, service),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return f"https://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def tls_settings(tmp_path: Path) -> Settings:
    settings = _settings(tmp_path / "data")
    init_tls(settings.data_dir / "tls", hostnames=["oracle.grid.example"])
    return settings


@pytest.fixture
def https_url(tls_settings: Settings) -> Iterator[str]:
    with _Server(tls_settings) as url:
        yield url


def test_init_writes_ca_and_certificates_with_private_keys_0600(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        tls_app, ["init", "--hostname", "gw.example"], env={"GRIDLEDGER_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0, result.output
    tls = tmp_path / "tls"
    for name in ("ca", *SERVER_NAMES, *CLIENT_NAMES):
        assert stat.S_IMODE((tls / f"{name}.key").stat().st_mode) == 0o600
        assert (tls / f"{name}.crt").is_file()
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((tls / "gateway.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "gw.example"}
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}


def test_init_is_idempotent_and_force_reissues(tmp_path: Path) -> None:
    first = init_tls(tmp_path)
    assert first.created == ["ca", *SERVER_NAMES, *CLIENT_NAMES]
    assert first.kept == []
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = init_tls(tmp_path)
    assert again.created == []
    assert again.kept == ["ca", *SERVER_NAMES, *CLIENT_NAMES]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    forced = init_tls(tmp_path, force=True)
    assert forced.created == ["ca", *SERVER_NAMES, *CLIENT_NAMES]
    assert (tmp_path / "ca.crt").read_bytes() != before["ca.crt"]


def test_client_trusting_the_ca_gets_200(tls_settings: Settings, https_url: str) -> None:
    with http_client(tls_settings, https_url) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_client_trusting_another_ca_is_refused(
    tls_settings: Settings, https_url: str, tmp_path: Path
) -> None:
    init_tls(tmp_path / "other")
    context = client_ssl_context(tmp_path / "other" / "ca.crt")
    with (
        httpx.Client(base_url=https_url, verify=context) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get("/health")


def test_server_certificate_for_another_host_is_refused(
    tls_settings: Settings, https_url: str
) -> None:
    with http_client(tls_settings, https_url) as client:
        assert client.get("/health", extensions={"sni_hostname": "oracle.grid.example"}).is_success
    with (
        http_client(tls_settings, https_url) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get("/health", extensions={"sni_hostname": "evil.example"})


def test_mutual_tls_demands_a_client_certificate_of_the_ca(
    tls_settings: Settings, tmp_path: Path
) -> None:
    mtls = tls_settings.model_copy(update={"tls_client_auth": True})
    assert uvicorn_ssl_kwargs(mtls, "oracle")["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    init_tls(tmp_path / "other")
    with _Server(mtls) as url:
        with http_client(mtls, url, client_name="meter") as meter:
            assert meter.get("/health").status_code == 200
        with http_client(mtls, url, client_name="dispatch") as dispatch:
            assert dispatch.get("/health").status_code == 200
        tls = tls_settings.data_dir / "tls"
        foreign = client_ssl_context(tls / "ca.crt", tmp_path / "other" / "meter.crt")
        for context in (client_ssl_context(tls / "ca.crt"), foreign):
            with (
                httpx.Client(base_url=url, verify=context) as client,
                pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
            ):
                client.get("/health")


def test_plain_http_needs_the_explicit_flag(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(TlsError, match=r"no oracle certificate .*gridledger tls init"):
        uvicorn_ssl_kwargs(settings, "oracle")
    assert uvicorn_ssl_kwargs(settings, "oracle", insecure_http=True) == {}
    with pytest.raises(TlsError, match="refusing plain HTTP"):
        http_client(settings, "http://127.0.0.1:8600")
    http_client(settings, "http://127.0.0.1:8600", insecure_http=True).close()


def test_serve_commands_refuse_to_start_without_certificates(tmp_path: Path) -> None:
    env = {"GRIDLEDGER_DATA_DIR": str(tmp_path), "GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}
    exe = str(Path(sys.executable).with_name("gridledger"))
    result = subprocess.run(
        [exe, "gateway", "serve"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no gateway certificate at")
    assert "--insecure-http" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_oracle_serve_and_meter_simulator_over_https(
    tmp_path: Path, anvil_url: str, deployed: Manifest
) -> None:
    """`gridledger oracle serve` over HTTPS; the meter simulator verifies it against the CA
    and refuses a server when it trusts another CA."""
    write_manifest(tmp_path / "manifest.json", deployed)
    init_tls(tmp_path / "tls")
    init_tls(tmp_path / "other")
    port = free_port()
    env = {
        **os.environ,
        "GRIDLEDGER_DATA_DIR": str(tmp_path),
        "GRIDLEDGER_RPC_URL": anvil_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
        "GRIDLEDGER_ORACLE_PERIOD_SOURCE": "fixed",
    }
    exe = str(Path(sys.executable).with_name("gridledger"))
    proc = subprocess.Popen(
        [exe, "oracle", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        settings = _settings(tmp_path)
        deadline = time.monotonic() + 90
        while True:
            try:
                with http_client(settings, url) as client:
                    health = client.get("/health").raise_for_status().json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, "oracle serve exited"
                assert time.monotonic() < deadline, "oracle serve did not come up"
                time.sleep(0.5)
        assert health["meterOracle"] == deployed.contracts["MeterOracle"].address
        args = ["--oracle-url", url, "--meters", "1", "--intervals", "1"]
        sim_env = {"GRIDLEDGER_DATA_DIR": str(tmp_path)}
        ok = CliRunner().invoke(meter_sim.app, args, env=sim_env)
        # the reading crossed verified TLS and the oracle answered it (the simulated meter is
        # not registered on this chain, so the oracle refuses it and the simulator exits 1)
        assert ok.output.startswith("posted 1 readings"), ok.output
        assert "oracle refused 1 of 1 readings (unknown_meter 1)" in ok.output
        assert ok.exit_code == 1
        foreign = {**sim_env, "GRIDLEDGER_TLS_CA_FILE": str(tmp_path / "other" / "ca.crt")}
        refused = CliRunner().invoke(meter_sim.app, args, env=foreign)
        assert isinstance(refused.exception, httpx.ConnectError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.exception)
        plain = CliRunner().invoke(
            meter_sim.app, [*args[2:], "--oracle-url", f"http://127.0.0.1:{port}"], env=sim_env
        )
        assert isinstance(plain.exception, TlsError)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
