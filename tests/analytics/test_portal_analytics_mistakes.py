"""Portal ``/analytics`` mistakes found walking it by hand: a month without readings is one
line (was a 500: numpy's IndexError), and what was pasted stays in the form to be corrected."""

from __future__ import annotations

import html
import re
from pathlib import Path

from ledger.analytics.population import sample_population
from ledger.retail.samples import sample_rates
from tests.analytics.test_portal_analytics import MONTH, _csv
from tests.portal.conftest import csrf_of
from tests.portal.test_retail import portal_of
from tests.retail.onchain_fixtures import Retail, market, retail

__all__ = ["market", "retail"]


def test_a_month_without_readings_is_one_line_and_the_form_keeps_its_input(
    retail: Retail, tmp_path: Path
) -> None:
    c = sample_population(2, MONTH, seed=5)[1]
    with portal_of(retail, retail.consumer.account, tmp_path) as client:
        form = {
            "csrf": csrf_of(client.get("/analytics").text),
            "month": str(MONTH + 1),  # the readings are of June
            "account_json": c.account.model_dump_json(),
            "package_json": c.package.model_dump_json(),
            "rates_json": sample_rates().model_dump_json(),
            "readings_csv": _csv(c.readings, tmp_path),
        }
        bad = client.post("/analytics/advice", data=form)
        assert bad.status_code == 422
        text = html.unescape(bad.text)
        error = re.search(r'id="advice-error">([^<]*)<', text)
        assert error is not None
        assert error.group(1) == f"no readings of {c.account.node}'s meters in month {MONTH + 1}"
        assert f'value="{MONTH + 1}"' in text
        assert form["account_json"] in text
