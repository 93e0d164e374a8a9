"""Statements and bills match the chain to the fen; the CLI renders table, CSV and HTML."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from ledger.errors import ContractRevertError
from ledger.settings import Settings
from node.cli import app
from node.settlement.statements import StatementBuilder, statement_csv, statement_html
from tests.settlement.conftest import Flow

E = 10_000_000
PRICE = 350_000


def _scenario(flow: Flow) -> int:
    """Curtailed trade with substitution, an FTR and a ramp-up deviation for the buyer."""
    storage, buyer = flow.party("storage"), flow.party("buyer")
    storage.engine.declare_spare_capacity(flow.period, 5_000_000, 300_000)
    ftr = flow.operator.offered_ftr_id(
        flow.operator.sell_ftr(0, 3, flow.period, 3_000_000, 50_000, 100_000)
    )
    buyer.actor.token.approve(flow.engine.address, 100_000)
    buyer.engine.buy_ftr(ftr)
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, 6_000_000, 4_000_000, 1)
    flow.dispatcher.nominate_substitute(tid, storage.address)
    flow.dispatcher.set_deviation_rates(flow.period, 40_000, 60_000)
    flow.meter({"seller": (0, 6_000_000), "buyer": (10_300_000, 0), "storage": (0, 4_000_000)})
    flow.open_settlement()
    return tid


def test_statement_matches_the_chain(flow: Flow) -> None:
    tid = _scenario(flow)
    buyer = flow.party("buyer")
    wallet_before = flow.token.balance_of(buyer.address)
    flow.engine.settle(tid)
    buyer.actor.token.approve(flow.engine.address, 10**9)
    flow.engine.settle_deviation(buyer.address, flow.period)
    flow.engine.settle_deviation(flow.party("seller").address, flow.period)
    builder = StatementBuilder(flow.ctx, flow.ctx.account("node-92"))
    s = builder.build(buyer.address, flow.period)
    items = [(x.item, x.trade_id, x.energy_wh, x.rate_fen_per_mwh, x.amount_fen) for x in s.lines]
    assert items == [
        ("energy purchased", tid, 6_000_000, PRICE, -2_100_000),
        ("transmission fee", tid, 6_000_000, 6_000, -36_000),
        ("substitute energy", tid, 4_000_000, 300_000, -1_200_000),
        ("substitute transmission fee", tid, 4_000_000, 3_000, -12_000),
        ("FTR compensation", tid, 3_000_000, 50_000, 100_000),
        ("FTR purchase", None, 3_000_000, 50_000, -100_000),
        # metered 10.3 MWh vs contracted 10 MWh (6 executed + 4 substituted): +0.3 x 60,000
        ("deviation", None, 300_000, 60_000, -18_000),
    ]
    assert s.net_fen == -2_100_000 - 36_000 - 1_200_000 - 12_000 + 100_000 - 100_000 - 18_000
    assert (s.prepaid_fen, s.refunded_fen) == (3_560_000, 212_000)
    assert (s.contracted_import_wh, s.metered_import_wh, s.executed_import_wh) == (
        E,
        10_300_000,
        6_000_000,
    )
    # the chain agrees: the refund reached the wallet, the deviation charge was taken from
    # the FTR compensation held as credit; prepayment - refund = the escrow charges
    assert flow.token.balance_of(buyer.address) == wallet_before + 212_000
    assert s.credit_held_fen == flow.engine.claimable_of(buyer.address) == 100_000 - 18_000
    assert s.prepaid_fen - s.refunded_fen == -(
        s.total("energy purchased")
        + s.total("transmission fee")
        + s.total("substitute energy")
        + s.total("substitute transmission fee")
    )
    seller = builder.build(flow.party("seller").address, flow.period)
    assert [(x.item, x.amount_fen) for x in seller.lines] == [
        ("energy sold", 2_100_000),
        ("deviation", 0),
    ]
    assert seller.net_fen == flow.engine.claimable_of(flow.party("seller").address)
    storage = builder.build(flow.party("storage").address, flow.period)
    assert [(x.item, x.amount_fen) for x in storage.lines] == [("substitute supply", 1_200_000)]
    assert not storage.deviation_settled

    rows = list(csv.DictReader(io.StringIO(statement_csv(s))))
    assert [r["amount_fen"] for r in rows] == [str(x.amount_fen) for x in s.lines] + [
        str(s.net_fen)
    ]
    assert rows[-1]["item"] == "net"
    assert rows[-1]["amount_cny"] == "-33660.00"
    html = statement_html(s, node_name="node-3")
    assert '<td class="num" id="net">-33660.00</td>' in html
    assert "node-3" in html
    assert buyer.address in html
    assert "Due date" in html
    assert "-21000.00" in html  # energy purchased, CNY


def test_missing_meter_statement_is_flagged(flow: Flow) -> None:
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    flow.dispatch(tid, E)
    flow.meter({"seller": (0, E), "buyer": (E, 0)}, submit=["seller"])
    flow.open_settlement()
    flow.engine.settle_batch([tid])
    s = StatementBuilder(flow.ctx, flow.ctx.account("node-92")).build(
        flow.party("buyer").address, flow.period
    )
    assert s.meter_missing_flagged
    assert not s.metered
    assert s.unsettled_trades == 1
    assert s.lines == []
    assert s.net_fen == 0
    assert "Meter data for this node and period is missing" in statement_html(s)


def test_cli_settle_and_statement(flow: Flow, session_settings: Settings, tmp_path: Path) -> None:
    tid = _scenario(flow)
    env = {
        "GRIDLEDGER_DATA_DIR": str(session_settings.data_dir),
        "GRIDLEDGER_RPC_URL": session_settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    buyer = flow.party("buyer").address
    out = run("settle", "--period", str(flow.period), "-w", "node-93", "--deviation",
              flow.party("seller").address)  # fmt: skip
    assert "1 trade(s) settled" in out
    assert flow.engine.node_period(flow.party("seller").address, flow.period).deviation_settled
    csv_file, html_file = tmp_path / "s.csv", tmp_path / "bill.html"
    out = run("statement", buyer, "--period", str(flow.period), "--csv", str(csv_file),
              "--html", str(html_file))  # fmt: skip
    assert "energy purchased" in out
    assert "-21000.00" in out
    assert csv_file.read_text().splitlines()[0].startswith("node,period,item")
    assert "-21000.00" in html_file.read_text()
    result = runner.invoke(app, ["settle", str(tid), "-w", "node-93"], env=env)
    assert isinstance(result.exception, ContractRevertError)
    assert result.exception.name == "TradeAlreadySettled"


def test_prepayment_shows_as_soon_as_the_trade_forms(flow: Flow) -> None:
    """Issue 17: the statement's "prepaid" is the trade's escrow before settlement too."""
    flow.open_taking()
    tid = flow.trade("seller", "buyer", E, PRICE)
    escrow_fen = flow.market.settler.trade(tid).escrow_fen
    assert escrow_fen > 0
    s = StatementBuilder(flow.ctx, flow.ctx.account("node-92")).build(
        flow.party("buyer").address, flow.period
    )
    assert s.prepaid_fen == escrow_fen
    assert [(t.trade_id, t.status, t.prepaid_fen) for t in s.trades] == [
        (tid, "formed", escrow_fen)
    ]
    assert s.unsettled_trades == 1
