"""The request dependencies of the gateway's routes, as typed ``Annotated`` aliases.

A route names what it needs (``conn: ConnDep``, ``settings: SettingsDep``,
``_role: AuditorRole``) and FastAPI provides it from the :class:`GatewayState` that
:func:`gateway.app.create_app` stores on the app. The route modules import this module,
never the app factory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.auth import AUDIT, IDENTITY, PUBLIC, ApiKeys, RateLimiter, Role
from gateway.indexer import Indexer
from ledger.context import LedgerContext
from ledger.settings import Settings
from ledger.webauth import Access, ApiKeyDep, Requires


class GatewayState:
    """What the routes share: settings, database, keys, limiter, the chain (lazily)."""

    def __init__(
        self, settings: Settings, engine: Engine, ctx: LedgerContext | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keys = ApiKeys.load(
            settings.gateway_api_keys_file, setting="GRIDLEDGER_GATEWAY_API_KEYS_FILE"
        )
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


def _keys(request: Request) -> ApiKeys:
    return get_state(request).keys


def _deny(status: int, detail: str) -> Exception:
    return StarletteHTTPException(status, detail)


def caller_role(state: StateDep, key: ApiKeyDep = None) -> Role:
    """The caller's role from ``X-API-Key``; 401 for an unknown key."""
    return state.role(key)


RoleDep = Annotated[Role, Depends(caller_role)]


def needs(access: Access) -> Requires:
    """A dependency admitting the roles of ``access`` (401 unknown key, 403 other roles)."""
    return Requires(access, _keys, _deny)


PublicRole = Annotated[Role, Depends(needs(PUBLIC))]
AuditorRole = Annotated[Role, Depends(needs(AUDIT))]
RegulatorRole = Annotated[Role, Depends(needs(IDENTITY))]
