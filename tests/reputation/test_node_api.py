"""The participant API (rate, view, optimiser fractions), the agency export and the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.errors import ContractRevertError, ValidationError
from ledger.settings import Settings
from node.cli import app as node_app
from node.reputation.api import (
    CSV_FIELDS,
    ReputationDesk,
    export_csv,
    export_for_agency,
    reputation_fraction,
    reputation_fractions,
)
from node.reputation.credit_cli import app as credit_app
from tests.reputation.conftest import ENERGY_WH, PRICE, Rep


def test_desk_rates_and_views(rep: Rep) -> None:
    m = rep.market
    tid = rep.trade(m.seller, m.buyer)
    desk = ReputationDesk(rep.ctx, m.buyer.account)
    with pytest.raises(ValidationError):
        desk.rate(tid, 6)
    desk.rate(tid, 5, "ON_TIME")
    view = desk.view(m.seller.address)
    assert (view.reputation, view.rating_count, view.trade_count) == (424, 1, 1)
    assert (view.registry_level, view.agency_level, view.rewarded) == ("C", None, False)
    assert view.required_bond_fen == 100_000_000
    assert desk.view().reputation == 363  # the buyer: one counted trade, no rating
    assert reputation_fraction(rep.ctx, m.seller.address) == 0.424
    fractions = reputation_fractions(rep.ctx, [m.seller.address, m.buyer2.address])
    assert fractions == {m.seller.address: 0.424, m.buyer2.address: 0.35}


def test_export_for_the_agency(rep: Rep) -> None:
    m = rep.market
    t1 = rep.trade(m.seller, m.buyer)
    t2 = rep.trade(m.seller, m.buyer2, settle=False)
    ReputationDesk(rep.ctx, m.buyer.account).rate(t1, 2, "SHORT_DELIVERY")
    ReputationDesk(rep.ctx, m.seller.account).rate(t1, 5)
    data = export_for_agency(rep.ctx, [m.seller.address, m.buyer.address])
    seller, buyer = data.nodes
    assert (seller.trades, seller.settled, seller.open, seller.failed) == (2, 1, 1, 0)
    assert seller.settled_energy_wh == ENERGY_WH
    assert seller.settled_value_fen == ENERGY_WH * PRICE // 1_000_000
    assert (seller.ratings_received, seller.mean_rating_received) == (1, 2.0)
    assert (seller.ratings_given, seller.mean_rating_given) == (1, 5.0)
    first = seller.history[0]
    assert (first.trade_id, first.role, first.counterparty, first.status) == (
        t1,
        "seller",
        m.buyer.address,
        "settled",
    )
    assert (first.rating_received, first.reason_received, first.rating_given) == (
        2,
        "SHORT_DELIVERY",
        5,
    )
    assert seller.history[1].trade_id == t2
    assert seller.history[1].rating_received is None
    assert buyer.history[0].role == "buyer"
    assert buyer.reputation == rep.reader.reputation_of(m.buyer.address)
    rows = list(csv.DictReader(io.StringIO(export_csv(data))))
    assert list(rows[0]) == CSV_FIELDS
    assert rows[0]["node"] == m.seller.address
    assert rows[0]["mean_rating_received"] == "2.0"
    everyone = export_for_agency(rep.ctx)
    assert {n.node for n in everyone.nodes} >= {m.seller.address, m.buyer2.address}


def test_cli(rep: Rep, session_settings: Settings, tmp_path: Path) -> None:
    m = rep.market
    tid = rep.trade(m.seller, m.buyer)
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()

    def run(app: object, *args: str) -> str:
        result = runner.invoke(app, list(args), env=env)  # type: ignore[arg-type]
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    out = run(node_app, "rate", str(tid), "5", "-w", "node-3", "--reason", "ON_TIME")
    assert "reputation is now 424" in out
    view = json.loads(run(node_app, "reputation", m.seller.address, "--json"))
    assert (view["reputation"], view["registry_level"]) == (424, "C")
    assert "reputation" in run(node_app, "reputation", "-w", "node-1")

    run(credit_app, "post-level", m.seller.address, "AA")
    view = json.loads(run(node_app, "reputation", m.seller.address, "--json"))
    assert (view["agency_level"], view["registry_level"]) == ("AA", "AA")
    out_file = tmp_path / "export.csv"
    run(credit_app, "export", "--format", "csv", "--out", str(out_file), "--node", m.seller.address)
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert rows[0]["credit_level"] == "AA"
    exported = json.loads(run(credit_app, "export", "--node", m.seller.address))
    assert exported["nodes"][0]["history"][0]["rating_received"] == 5
    result = runner.invoke(credit_app, ["enforce", m.seller.address], env=env)
    assert isinstance(result.exception, ContractRevertError)
    assert result.exception.name == "NoTopUpDue"
