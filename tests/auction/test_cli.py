"""``gridledger auction``: a whole auction from the command line, and a refusal as one line."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from ledger.cli import run
from ledger.clients.registry import NodeRegistryClient
from tests.auction.conftest import Book
from tests.trading.conftest import advance_time, block_time


@pytest.fixture
def cli(book: Book) -> Iterator[Book]:
    settings = book.market.ctx.settings
    env = {
        "GRIDLEDGER_DATA_DIR": str(settings.data_dir),
        "GRIDLEDGER_RPC_URL": settings.rpc_url,
        "GRIDLEDGER_DEMO_KEYS": "1",
        "COLUMNS": "300",
    }
    saved = {k: v for k, v in os.environ.items() if k.startswith("GRIDLEDGER_")}
    os.environ.update(env)
    yield book
    for key in env:
        os.environ.pop(key, None)
    os.environ.update(saved)


def gl(*args: str) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation(input="") as streams:
        code = run(["auction", *args])
        out = streams[2].getvalue().decode()
    return code, out


def test_auction_from_the_command_line(cli: Book) -> None:
    ctx = cli.market.ctx
    gate = block_time(ctx) + 600
    code, out = gl(
        "open", "--wallet", "operator", "--period", str(cli.market.period.id),
        "--gate", str(gate), "--min-lot-mwh", "0.01", "--rule", "pair-average",
    )  # fmt: skip
    assert code == 0, out
    assert "opened auction 1" in out
    code, out = gl("order", "1", "--wallet", "node-3", "--side", "bid",
                   "--energy-mwh", "0.2", "--price", "4000")  # fmt: skip
    assert (code, out.strip()) == (0, "placed order 1 in auction 1")
    code, out = gl("order", "1", "--wallet", "node-1", "--side", "offer",
                   "--energy-mwh", "0.15", "--price", "3000")  # fmt: skip
    assert code == 0, out
    code, out = gl("order", "1", "--wallet", "node-1", "--side", "offer",
                   "--energy-mwh", "0.001", "--price", "3000")  # fmt: skip
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 1
    assert lines == ["error: BelowMinimumLot(auctionId=1, energyWh=1000, minLotWh=10000)"]
    code, out = gl("amend", "1", "--wallet", "node-1", "--energy-mwh", "0.2", "--price", "400")
    assert code == 1
    assert out.strip().startswith("error: NotOrderOwner(orderId=1")
    code, out = gl("book", "1")
    assert code == 0
    assert "bid" in out
    assert "offer" in out
    code, out = gl("clear", "1", "--wallet", "node-91")
    assert code == 1
    assert out.strip().startswith("error: GateNotClosed(auctionId=1")
    advance_time(ctx, 600)
    code, out = gl("clear", "1", "--wallet", "node-91", "--steps", "2")
    assert code == 0, out
    assert "1 trade(s), 0.15 MWh" in out
    code, out = gl("result", "1", "--csv")
    assert code == 0, out
    header, row = out.strip().splitlines()
    assert header.startswith("pair_index,trade_id,bid_id,offer_id,buyer,seller,energy_wh")
    assert row.endswith(",150000,350000,52500")


def one_line_error(args: tuple[str, ...]) -> str:
    code, out = gl(*args)
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 1, out
    assert len(lines) == 1, out
    assert lines[0].startswith("error: "), out
    return lines[0]


def test_every_bad_order_is_one_cli_line(cli: Book) -> None:
    m = cli.market
    aid = cli.open()
    m.ctx.client(NodeRegistryClient, m.ctx.account("node-90")).block_trading(
        m.buyer2.address, b"LATE".ljust(32, b"\x00")
    )
    order = ("order", str(aid), "--energy-mwh")
    cases = {
        (*order, "0.1", "--price", "6001", "--wallet", "node-3", "--side", "bid"):
            "PriceOutsideLimits(",
        (*order, "0.1", "--price", "999", "--wallet", "node-3", "--side", "bid"):
            "PriceOutsideLimits(",
        (*order, "0.1", "--price", "3000", "--wallet", "node-3", "--side", "offer"):
            "WrongSideForOrder(",
        (*order, "1000000", "--price", "3000", "--wallet", "node-3", "--side", "bid"):
            "InsufficientBalance(",
        (*order, "1000000", "--price", "3000", "--wallet", "node-1", "--side", "offer"):
            "InsufficientBond(",
        (*order, "0.1", "--price", "3000", "--wallet", "node-4", "--side", "bid"):
            "TradingBlocked(",
        ("cancel", "1", "--wallet", "node-1"): "UnknownOrder(orderId=1)",
    }  # fmt: skip
    for args, expected in cases.items():
        assert one_line_error(args).startswith(f"error: {expected}"), args
    gl(*order, "0.1", "--price", "3000", "--wallet", "node-3", "--side", "bid")
    assert one_line_error(("cancel", "1", "--wallet", "node-1")).startswith(
        "error: NotOrderOwner(orderId=1"
    )
    cli.close_gate(aid)
    late = (*order, "0.1", "--price", "3000", "--wallet", "node-1", "--side", "offer")
    assert one_line_error(late).startswith(f"error: OutsideOrderWindow(auctionId={aid}")
