"""The intake's HTTP API (FastAPI).

``POST /orders`` {"order": {...}, "signature": "0x..."} -> 200 {"receipt": {...},
"signature": "0x...", "intake": "0x..."} once the order is in the fsync'd log; a refusal
is 4xx {"detail": "<ErrorName>(...)"} (400 bad signature, 404 unknown auction, 409 order
window shut, 422 lot or price). ``GET /orders/{seq}``: the logged order's state.
``GET /health``: the intake key, its contract and the log's counts by state.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError

from ledger.clients.intake import IntakeOrder
from node.intake.service import IntakeRefusedError, IntakeService


class OrderBody(BaseModel):
    """A signed order as a participant posts it."""

    order: IntakeOrder
    signature: str


def _bytes(text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise HTTPException(400, f"BadOrderSignature: not hex: {text[:20]!r}") from exc


def create_app(service: IntakeService) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await service.aclose()

    app = FastAPI(title="GridLedger order intake", lifespan=lifespan)

    @app.post("/orders", response_class=Response)
    async def post_order(request: Request) -> Response:
        # the body parsed by hand and the answer encoded once: FastAPI's model and
        # response handling cost more than the order's own checks at thousands a second
        try:
            body = OrderBody.model_validate_json(await request.body())
        except ValidationError as exc:
            raise HTTPException(422, f"malformed order: {exc.errors()[0]['msg']}") from exc
        try:
            signed = await service.submit(body.order, _bytes(body.signature))
        except IntakeRefusedError as exc:
            raise HTTPException(exc.status, exc.reason) from exc
        answer = {
            "receipt": signed.receipt.model_dump(),
            "signature": "0x" + signed.signature.hex(),
            "intake": signed.intake,
        }
        return Response(json.dumps(answer), media_type="application/json")

    @app.get("/orders/{seq}")
    def get_order(seq: int) -> dict[str, Any]:
        row = service.store.get(seq)
        if row is None:
            raise HTTPException(404, f"no order with sequence {seq}")
        return {
            "seq": row.seq,
            "order_hash": "0x" + row.order_hash.hex(),
            "order": row.order.model_dump(),
            "state": row.state,
            "order_id": row.order_id,
            "reason": None if row.reason is None else "0x" + row.reason.hex(),
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "intake": service.key.address,
            "contract": service.domain.contract,
            "orders": service.store.counts(),
        }

    return app
