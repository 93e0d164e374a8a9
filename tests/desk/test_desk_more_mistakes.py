"""More mistakes found walking the desk: an assignee that is not an address, an unknown
category when listing, control characters in text. Each is refused with one reason."""

from __future__ import annotations

import httpx
import pytest

from ledger.errors import ValidationError
from node.desk.service import Desk
from tests.desk.conftest import OPERATOR
from tests.desk.test_api import FILER, OPERATOR_KEY, client, file, signed  # noqa: F401
from tests.desk.test_cli_desk import desk_cli, gl  # noqa: F401
from tests.desk.test_portal_desk import Portal, portal  # noqa: F401
from tests.portal.test_auction import _error


def test_the_api_refuses_an_assignee_that_is_not_an_address(client: httpx.Client) -> None:  # noqa: F811
    cid = file(client)
    path = f"/api/v1/complaints/{cid}/assign"
    r = client.post(path, json={"assignee": "zz"}, headers=OPERATOR_KEY)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "loc": ["body", "assignee"],
            "msg": "Value error, not an address: 'zz'",
            "type": "value_error",
        }
    ]
    lower = "0x000000000000000000000000000000000000dead"
    r = client.post(path, json={"assignee": lower}, headers=OPERATOR_KEY)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "0x000000000000000000000000000000000000dEaD"


def test_listing_an_unknown_category_is_refused(desk: Desk, client: httpx.Client) -> None:  # noqa: F811
    with pytest.raises(ValidationError, match=r"unknown category 'bogus': use one of billing, "):
        desk.store.complaints(OPERATOR, category="bogus")
    r = client.get("/api/v1/complaints?category=bogus", headers=OPERATOR_KEY)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("unknown category 'bogus': use one of billing, ")
    r = signed(client, FILER, "GET", "/api/v1/complaints?category=billing")
    assert r.status_code == 200


def test_desk_list_with_an_unknown_category_is_one_line(desk_cli: str) -> None:  # noqa: F811
    code, out, err = gl("desk", "list", "-w", "operator", "--category", "bogus", "--db", desk_cli)
    assert code == 1
    assert out == ""
    assert err.startswith("error: unknown category 'bogus': use one of billing, ")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("field", "value"), [("title", "a\x00b"), ("body", "line\x1b[31m"), ("category", "bill\x00")]
)
def test_control_characters_in_a_complaint_are_refused(
    client: httpx.Client,  # noqa: F811
    field: str,
    value: str,
) -> None:
    body = {"category": "billing", "title": "t", "body": "b", field: value}
    r = signed(client, FILER, "POST", "/api/v1/complaints", body)
    assert r.status_code == 422
    ((error,),) = [r.json()["detail"]]
    assert error["loc"] == ["body", field]
    assert error["msg"].startswith("Value error, control character U+00")
    assert error["msg"].endswith(" is not allowed")


def test_tabs_and_newlines_stay_allowed_and_other_texts_are_checked(client: httpx.Client) -> None:  # noqa: F811
    body = {"category": "billing", "title": "t\tx", "body": "one\r\ntwo\n"}
    r = signed(client, FILER, "POST", "/api/v1/complaints", body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = signed(
        client, FILER, "POST", f"/api/v1/complaints/{cid}/move", {"to": "closed", "note": "\x00"}
    )
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "note"])
    links = {"bill": "B\x07"}
    r = signed(client, FILER, "POST", "/api/v1/complaints", {**body, "links": links})
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "links", "bill"])
    r = client.post(
        "/api/v1/kb", json={"title": "t", "body": "b", "tags": ["a\x00"]}, headers=OPERATOR_KEY
    )
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["body", "tags", 0])


def test_a_portal_desk_path_with_a_word_for_an_id_is_a_page(portal: Portal) -> None:  # noqa: F811
    for r in (portal.client.get("/desk/abc"), portal.post("/desk/abc/rate", {"rating": "3"})):
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("text/html")
        assert _error(r.text) == (
            "Bad request: path.complaint_id: Input should be a valid integer, "
            "unable to parse string as an integer"
        )
