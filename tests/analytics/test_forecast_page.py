"""The explorer's ``/analytics/forecast``: the forecast chart with its band (inline SVG), the
back-test's figures, a 404 for an unknown region."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.db import make_engine, upgrade
from ledger.settings import Settings
from tests.gateway.conftest import LiveServer


def _ready(client: httpx.Client, url: str) -> str:
    """The page once its models are trained (until then it says so, with status 200)."""
    for _ in range(600):
        page = client.get(url)
        assert page.status_code == 200, page.text
        if 'id="pending"' not in page.text:
            return page.text
        time.sleep(0.5)
    raise AssertionError("the forecast was not ready in 5 minutes")


def test_forecast_page(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/gw.db")
    upgrade(engine)
    settings = Settings(data_dir=tmp_path, gateway_api_keys_file=None)
    try:
        app = create_app(settings, engine=engine)
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
            html = _ready(client, "/analytics/forecast?region=tianjin")
            assert html.count("<svg") == 2
            assert "p10-p90 band" in html
            assert "actual" in html
            assert 'id="mape"' in html
            assert 'id="baseline-mape"' in html
            assert "<b>Tianjin</b>" in html
            assert "<script" not in html.split("<main>")[1]
            assert html.count("<tr><td>") >= 24 + 7  # 24 hours, 7 regions' back-test
            missing = client.get("/analytics/forecast?region=atlantis")
            assert missing.status_code == 404
            assert "unknown region" in missing.text
    finally:
        engine.dispose()
