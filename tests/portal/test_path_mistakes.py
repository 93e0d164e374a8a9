"""A word where a URL path wants a number (``/auctions/abc``, ``/statements/abc.csv``) is the
portal's error page with one line, not FastAPI's JSON; the API under /api/v1 keeps JSON 422."""

from __future__ import annotations

import pytest

from tests.portal.conftest import Env
from tests.portal.test_api import ApiEnv, api  # noqa: F401
from tests.portal.test_auction import _error

NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/auctions/abc", "path.auction_id"),
        ("/auctions/abc/fills.csv", "path.auction_id"),
        ("/statements/abc.csv", "path.period"),
    ],
)
def test_a_word_for_an_id_in_a_portal_path_is_a_page(env: Env, path: str, where: str) -> None:
    env.login()
    r = env.client.get(path)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert _error(r.text) == f"Bad request: {where}: {NOT_AN_INTEGER}"


def test_the_api_still_answers_json_422_with_the_reason(api: ApiEnv) -> None:  # noqa: F811
    r = api.client.get("/statements/abc", headers={"X-API-Key": api.issue("read")})
    assert r.status_code == 422
    assert r.json() == {"detail": f"path.period: {NOT_AN_INTEGER}"}
