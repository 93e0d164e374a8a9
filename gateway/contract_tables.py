"""The gateway's tables of bilateral contracts (migration 0008).

``gw_contract_templates`` and ``gw_contracts`` are projected from BilateralContracts'
events (rebuilt on reorg); ``gw_contract_documents`` is the archive of contract documents
(template and fields) parties upload, each checked against the contract's on-chain document
hash (``POST /api/v1/contracts/{no}/document``); it is not chain-derived, so reorgs and
``reproject`` leave it alone.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db import Base
from gateway.tables import Addr, Hash


class ContractTemplate(Base):
    """A template the OPERATOR published."""

    __tablename__ = "gw_contract_templates"
    template_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    template_hash: Mapped[str | None] = mapped_column(Hash)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class Contract(Base):
    """A registered bilateral contract and its execution so far."""

    __tablename__ = "gw_contracts"
    contract_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    template_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(64), index=True)
    seller: Mapped[str | None] = mapped_column(Addr, index=True)
    buyer: Mapped[str | None] = mapped_column(Addr, index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    document_hash: Mapped[str | None] = mapped_column(Hash)
    terms_digest: Mapped[str | None] = mapped_column(Hash)
    first_period: Mapped[int | None] = mapped_column(BigInteger)
    last_period: Mapped[int | None] = mapped_column(BigInteger)
    price_fen_per_mwh: Mapped[int | None] = mapped_column(BigInteger)
    scheduled_wh: Mapped[int | None] = mapped_column(BigInteger)
    traded_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    trade_count: Mapped[int] = mapped_column(Integer, default=0)
    amendments: Mapped[int] = mapped_column(Integer, default=0)
    anomalies: Mapped[int] = mapped_column(Integer, default=0)
    ended_time: Mapped[int | None] = mapped_column(BigInteger)
    created_block: Mapped[int] = mapped_column(BigInteger)
    created_time: Mapped[int] = mapped_column(BigInteger, index=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)


class ContractDocument(Base):
    """An archived contract document: its template and fields (re-rendered on download)."""

    __tablename__ = "gw_contract_documents"
    contract_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    template_key: Mapped[str] = mapped_column(String(64))
    fields: Mapped[str] = mapped_column(Text)
    document_hash: Mapped[str] = mapped_column(Hash)
    archived_time: Mapped[int] = mapped_column(BigInteger)
