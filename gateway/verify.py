"""Re-checking the index against the chain: block hashes and every event, field by field."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from gateway.indexer import Indexer
from gateway.tables import Block, Event, table_of

E = table_of(Event)
B = table_of(Block)
SAMPLE = 20


class VerifyReport(BaseModel):
    """What ``gridledger gateway verify`` found."""

    ok: bool
    checkpoint: int | None = Field(description="Last indexed block.")
    from_block: int
    to_block: int
    chain_events: int = Field(description="Suite events the chain has in the range.")
    indexed_events: int = Field(description="Events the index has in the range.")
    missing: list[str] = Field(description="tx_hash:log_index on chain but not indexed (sample).")
    unexpected: list[str] = Field(description="Indexed but not on chain (sample).")
    mismatched: list[str] = Field(description="Indexed with other content than on chain.")
    block_hash_mismatches: list[int] = Field(description="Stored blocks not on the chain.")


def verify(
    indexer: Indexer, from_block: int | None = None, to_block: int | None = None
) -> VerifyReport:
    """Compare the index with the chain over ``from_block..to_block`` (default: all)."""
    with indexer.engine.connect() as conn:
        cp = indexer.checkpoint(conn)
    last = cp[0] if cp else indexer.start_block - 1
    first = max(indexer.start_block, from_block if from_block is not None else 0)
    end = min(last, to_block) if to_block is not None else last
    chain: dict[str, tuple[str, str, str]] = {}
    block = first
    while block <= end:
        chunk_end = min(block + indexer.chunk_blocks - 1, end)
        events, _ = indexer.fetch(block, chunk_end)
        for ev in events:
            chain[f"{ev.tx_hash}:{ev.log_index}"] = (ev.block_hash, ev.event, ev.args_json)
        block = chunk_end + 1
    with indexer.engine.connect() as conn:
        rows = conn.execute(
            select(E.c.tx_hash, E.c.log_index, E.c.block_hash, E.c.event, E.c.args).where(
                E.c.block_number.between(first, end)
            )
        ).all()
        stored_blocks = conn.execute(
            select(B.c.number, B.c.hash).where(B.c.number.between(first, end))
        ).all()
    indexed = {f"{t}:{i}": (h, n, a) for t, i, h, n, a in rows}
    missing = sorted(set(chain) - set(indexed))
    unexpected = sorted(set(indexed) - set(chain))
    mismatched = sorted(k for k in set(chain) & set(indexed) if chain[k] != indexed[k])
    bad_blocks: list[int] = []
    numbers = [int(n) for n, _ in stored_blocks]
    for start in range(0, len(numbers), 500):
        part = numbers[start : start + 500]
        headers = indexer.headers(part)
        bad_blocks.extend(n for n, h in stored_blocks if n in part and headers.get(n) != h)
    return VerifyReport(
        ok=not (missing or unexpected or mismatched or bad_blocks),
        checkpoint=cp[0] if cp else None,
        from_block=first,
        to_block=end,
        chain_events=len(chain),
        indexed_events=len(indexed),
        missing=missing[:SAMPLE],
        unexpected=unexpected[:SAMPLE],
        mismatched=mismatched[:SAMPLE],
        block_hash_mismatches=sorted(set(bad_blocks))[:SAMPLE],
    )
