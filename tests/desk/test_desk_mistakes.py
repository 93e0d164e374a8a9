"""Mistakes a user makes with the desk, found walking it from an empty data directory: each
is one ``error:`` line or a 4xx with its reason, never a traceback or a 500."""

from __future__ import annotations

import re

import httpx
import pytest

from ledger.errors import ValidationError
from node.desk.auth import sign_request
from node.desk.kb import ANNOUNCEMENT_BODY_MAX, ARTICLE_BODY_MAX
from node.desk.service import Desk
from tests.desk.conftest import OPERATOR
from tests.desk.test_api import FILER, OPERATOR_KEY, client  # noqa: F401
from tests.desk.test_cli_desk import desk_cli, gl  # noqa: F401


def test_a_huge_complaint_number_and_a_bad_database_url_are_one_line(
    desk_cli: str,  # noqa: F811
) -> None:
    code, _out, err = gl("desk", "show", str(10**23), "-w", "node-5", "--db", desk_cli)
    assert code == 2
    assert err.startswith("error: Invalid value for 'complaint_id'")
    code, _out, err = gl("desk", "verify", "--db", "garbage://x")
    assert code == 1
    assert err.strip() == (
        "error: cannot open the desk database: Can't load plugin: sqlalchemy.dialects:garbage"
    )


def test_a_body_that_is_not_unicode_is_a_422_not_a_500(client: httpx.Client) -> None:  # noqa: F811
    raw = b'{"category": "billing", "title": "\\ud800", "body": "b"}'
    headers = sign_request(FILER, "POST", "/api/v1/complaints", raw)
    headers["Content-Type"] = "application/json"
    r = client.post("/api/v1/complaints", content=raw, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "loc": ["body", "title"],
            "msg": "Input should be a valid string, unable to parse raw data as a unicode string",
            "type": "string_unicode",
        }
    ]


def test_articles_and_announcements_have_a_size_limit(
    desk: Desk,
    client: httpx.Client,  # noqa: F811
) -> None:
    with pytest.raises(ValidationError, match="an article's body must fit in 100000 characters"):
        desk.kb.add_article(OPERATOR, "t", "b" * (ARTICLE_BODY_MAX + 1), [])
    with pytest.raises(ValidationError, match="an announcement's body must fit in 20000"):
        desk.kb.announce(OPERATOR, "t", "b" * (ANNOUNCEMENT_BODY_MAX + 1))
    r = client.post(
        "/api/v1/announcements", json={"title": "t", "body": "b" * 2_000_000}, headers=OPERATOR_KEY
    )
    assert (r.status_code, r.json()["detail"]) == (
        400,
        "an announcement's body must fit in 20000 characters",
    )


def test_show_prints_the_tracking_readably(desk_cli: str) -> None:  # noqa: F811
    db = ("--db", desk_cli)
    code, _out, err = gl("desk", "file", "billing", "Bill", "-w", "node-5", "--body", "b", *db)
    assert code == 0, err
    code, out, err = gl("desk", "show", "1", "-w", "node-5", *db)
    assert code == 0, err
    (change,) = [line for line in out.splitlines() if "change #1" in line]
    assert " file new by " in change
    assert "None" not in change
    assert "{" not in change
    assert re.search(r"due_at: \d{4}-\d\d-\d\d \d\d:\d\d$", change), change
