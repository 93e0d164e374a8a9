"""Bilateral contracts in the gateway: the history API and the explorer's pages.

``/api/v1/contracts`` searches the archive (number, party, template kind, period, status,
registration date), ``/api/v1/contracts/{no}`` gives a contract with its period trades and
history; the archived document downloads as HTML or PDF and the offline verification
bundle as JSON (auditor or regulator key: contract texts are commercial). The explorer
shows ``/contracts`` (search) and ``/contracts/{no}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from gateway.api import ERRORS, ErrorOut
from gateway.contracts_archive import (
    ContractQuery,
    bundle,
    contract_detail,
    document,
    reader,
    search,
)
from gateway.deps import AuditorRole, ConnDep, PublicRole, StateDep
from gateway.pages import INT64, PageDep
from ledger.errors import GridLedgerError, NotFoundError

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "The archived document is not the contract's."}
}
api = APIRouter(prefix="/api/v1", responses={**ERRORS, **CONFLICT}, tags=["contracts"])
pages = APIRouter(default_response_class=HTMLResponse, tags=["explorer"])

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
NoPath = Annotated[int, Path(ge=1, le=INT64, description="Contract number.")]
Party_q = Annotated[str | None, Query(pattern=ADDRESS, description="Seller or buyer.")]
Kind_q = Annotated[str | None, Query(max_length=64, description="Template kind.")]
Period_q = Annotated[int | None, Query(ge=0, le=INT64, description="A delivery period.")]
Status_q = Annotated[str | None, Query(max_length=24, description="active, completed, ...")]
Time_q = Annotated[int | None, Query(ge=0, le=INT64, description="Unix time.")]
No_q = Annotated[int | None, Query(ge=1, le=INT64, description="Contract number.")]
Limit_q = Annotated[int, Query(ge=1, le=1000)]


class ContractOut(BaseModel):
    contract_no: int
    template_id: int | None
    kind: str | None
    seller: str | None
    buyer: str | None
    status: str
    document_hash: str | None
    terms_digest: str | None
    first_period: int | None
    last_period: int | None
    price_fen_per_mwh: int | None
    scheduled_wh: int | None
    traded_wh: int
    trade_count: int
    amendments: int
    anomalies: int
    ended_time: int | None
    created_block: int
    created_time: int
    tx_hash: str


class ContractDetailOut(BaseModel):
    contract: ContractOut
    periods: list[dict[str, Any]]
    events: list[dict[str, Any]]
    archived: bool


def _query(
    no: No_q = None,
    party: Party_q = None,
    kind: Kind_q = None,
    period: Period_q = None,
    status: Status_q = None,
    registered_from: Time_q = None,
    registered_to: Time_q = None,
) -> ContractQuery:
    """The search filters of the query string."""
    return ContractQuery(
        contract_no=no,
        party=party,
        kind=kind,
        period=period,
        status=status,
        registered_from=registered_from,
        registered_to=registered_to,
    )


QueryDep = Annotated[ContractQuery, Depends(_query)]


@api.get("/contracts", response_model=list[ContractOut], summary="Search bilateral contracts")
def contracts_api(
    _role: PublicRole, conn: ConnDep, q: QueryDep, limit: Limit_q = 100
) -> list[ContractOut]:
    return [ContractOut.model_validate(r) for r in search(conn, q, limit)]


@api.get("/contracts/{no}", response_model=ContractDetailOut, summary="One contract")
def contract_api(_role: PublicRole, conn: ConnDep, no: NoPath) -> ContractDetailOut:
    detail = contract_detail(conn, no)
    if detail is None:
        raise HTTPException(404, f"no contract {no} is indexed")
    return ContractDetailOut.model_validate(detail)


def _archived(call: Any) -> Any:
    try:
        return call()
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except GridLedgerError as exc:
        raise HTTPException(409, str(exc)) from exc


@api.get(
    "/contracts/{no}/document.html",
    response_class=HTMLResponse,
    summary="The archived document (HTML)",
)
def document_html(_role: AuditorRole, conn: ConnDep, state: StateDep, no: NoPath) -> Response:
    doc = _archived(lambda: document(conn, reader(state.ctx), no))
    return HTMLResponse(doc.html)


@api.get(
    "/contracts/{no}/document.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF."}},
    summary="The archived document (PDF)",
)
def document_pdf(_role: AuditorRole, conn: ConnDep, state: StateDep, no: NoPath) -> Response:
    doc = _archived(lambda: document(conn, reader(state.ctx), no))
    headers = {"Content-Disposition": f'attachment; filename="contract-{no}.pdf"'}
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


@api.get("/contracts/{no}/bundle", summary="The offline verification bundle (JSON)")
def bundle_json(_role: AuditorRole, conn: ConnDep, state: StateDep, no: NoPath) -> Response:
    built = _archived(lambda: bundle(conn, reader(state.ctx), no))
    headers = {"Content-Disposition": f'attachment; filename="contract-{no}-bundle.json"'}
    return JSONResponse(built.model_dump(mode="json"), headers=headers)


@pages.get("/contracts", summary="Bilateral contracts: search the archive")
def contracts_page(page: PageDep, conn: ConnDep, q: QueryDep) -> HTMLResponse:
    rows = search(conn, q, 200)
    return page.render("contracts.html", title="Bilateral contracts", rows=rows, q=q)


@pages.get("/contracts/{no}", summary="One bilateral contract: schedule, execution, history")
def contract_page(page: PageDep, conn: ConnDep, no: NoPath) -> HTMLResponse:
    detail = contract_detail(conn, no)
    if detail is None:
        raise HTTPException(404, f"no contract {no} is indexed")
    return page.render("contract.html", title=f"Contract {no}", **detail)
