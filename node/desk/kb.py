"""The knowledge base (articles with the database's own full-text search) and the
announcements of the operator and the regulator.

SQLite: an external-content FTS5 table ``desk_articles_fts`` (Porter stemming) kept by
triggers, ranked by bm25. PostgreSQL: a GIN index on ``to_tsvector('english', ...)``,
queried with ``plainto_tsquery`` and ranked by ``ts_rank``.
"""

from __future__ import annotations

import time

from pydantic import BaseModel
from sqlalchemy import select, text

from ledger.errors import ValidationError
from node.desk.fts import PG_SEARCH, SQLITE_SEARCH, fts5_query, is_sqlite
from node.desk.models import Announcement, Article
from node.desk.states import Actor, DeskRole, require_role
from node.desk.store import DeskStore


class ArticleOut(BaseModel):
    id: int
    title: str
    body: str
    tags: list[str]
    author: str
    created_at: int


class AnnouncementOut(BaseModel):
    id: int
    title: str
    body: str
    author: str
    author_role: str
    created_at: int


def _tags(tags: list[str]) -> str:
    cleaned = " ".join(sorted({t.strip().lower() for t in tags if t.strip()}))
    if len(cleaned) > 400:
        raise ValidationError("an article's tags must fit in 400 characters")
    return cleaned


def _article(a: Article) -> ArticleOut:
    return ArticleOut(
        id=a.id,
        title=a.title,
        body=a.body,
        tags=a.tags.split(),
        author=a.author,
        created_at=a.created_at,
    )


#: The longest article and announcement bodies (characters) the desk stores.
ARTICLE_BODY_MAX = 100_000
ANNOUNCEMENT_BODY_MAX = 20_000


def _fits(body: str, what: str, limit: int) -> None:
    if len(body.strip()) > limit:
        raise ValidationError(f"{what} must fit in {limit} characters")


class KnowledgeBase:
    """Articles and announcements, in the desk's database."""

    def __init__(self, store: DeskStore) -> None:
        self.store = store

    def add_article(self, actor: Actor, title: str, body: str, tags: list[str]) -> ArticleOut:
        """Staff add an article."""
        require_role(actor, DeskRole.operator, DeskRole.regulator)
        if not title.strip() or not body.strip():
            raise ValidationError("an article needs a title and a body")
        _fits(body, "an article's body", ARTICLE_BODY_MAX)
        a = Article(
            title=title.strip()[:200],
            body=body.strip(),
            tags=_tags(tags),
            author=actor.address,
            created_at=int(time.time()),
        )
        with self.store.writing() as s:
            s.add(a)
            s.flush()
            return _article(a)

    def search(self, query: str, limit: int = 20) -> list[ArticleOut]:
        """Articles matching every word of ``query``, best first (empty for no words)."""
        engine = self.store.engine
        if is_sqlite(engine):
            q, sql = fts5_query(query), SQLITE_SEARCH
        else:
            q, sql = query.strip(), PG_SEARCH
        if not q:
            return []
        with self.store.sessions() as s:
            ids = [int(i) for i in s.execute(text(sql), {"q": q, "n": limit}).scalars()]
            rows = {a.id: a for a in s.scalars(select(Article).where(Article.id.in_(ids)))}
        return [_article(rows[i]) for i in ids if i in rows]

    def announce(self, actor: Actor, title: str, body: str) -> AnnouncementOut:
        """The operator or the regulator announces."""
        require_role(actor, DeskRole.operator, DeskRole.regulator)
        if not title.strip() or not body.strip():
            raise ValidationError("an announcement needs a title and a body")
        _fits(body, "an announcement's body", ANNOUNCEMENT_BODY_MAX)
        a = Announcement(
            title=title.strip()[:200],
            body=body.strip(),
            author=actor.address,
            author_role=actor.role.value,
            created_at=int(time.time()),
        )
        with self.store.writing() as s:
            s.add(a)
            s.flush()
            return _announcement(a)

    def announcements(self) -> list[AnnouncementOut]:
        with self.store.sessions() as s:
            rows = s.scalars(select(Announcement).order_by(Announcement.id.desc()))
            return [_announcement(a) for a in rows]


def _announcement(a: Announcement) -> AnnouncementOut:
    return AnnouncementOut(
        id=a.id,
        title=a.title,
        body=a.body,
        author=a.author,
        author_role=a.author_role,
        created_at=a.created_at,
    )
