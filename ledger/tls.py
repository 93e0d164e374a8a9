"""TLS between consortium members: a consortium CA, service and client certificates.

``gridledger tls init`` writes, under ``<data dir>/tls/`` (``GRIDLEDGER_TLS_DIR``)::

    ca.crt / ca.key                 the consortium CA (EC P-256, 10 years)
    oracle.crt / oracle.key         server certificates (SAN 127.0.0.1, ::1, localhost and
    gateway.crt / gateway.key       any --hostname given; 2 years)
    portal.crt / portal.key
    dispatch.crt / dispatch.key     client certificates for mutual TLS (the dispatch
    meter.crt / meter.key           center, the meters)

Private keys are written with mode 0600. Running ``init`` again keeps every file that
exists (idempotent); ``--force`` re-issues everything, the CA included.

Every HTTP service serves HTTPS by default (:func:`uvicorn_ssl_kwargs` refuses to start
without a certificate); plain HTTP needs the explicit ``--insecure-http`` local-development
flag. Clients verify the server against the consortium CA (:func:`client_ssl_context`,
:func:`http_client`) and present a client certificate when they have one.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledger.errors import ConfigError, GridLedgerError
from ledger.settings import Settings

#: Services that serve HTTPS with a server certificate.
SERVER_NAMES = ("oracle", "gateway", "portal")
#: Clients that authenticate with a client certificate where mutual TLS is on.
CLIENT_NAMES = ("dispatch", "meter")
#: Hostnames every server certificate carries.
DEFAULT_HOSTNAMES = ("localhost", "127.0.0.1", "::1")
INSECURE_FLAG = "--insecure-http"

#: The ``--insecure-http`` option of every server and client command.
InsecureOpt = Annotated[
    bool,
    typer.Option(INSECURE_FLAG, help="Plain HTTP without TLS: local development only."),
]

_CA_DAYS = 3650
_LEAF_DAYS = 730


class TlsError(GridLedgerError):
    """A TLS certificate or key is missing or unusable, or plain HTTP was not allowed."""


@dataclass(frozen=True)
class TlsInitResult:
    """What ``tls init`` wrote (``created``) and kept (``kept``) under ``directory``."""

    directory: Path
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def tls_dir(settings: Settings) -> Path:
    """Where the consortium CA and the certificates live."""
    return settings.tls_dir_override or settings.data_dir / "tls"


def ca_file(settings: Settings) -> Path:
    """The CA certificate clients trust."""
    return settings.tls_ca_file_override or tls_dir(settings) / "ca.crt"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{path} is not an EC private key")
    return key


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GridLedger consortium"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int) -> Any:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def _san(hostnames: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for host in dict.fromkeys(hostnames):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


def _issue_ca(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder("GridLedger consortium CA", _name("GridLedger consortium CA"), key, _CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / "ca.key", key)
    (directory / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _issue_leaf(directory: Path, name: str, *, server: bool, hostnames: list[str]) -> None:
    ca_key = _load_key(directory / "ca.key")
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(f"gridledger-{name}", ca_cert.subject, key, _LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if server:
        builder = builder.add_extension(_san(hostnames), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(directory / f"{name}.key", key)
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def init_tls(
    directory: Path, *, hostnames: list[str] | None = None, force: bool = False
) -> TlsInitResult:
    """Create the consortium CA and every service and client certificate in ``directory``.

    Files that exist are kept unless ``force`` (which re-issues all, the CA included).
    """
    directory.mkdir(parents=True, exist_ok=True)
    result = TlsInitResult(directory)
    names = [*DEFAULT_HOSTNAMES, *(hostnames or [])]
    if force or not (directory / "ca.crt").exists() or not (directory / "ca.key").exists():
        _issue_ca(directory)
        force = True  # a new CA invalidates every certificate it did not sign
        result.created.append("ca")
    else:
        result.kept.append("ca")
    for name in (*SERVER_NAMES, *CLIENT_NAMES):
        if not force and (directory / f"{name}.crt").exists():
            result.kept.append(name)
            continue
        _issue_leaf(directory, name, server=name in SERVER_NAMES, hostnames=names)
        result.created.append(name)
    return result


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise TlsError(
            f"no {what} at {path}: run `gridledger tls init` (or pass {INSECURE_FLAG} for "
            "local development only)"
        )
    return path


def uvicorn_ssl_kwargs(
    settings: Settings, service: str, *, insecure_http: bool = False
) -> dict[str, Any]:
    """The ``uvicorn.run`` TLS arguments of ``service`` (``{}`` with ``insecure_http``).

    With ``GRIDLEDGER_TLS_CLIENT_AUTH`` the server demands a client certificate signed by
    the consortium CA (mutual TLS).

    Raises:
        TlsError: The service's certificate or key is missing and plain HTTP was not asked.
    """
    if insecure_http:
        return {}
    if service not in SERVER_NAMES:
        raise ConfigError(f"unknown TLS service {service!r}: one of {', '.join(SERVER_NAMES)}")
    directory = tls_dir(settings)
    kwargs: dict[str, Any] = {
        "ssl_certfile": str(_require(directory / f"{service}.crt", f"{service} certificate")),
        "ssl_keyfile": str(_require(directory / f"{service}.key", f"{service} key")),
    }
    if settings.tls_client_auth:
        kwargs["ssl_ca_certs"] = str(_require(ca_file(settings), "consortium CA certificate"))
        kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED
    return kwargs


def client_ssl_context(ca: Path, client_cert: Path | None = None) -> ssl.SSLContext:
    """A context that verifies servers against ``ca`` (hostname included) and presents
    ``client_cert`` (with its ``.key`` beside it) when given."""
    context = ssl.create_default_context(cafile=str(_require(ca, "consortium CA certificate")))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_cert.with_suffix(".key")))
    return context


def http_client(
    settings: Settings,
    base_url: str,
    *,
    client_name: str | None = None,
    insecure_http: bool = False,
    timeout: float = 60.0,
) -> httpx.Client:
    """An ``httpx`` client for a GridLedger service at ``base_url``.

    ``https://`` URLs are verified against the consortium CA, presenting the client
    certificate ``client_name`` (``dispatch``, ``meter``) when it exists. ``http://`` URLs
    are refused unless ``insecure_http`` (local development).
    """
    if base_url.startswith("http://"):
        if not insecure_http:
            raise TlsError(
                f"refusing plain HTTP to {base_url}: use https:// or pass {INSECURE_FLAG} "
                "(local development only)"
            )
        return httpx.Client(base_url=base_url, timeout=timeout)
    cert = tls_dir(settings) / f"{client_name}.crt" if client_name else None
    context = client_ssl_context(ca_file(settings), cert if cert and cert.exists() else None)
    return httpx.Client(base_url=base_url, timeout=timeout, verify=context)
