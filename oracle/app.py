"""The oracle's HTTP API (FastAPI): meters and the metering system POST signed readings,
the dispatch center fetches trades and POSTs signed results, auditors fetch proofs
(who may call which route: :mod:`oracle.access`).

``create_app(ctx, ...)`` takes its dependencies (context, SQL sessions, relaying account,
trade source, clock) so tests swap any of them; the service behind every route is the
``get_service`` dependency. Bad input gets a 4xx :class:`~oracle.schemas.Problem` naming the
reason, never a 5xx.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import Web3Exception

from ledger.context import LedgerContext
from ledger.errors import GridLedgerError
from ledger.webauth import ApiKeys, Role
from oracle.access import (
    AnyRole,
    AuditorRole,
    DispatchRole,
    DispatchSigned,
    MeterSigned,
    OperatorRole,
)
from oracle.dispatch import TradeSource
from oracle.errors import OracleError
from oracle.intake import batch_status
from oracle.schemas import (
    ADDRESS_PATTERN,
    MAX_SQL_INT,
    BatchResult,
    DispatchAccepted,
    DispatchSubmission,
    Health,
    NodeProof,
    PendingReading,
    Problem,
    ReadingBatch,
    Trade,
)
from oracle.service import OracleService
from oracle.tamper_watch import TamperCase

log = logging.getLogger("gridledger.oracle")

_PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "description": text}
    for code, text in (
        (400, "Wrong chain or contract, malformed request"),
        (401, "Bad signature; unknown API key"),
        (403, "Unknown or revoked meter; signer lacks the role; API key's role not admitted"),
        (404, "Not found"),
        (409, "Replay, already recorded, or settlement open"),
        (422, "Implausible value or invalid body"),
        (503, "The database or the chain is unreachable (retry later)"),
    )
}


def get_service(request: Request) -> OracleService:
    """The service behind every route (override with ``app.dependency_overrides``)."""
    service: OracleService = request.app.state.service
    return service


Svc = Annotated[OracleService, Depends(get_service)]


router = APIRouter(responses=_PROBLEMS)


@router.post(
    "/readings",
    response_model=BatchResult,
    responses=_PROBLEMS,
    summary="Submit a batch of signed meter readings",
    description=(
        "Each reading is checked on its own: good readings are accepted (or flagged for "
        "review) even when others in the batch are rejected. 200 when at least one "
        "reading was accepted, flagged or a duplicate; otherwise the rejection's 4xx "
        "(400 wrong chain, 401 bad signature, 403 unknown/revoked meter, 409 replay, "
        "422 implausible) with every reading's result."
    ),
)
def post_readings(_role: MeterSigned, batch: ReadingBatch, service: Svc) -> JSONResponse:
    result = service.ingest(batch)
    status = batch_status(result)
    if status == 200:
        return JSONResponse(result.model_dump(mode="json", by_alias=True), 200)
    first = next(r for r in result.results if r.reason is not None)
    body = Problem(reason=str(first.reason), detail=first.detail or "", results=result.results)
    return JSONResponse(body.model_dump(mode="json", by_alias=True, exclude_none=True), status)


@router.get(
    "/dispatch/trades", response_model=list[Trade], responses=_PROBLEMS, summary="Trades to check"
)
def dispatch_trades(
    _role: DispatchRole, service: Svc, period: Annotated[int, Query(ge=0, le=2**63 - 1)]
) -> list[Trade]:
    return service.trades.trades(period)


@router.post(
    "/dispatch/results",
    response_model=DispatchAccepted,
    status_code=202,
    responses=_PROBLEMS,
    summary="Submit dispatch-signed results (relayed on chain)",
)
def dispatch_results(
    _role: DispatchSigned, sub: DispatchSubmission, service: Svc
) -> DispatchAccepted:
    return service.submit_dispatch(sub)


@router.get(
    "/review/pending",
    response_model=list[PendingReading],
    responses=_PROBLEMS,
    summary="Flagged readings waiting for a VERIFIER",
)
def review_pending(
    _role: OperatorRole, service: Svc, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[PendingReading]:
    return service.pending_review(limit)


@router.get(
    "/review/tamper",
    response_model=list[TamperCase],
    responses=_PROBLEMS,
    summary="Tamper cases (suspected tampered meters, with their evidence)",
)
def review_tamper(
    _role: OperatorRole,
    service: Svc,
    status: Annotated[str | None, Query(pattern="^(pending|confirmed|dismissed)$")] = None,
) -> list[TamperCase]:
    return service.tamper_cases(status)


@router.get(
    "/proofs/{node}/{period}",
    response_model=NodeProof,
    responses=_PROBLEMS,
    summary="A node's posted total with every signed reading and Merkle proof",
)
def proof(
    _role: AuditorRole,
    node: Annotated[str, Path(pattern=ADDRESS_PATTERN, description="Node address.")],
    period: Annotated[int, Path(ge=0, le=MAX_SQL_INT, description="Delivery period id.")],
    service: Svc,
) -> NodeProof:
    return service.node_proof(node, period)


@router.get(
    "/health",
    response_model=Health,
    responses={401: _PROBLEMS[401]},
    summary="Chain, contracts and queue depths",
)
def health(_role: AnyRole, service: Svc) -> Health:
    return service.health()


def create_app(
    ctx: LedgerContext,
    *,
    sessions: sessionmaker[Session],
    account: LocalAccount,
    trades: TradeSource | None = None,
    clock: Callable[[], float] = time.time,
    service: OracleService | None = None,
    background_interval_s: float | None = None,
    api_keys: ApiKeys | None = None,
    anonymous_role: Role | str = Role.public,
) -> FastAPI:
    """The oracle API.

    Args:
        api_keys: The callers' keys (default: ``GRIDLEDGER_ORACLE_API_KEYS_FILE``).
        anonymous_role: The role of a request without a key when the keys come from the
            settings: ``public`` when served; an in-process caller that trusts itself (the
            demo) passes e.g. ``"dispatch"``.
        background_interval_s: Run :meth:`OracleService.tick` in a thread this often
            (``serve`` does); None leaves batching and relaying to the caller (tests).
    """
    svc = service or OracleService(
        ctx, sessions=sessions, account=account, trades=trades, clock=clock
    )

    app = FastAPI(
        title="GridLedger meter and dispatch oracle",
        version="1",
        description=(
            "Relays EIP-712-signed smart-meter readings and dispatch results to the chain. "
            "Readings are checked (signature, registration, plausibility, replay), stored, "
            "flagged for anomalies and anchored as Merkle roots; see README "
            "'Oracle: meters and dispatch'."
        ),
        lifespan=_lifespan(svc, background_interval_s),
    )
    app.state.service = svc
    app.state.api_keys = api_keys or ApiKeys.load(
        ctx.settings.oracle_api_keys_file,
        setting="GRIDLEDGER_ORACLE_API_KEYS_FILE",
        anonymous=Role(anonymous_role),
    )
    _add_error_handlers(app)
    app.include_router(router)
    return app


def _problem(status: int, reason: str, detail: str) -> JSONResponse:
    body = Problem(reason=reason, detail=detail[:2000])
    return JSONResponse(body.model_dump(by_alias=True, exclude_none=True), status)


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal answers a :class:`Problem`: 4xx for bad input, 503 while the database
    or the chain is unreachable (never a bare 500)."""

    @app.exception_handler(OracleError)
    async def _oracle_error(_req: Request, exc: OracleError) -> JSONResponse:
        return _problem(exc.status, str(exc.reason), exc.detail)

    @app.exception_handler(GridLedgerError)
    async def _ledger_error(_req: Request, exc: GridLedgerError) -> JSONResponse:
        return _problem(400, "refused", str(exc))

    @app.exception_handler(DBAPIError)
    async def _db_down(_req: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return _problem(503, "database_unavailable", f"the oracle database: {exc.orig}")

    @app.exception_handler(Web3Exception)
    async def _chain_error(_req: Request, exc: Web3Exception) -> JSONResponse:
        return _problem(503, "chain_unavailable", f"the chain: {exc}")

    @app.exception_handler(OSError)
    async def _chain_down(_req: Request, exc: OSError) -> JSONResponse:
        # an RPC node that does not answer (requests' errors are OSErrors)
        return _problem(503, "chain_unavailable", f"the chain: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _problem(exc.status_code, "http_error", str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return _problem(422, "invalid_request", detail)


def _lifespan(
    svc: OracleService, background_interval_s: float | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Runs :meth:`OracleService.tick` in a thread while the app serves (when asked)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker: threading.Thread | None = None
        if background_interval_s is not None:
            worker = threading.Thread(
                target=_background, args=(svc, stop, background_interval_s), daemon=True
            )
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=30)

    return lifespan


def _background(svc: OracleService, stop: threading.Event, interval_s: float) -> None:
    """Batch and relay every ``interval_s``; a failing streak (e.g. the database or the
    chain down) logs its first failure with the traceback and its end, not every round."""
    failing_since: float | None = None
    while not stop.wait(interval_s):
        try:
            svc.tick()
        except Exception:
            if failing_since is None:
                failing_since = time.monotonic()
                log.exception("background round failed; retrying every %.1f s", interval_s)
            continue
        if failing_since is not None:
            log.warning(
                "background rounds work again after %.1f s", time.monotonic() - failing_since
            )
            failing_since = None
