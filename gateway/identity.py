"""Identity data for regulators: ``GET /api/v1/identity/{address}`` decrypts a node's
bundle from the identity vault (``ledger.identity``) and ``GET /api/v1/identity-audit``
lists (and verifies) the hash-chained access log every such read is appended to.

The gateway opens the vault's database (``GRIDLEDGER_GATEWAY_IDENTITY_DATABASE_URL``,
default the database URL) with the vault's key (``GRIDLEDGER_GATEWAY_IDENTITY_KEY_FILE``,
default the identity key file); it never creates a key: without one it answers 503.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from gateway.api import ADDRESS, ERRORS
from gateway.auth import key_id
from gateway.deps import RegulatorRole, SettingsDep
from ledger.errors import ConfigError, NotFoundError
from ledger.identity import IdentityTamperedError, IdentityVault
from ledger.identity_audit import MAX_REASON_CHARS, AccessEntry, ChainCheck, Reader
from ledger.settings import Settings

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["identity"])


class IdentityOut(BaseModel):
    address: str
    record_id: str
    bundle_hash: str = Field(description="keccak256 of the bundle: compare with the chain.")
    bundle: dict[str, object] = Field(description="The decrypted identity bundle.")


class AccessLogOut(BaseModel):
    entries: list[AccessEntry]
    check: ChainCheck = Field(description="Verification of the whole hash chain.")


def vault_of(request: Request, settings: Settings) -> IdentityVault:
    """The app's vault (opened once); 503 when its key is missing or unreadable."""
    vault: IdentityVault | None = getattr(request.app.state, "identity_vault", None)
    if vault is None:
        try:
            vault = IdentityVault.from_settings(
                settings,
                url=settings.gateway_identity_database_url,
                key_file=settings.gateway_identity_key_file,
                create_key=False,
            )
        except ConfigError as exc:
            raise HTTPException(503, f"identity vault unavailable: {exc}") from exc
        request.app.state.identity_vault = vault
    return vault


@router.get(
    "/identity/{address}",
    response_model=IdentityOut,
    summary="Decrypted identity data of a node (regulators only; every read is logged)",
)
def identity(
    role: RegulatorRole,
    settings: SettingsDep,
    request: Request,
    address: Annotated[str, Path(pattern=ADDRESS)],
    reason: Annotated[
        str | None, Query(max_length=MAX_REASON_CHARS, description="Why (or X-Access-Reason).")
    ] = None,
    x_access_reason: Annotated[str | None, Header(max_length=MAX_REASON_CHARS)] = None,
) -> IdentityOut:
    stated = (reason or x_access_reason or "").strip()
    if not stated:
        raise HTTPException(422, "state a reason: ?reason=... or the X-Access-Reason header")
    vault = vault_of(request, settings)
    kid = key_id(request.headers.get("x-api-key"))
    reader = Reader(identity=f"gateway-key:{kid}", role=role.name, key_id=kid)
    try:
        record_id, bundle = vault.read(address, reader=reader, reason=stated)
    except NotFoundError as exc:
        raise HTTPException(404, f"no identity record for {address}") from exc
    except IdentityTamperedError as exc:
        raise HTTPException(409, str(exc)) from exc
    return IdentityOut(
        address=address,
        record_id=record_id,
        bundle_hash="0x" + bundle.bundle_hash.hex(),
        bundle=bundle.model_dump(mode="json"),
    )


@router.get(
    "/identity-audit",
    response_model=AccessLogOut,
    summary="The identity access log (regulators only), with its hash chain verified",
)
def identity_audit(
    _role: RegulatorRole,
    settings: SettingsDep,
    request: Request,
    after: Annotated[int, Query(ge=0, description="Entries after this number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AccessLogOut:
    log = vault_of(request, settings).audit
    return AccessLogOut(entries=log.entries(after, limit), check=log.verify())
