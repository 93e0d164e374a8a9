"""The full-text index of the knowledge base, in the database's own FTS.

SQLite: an external-content FTS5 table ``desk_articles_fts`` (Porter stemming) kept by
triggers, ranked by bm25. PostgreSQL: a GIN index on ``to_tsvector('english', ...)``,
queried with ``plainto_tsquery`` and ranked by ``ts_rank``.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS desk_articles_fts USING fts5(title, body, tags, "
    "content='desk_articles', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS desk_articles_ai AFTER INSERT ON desk_articles BEGIN "
    "INSERT INTO desk_articles_fts(rowid, title, body, tags) "
    "VALUES (new.id, new.title, new.body, new.tags); END",
    "CREATE TRIGGER IF NOT EXISTS desk_articles_ad AFTER DELETE ON desk_articles BEGIN "
    "INSERT INTO desk_articles_fts(desk_articles_fts, rowid, title, body, tags) "
    "VALUES ('delete', old.id, old.title, old.body, old.tags); END",
    "CREATE TRIGGER IF NOT EXISTS desk_articles_au AFTER UPDATE ON desk_articles BEGIN "
    "INSERT INTO desk_articles_fts(desk_articles_fts, rowid, title, body, tags) "
    "VALUES ('delete', old.id, old.title, old.body, old.tags); "
    "INSERT INTO desk_articles_fts(rowid, title, body, tags) "
    "VALUES (new.id, new.title, new.body, new.tags); END",
)
_PG_DOC = "to_tsvector('english', title || ' ' || body || ' ' || tags)"
_PG_FTS = f"CREATE INDEX IF NOT EXISTS ix_desk_articles_fts ON desk_articles USING GIN ({_PG_DOC})"
SQLITE_SEARCH = (
    "SELECT rowid FROM desk_articles_fts WHERE desk_articles_fts MATCH :q "
    "ORDER BY bm25(desk_articles_fts) LIMIT :n"
)
PG_SEARCH = (
    "SELECT id FROM desk_articles WHERE to_tsvector('english', title || ' ' || body || ' ' "
    "|| tags) @@ plainto_tsquery('english', :q) ORDER BY ts_rank(to_tsvector('english', "
    "title || ' ' || body || ' ' || tags), plainto_tsquery('english', :q)) DESC, id LIMIT :n"
)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def install_fts(engine: Engine) -> None:
    """Create the full-text index of the articles (idempotent)."""
    with engine.begin() as conn:
        for statement in _SQLITE_FTS if is_sqlite(engine) else (_PG_FTS,):
            conn.execute(text(statement))


def fts5_query(query: str) -> str:
    """``query``'s words as an FTS5 query: each quoted (no operator syntax), all required."""
    words = re.findall(r"\w+", query)
    return " ".join(f'"{w}"' for w in words)
