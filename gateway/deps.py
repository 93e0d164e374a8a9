"""The request dependencies of the gateway's routes, as typed ``Annotated`` aliases.

A route names what it needs (``conn: ConnDep``, ``settings: SettingsDep``,
``_role: AuditorRole``) and FastAPI provides it from the :class:`GatewayState` that
:func:`gateway.app.create_app` stores on the app. The route modules import this module,
never the app factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth import ApiKeys, RateLimiter, Role
from gateway.indexer import Indexer
from ledger.context import LedgerContext
from ledger.settings import Settings


class GatewayState:
    """What the routes share: settings, database, keys, limiter, the chain (lazily)."""

    def __init__(
        self, settings: Settings, engine: Engine, ctx: LedgerContext | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keys = ApiKeys.load(settings.gateway_api_keys_file)
        self.limiter = RateLimiter(
            settings.gateway_rate_limit_per_s, settings.gateway_rate_limit_burst
        )
        self._ctx = ctx

    @property
    def ctx(self) -> LedgerContext:
        if self._ctx is None:
            self._ctx = LedgerContext(self.settings)
        return self._ctx

    def indexer(self) -> Indexer:
        """An indexer of the chain into the gateway database (connects to the chain)."""
        return Indexer(self.ctx, self.engine)

    def role(self, api_key: str | None) -> Role:
        """The role of ``api_key`` (public without one); 401 for an unknown key."""
        role = self.keys.role(api_key)
        if role is None:
            raise StarletteHTTPException(401, "unknown API key")
        return role


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gw
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_engine(state: StateDep) -> Engine:
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_conn(engine: EngineDep) -> Iterator[Connection]:
    """A read connection of the gateway database for the request."""
    with engine.connect() as conn:
        yield conn


ConnDep = Annotated[Connection, Depends(get_conn)]

api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Role: auditor/regulator")
ApiKeyDep = Annotated[str | None, Depends(api_key)]


def caller_role(state: StateDep, key: ApiKeyDep = None) -> Role:
    """The caller's role from ``X-API-Key``; 401 for an unknown key."""
    return state.role(key)


RoleDep = Annotated[Role, Depends(caller_role)]


def needs(needed: Role) -> Callable[[Role], Role]:
    """A dependency that answers 403 unless the caller's role is at least ``needed``."""

    def check(role: RoleDep) -> Role:
        if role < needed:
            raise StarletteHTTPException(403, f"needs an API key with role {needed.name}")
        return role

    return check


PublicRole = Annotated[Role, Depends(needs(Role.public))]
AuditorRole = Annotated[Role, Depends(needs(Role.auditor))]
RegulatorRole = Annotated[Role, Depends(needs(Role.regulator))]
