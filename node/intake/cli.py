"""``gridledger intake serve|anchor|submit|prove-omission|set-key|penalty|bond``.

Signed-receipt order intake of the central auction (docs/auction.md, "Order intake"):
the trading center runs ``serve`` (HTTP intake + anchorer) with the intake key; a
participant ``submit``s a signed order and keeps the receipt file, which
``prove-omission`` takes after the gate if the order was never anchored.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from eth_account.signers.local import LocalAccount

from ledger.cli_support import (
    NUMBER_ARGS,
    console,
    make_context,
    positive_fen,
    price_fen,
    print_tx,
    signer,
    wallet_option,
)
from ledger.clients.auction import CentralAuctionClient
from ledger.clients.intake import IntakeOrder, IntakeReceipt, OrderIntakeClient, sign_digest
from ledger.context import LedgerContext
from ledger.errors import ChainError, ValidationError
from ledger.units import mwh_to_wh
from node.auction.cli import parse_side
from node.intake.anchorer import DEFAULT_BATCH, Anchorer
from node.intake.service import DEFAULT_LEAD_S, AuctionTerms, IntakeService
from node.intake.store import IntakeStore

app = typer.Typer(help="Signed-receipt order intake of the central auction.", no_args_is_help=True)

WalletOpt = Annotated[str, wallet_option("The intake key's wallet.")]
DbOpt = Annotated[
    Path | None, typer.Option("--db", help="The write-ahead log (default data_dir/intake.db).")
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Orders per anchor transaction.")]


def _parts(wallet: str, db: Path | None) -> tuple[LedgerContext, IntakeStore, LocalAccount]:
    ctx = make_context()
    key = signer(ctx, wallet)
    return ctx, IntakeStore(db or ctx.settings.data_dir / "intake.db"), key


def _anchorer(ctx: LedgerContext, store: IntakeStore, key: LocalAccount, batch: int) -> Anchorer:
    intake = ctx.client(OrderIntakeClient, key)
    return Anchorer(store, intake, ctx.client(CentralAuctionClient, key), batch=batch)


@app.command("serve")
def serve(
    wallet: WalletOpt,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8700,
    anchor: Annotated[bool, typer.Option("--anchor/--no-anchor", help="Run the anchorer.")] = True,
    batch: BatchOpt = DEFAULT_BATCH,
    interval_s: Annotated[
        float, typer.Option("--interval-s", min=0.01, help="Anchorer idle poll.")
    ] = 0.5,
    lead_s: Annotated[
        int, typer.Option("--lead-s", min=0, help="Stop acknowledging this long before the gate.")
    ] = DEFAULT_LEAD_S,
) -> None:
    """The intake: acknowledge signed orders (write-ahead) and anchor them per block."""
    import uvicorn

    from node.intake.api import create_app

    ctx, store, key = _parts(wallet, db)
    terms = AuctionTerms(ctx.client(CentralAuctionClient, key))
    domain = ctx.client(OrderIntakeClient, key).domain()
    service = IntakeService(store, key, domain, terms, lead_s=lead_s)
    stop = threading.Event()
    if anchor:  # its own context: web3 and nonces of its own thread
        worker = _anchorer(make_context(), store, key, batch)
        threading.Thread(target=worker.run, args=(stop, interval_s), daemon=True).start()
    console.print(f"order intake {key.address} on http://{host}:{port}/ (log {store.path})")
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning")
    finally:
        stop.set()


@app.command("anchor")
def anchor_cmd(
    wallet: WalletOpt,
    db: DbOpt = None,
    batch: BatchOpt = DEFAULT_BATCH,
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep anchoring (beside `serve --no-anchor`).")
    ] = False,
    interval_s: Annotated[
        float, typer.Option("--interval-s", min=0.01, help="Idle poll (--loop).")
    ] = 0.5,
) -> None:
    """Anchor every pending order of the log now (after a crash: exactly once)."""
    ctx, store, key = _parts(wallet, db)
    anchorer = _anchorer(ctx, store, key, batch)
    if loop:
        anchorer.run(threading.Event(), interval_s)
    sent = anchorer.drain()
    console.print(f"anchored {sent} orders; log: {store.counts()}")


@app.command("submit")
def submit(
    wallet: Annotated[str, wallet_option("The participant's wallet (signs the order).")],
    auction_id: Annotated[int, typer.Argument(min=1)],
    side: Annotated[str, typer.Argument(help="bid or offer")],
    energy: Annotated[str, typer.Option("--energy-mwh", help="Energy in MWh.")],
    price: Annotated[str, typer.Option("--price", help="Limit price in CNY/MWh.")],
    nonce: Annotated[int, typer.Option(help="Order nonce (distinct orders, distinct nonces).")],
    out: Annotated[Path, typer.Option("--out", help="Where to keep the signed receipt (JSON).")],
    url: Annotated[str, typer.Option(help="The intake.")] = "http://127.0.0.1:8700",
) -> None:
    """Sign an order, send it to the intake and keep its signed receipt."""
    order_side = parse_side(side)
    ctx = make_context()
    account = signer(ctx, wallet)
    domain = ctx.client(OrderIntakeClient, account).domain()
    order = IntakeOrder(
        node=account.address,
        auction_id=auction_id,
        side=order_side,
        energy_wh=mwh_to_wh(energy),
        price_fen_per_mwh=price_fen(price),
        nonce=nonce,
    )
    signature = "0x" + sign_digest(account.key, domain.digest(order)).hex()
    try:
        answer = httpx.post(
            f"{url}/orders", json={"order": order.model_dump(), "signature": signature}, timeout=30
        )
    except httpx.HTTPError as exc:
        raise ChainError(f"cannot reach the intake at {url}: {exc}") from exc
    if answer.status_code != 200:
        raise ValidationError(f"intake refused the order: {_detail(answer)}")
    body: dict[str, Any] = answer.json()
    body.update(order=order.model_dump(), order_signature=signature)
    out.write_text(json.dumps(body, indent=2))
    console.print(f"receipt seq {body['receipt']['seq']} kept in {out}")


def _detail(answer: httpx.Response) -> str:
    """The intake's reason for refusing (its JSON ``detail``, else the status line)."""
    try:
        return str(answer.json().get("detail"))
    except ValueError:
        return f"HTTP {answer.status_code}"


@app.command("prove-omission")
def prove_omission(
    wallet: Annotated[str, wallet_option("Any wallet (pays the gas).")],
    receipt_file: Annotated[Path, typer.Argument(help="The file `submit` wrote.")],
) -> None:
    """After the gate: prove the receipt's order was never anchored (the intake pays)."""
    kept = json.loads(receipt_file.read_text())
    _, client = _client(wallet)
    receipt = client.prove_omission(
        IntakeReceipt.model_validate(kept["receipt"]),
        bytes.fromhex(kept["signature"][2:]),
        IntakeOrder.model_validate(kept["order"]),
        bytes.fromhex(kept["order_signature"][2:]),
    )
    print_tx("omission proven", receipt)


def _client(wallet: str) -> tuple[LedgerContext, OrderIntakeClient]:
    ctx = make_context()
    return ctx, ctx.client(OrderIntakeClient, signer(ctx, wallet))


@app.command("set-key")
def set_key(
    wallet: Annotated[str, wallet_option("An OPERATOR wallet.")],
    address: Annotated[str, typer.Argument(help="The intake key's address.")],
) -> None:
    """OPERATOR: set the intake key (receipt signer and anchorer)."""
    print_tx("intake key set", _client(wallet)[1].set_intake(address))


@app.command("penalty", context_settings=NUMBER_ARGS)
def penalty(
    wallet: Annotated[str, wallet_option("A REGULATOR wallet.")],
    amount: Annotated[str, typer.Argument(help="CNY per proven omission.")],
) -> None:
    """REGULATOR: set the penalty per proven omission."""
    print_tx(
        "omission penalty set",
        _client(wallet)[1].set_omission_penalty(positive_fen(amount, "penalty")),
    )


@app.command("bond", context_settings=NUMBER_ARGS)
def bond(
    wallet: Annotated[str, wallet_option("The paying wallet.")],
    amount: Annotated[str, typer.Argument(help="CNY to add to the intake's bond.")],
) -> None:
    """Add to the intake's bond (approves the contract first)."""
    from ledger.clients.token import SettlementTokenClient

    ctx, client = _client(wallet)
    fen = positive_fen(amount, "bond")
    ctx.client(SettlementTokenClient, signer(ctx, wallet)).approve(client.address, fen)
    print_tx("bond deposited", client.deposit_bond(fen))
