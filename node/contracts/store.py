"""The participant's store of signed contract messages (SQLite in the node's data dir).

Every negotiation step, co-signature, amendment and termination a participant sends or
receives is kept with its signature, so any step is attributable later (``verify``
recomputes the signer from the stored payload). The store is the participant service's
own (``<data_dir>/contracts/<address>.db`` by default, any SQLAlchemy URL otherwise), not the
gateway's: each party keeps its own copy.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.bilateral.typed import (
    Amendment,
    ContractTerms,
    Domain,
    Message,
    NegotiationStep,
    Termination,
    check_signed_by,
    digest,
)
from ledger.db import engine_for_url, session_factory
from ledger.errors import NotFoundError

_MODELS: dict[str, type[BaseModel]] = {
    "NegotiationStep": NegotiationStep,
    "ContractTerms": ContractTerms,
    "Amendment": Amendment,
    "Termination": Termination,
}


class _Base(DeclarativeBase):
    pass


class MessageRow(_Base):
    """One signed message."""

    __tablename__ = "contract_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    negotiation_id: Mapped[str] = mapped_column(String(66), index=True)
    message_type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    extra: Mapped[str] = mapped_column(Text, default="{}")
    signer: Mapped[str] = mapped_column(String(42), index=True)
    signature: Mapped[str] = mapped_column(String(140))
    digest: Mapped[str] = mapped_column(String(66))
    chain_id: Mapped[int] = mapped_column(Integer)
    verifying_contract: Mapped[str] = mapped_column(String(42))
    stored_at: Mapped[int] = mapped_column(Integer)


class StoredMessage(BaseModel):
    """A stored signed message with what came with it (``extra``: template, fields)."""

    model_config = ConfigDict(frozen=True)

    id: int
    negotiation_id: str
    message: Message
    extra: dict[str, Any]
    signer: str
    signature: str
    digest: str
    domain: Domain
    stored_at: int


def default_url(data_dir: Path, address: str) -> str:
    """The participant's own store file (one per node address)."""
    return f"sqlite:///{data_dir / 'contracts' / f'{address.lower()}.db'}"


class MessageStore:
    """Signed messages by negotiation (a contract's messages use its negotiation id)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = engine_for_url(url)
        _Base.metadata.create_all(self.engine)
        self._sessions = session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def add(
        self,
        negotiation_id: str,
        domain: Domain,
        message: Message,
        signer: str,
        signature: str,
        extra: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Store ``message`` after checking ``signer`` signed it (SignatureError if not)."""
        check_signed_by(domain, message, signature, signer)
        row = MessageRow(
            negotiation_id=negotiation_id,
            message_type=type(message).__name__,
            payload=message.model_dump_json(),
            extra=json.dumps(extra or {}, sort_keys=True),
            signer=signer,
            signature=signature,
            digest=digest(domain, message),
            chain_id=domain.chain_id,
            verifying_contract=domain.verifying_contract,
            stored_at=int(time.time()),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _stored(row)

    def messages(self, negotiation_id: str) -> list[StoredMessage]:
        with self._sessions() as session:
            rows = session.scalars(
                select(MessageRow)
                .where(MessageRow.negotiation_id == negotiation_id)
                .order_by(MessageRow.id)
            ).all()
            return [_stored(r) for r in rows]

    def negotiation_ids(self) -> list[str]:
        with self._sessions() as session:
            ids = session.scalars(select(MessageRow.negotiation_id).order_by(MessageRow.id))
            return list(dict.fromkeys(ids))

    def steps(self, negotiation_id: str) -> list[StoredMessage]:
        """The negotiation steps (proposal, counter, accept, reject), in order."""
        found = [m for m in self.messages(negotiation_id) if isinstance(m.message, NegotiationStep)]
        if not found:
            raise NotFoundError(f"no negotiation {negotiation_id}")
        return found

    def verify(self, negotiation_id: str) -> int:
        """Re-check every stored signature; returns how many (SignatureError on the first bad)."""
        rows = self.messages(negotiation_id)
        for m in rows:
            check_signed_by(m.domain, m.message, m.signature, m.signer)
        return len(rows)


def _stored(row: MessageRow) -> StoredMessage:
    model = _MODELS[row.message_type].model_validate_json(row.payload)
    return StoredMessage(
        id=row.id,
        negotiation_id=row.negotiation_id,
        message=model,
        extra=json.loads(row.extra),
        signer=row.signer,
        signature=row.signature,
        digest=row.digest,
        domain=Domain(chain_id=row.chain_id, verifying_contract=row.verifying_contract),
        stored_at=row.stored_at,
    )
