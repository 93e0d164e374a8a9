"""``gridledger surveil``: market surveillance (violation indicators and the classifier)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account
from rich.table import Table

from ledger import cli_support as cli
from ledger.clients.surveillance import SurveillanceDeskClient
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.errors import ValidationError
from ledger.units import fen_to_cny
from node.surveillance import model as model_mod
from node.surveillance import onchain
from node.surveillance.chain import chain_history
from node.surveillance.history import MarketHistory
from node.surveillance.indicators import FEATURES, schema_hash
from node.surveillance.model import Metrics, Source, SurveillanceModel
from node.surveillance.scan import build_report, node_features, scan
from node.surveillance.simulate import simulate_preset

app = typer.Typer(
    help="Market surveillance: violation indicators, the classifier, scans and reports.",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model-id", help="Model id (default: the shipped CURRENT model).")
]
ModelsDirOpt = Annotated[
    Path, typer.Option("--models-dir", help="Directory of model files and metadata.")
]
HistoryOpt = Annotated[
    Path, typer.Option("--history", help="A MarketHistory JSON file (e.g. from `simulate`).")
]
ChainHistoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--history",
        help="A MarketHistory JSON file (e.g. from `simulate`); default: read the chain.",
    ),
]
WindowOpt = Annotated[
    str,
    typer.Option(
        "--window",
        help="The window scored: day or week; a model calibrated for another window is refused.",
    ),
]
ContextOpt = Annotated[
    bool,
    typer.Option(
        "--context",
        help="Use the window's model calibrated with trailing context (CURRENT-day-context); "
        "a history without that context is refused.",
    ),
]
LastPeriodOpt = Annotated[
    int | None,
    typer.Option(
        "--last-period", help="Reading the chain: the window's last period (default: latest)."
    ),
]


def _history(
    history: Path | None, model: SurveillanceModel, last_period: int | None
) -> MarketHistory:
    """The history file, or the model's window (up to ``last_period``) read from the chain."""
    if history is not None:
        return MarketHistory.load(history)
    ctx = cli.make_context()
    return chain_history(
        ctx,
        Account.create(),
        last_period=last_period,
        periods=model.metadata.window_periods + model.context_periods,
    )


def _metrics_table(title: str, metrics: dict[str, Metrics]) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    for name in metrics:
        table.add_column(name, justify="right")
    first = next(iter(metrics.values()))
    rows: list[tuple[str, list[str]]] = [
        ("examples (node x window)", [str(m.examples) for m in metrics.values()]),
        ("violating examples", [str(m.positives) for m in metrics.values()]),
        ("precision", [f"{m.precision:.3f}" for m in metrics.values()]),
        ("recall", [f"{m.recall:.3f}" for m in metrics.values()]),
        ("F1", [f"{m.f1:.3f}" for m in metrics.values()]),
        ("ROC-AUC", [f"{m.roc_auc:.3f}" for m in metrics.values()]),
    ]
    for kind in first.recall_by_kind:
        rows.append(
            (
                f"recall: {kind}",
                [f"{m.recall_by_kind.get(kind, 0.0):.3f}" for m in metrics.values()],
            )
        )
    for label, cells in rows:
        table.add_row(label, *cells)
    return table


@app.command("train")
def train_cmd(
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
    current: Annotated[
        bool, typer.Option(help="Point the window's CURRENT file at the new model.")
    ] = True,
    window: Annotated[
        str, typer.Option("--window", help="Calibrate for: day, day-context or week.")
    ] = "week",
    as_json: cli.JsonOpt = False,
) -> None:
    """Screen the indicators and train the classifier of one window on simulated markets;
    write <model_id>.pkl and .json."""
    if window not in model_mod.DEFAULT_PLANS:
        raise typer.BadParameter(f"--window must be one of {', '.join(model_mod.DEFAULT_PLANS)}")
    trained = model_mod.train(model_mod.DEFAULT_PLANS[window])
    path = model_mod.save(trained, models_dir, current=current)
    meta = trained.metadata
    if as_json:
        cli.print_json(meta)
        return
    cli.console.print(f"model id: {meta.model_id}")
    cli.console.print(f"file: {path} ({meta.file_bytes} bytes)")
    cli.console.print(f"feature schema: {meta.schema_id} {meta.schema_hash}")
    cli.console.print(
        f"window: {meta.window} ({meta.window_periods} periods, "
        f"{meta.context_periods} periods of trailing context)"
    )
    cli.console.print(f"threshold: {meta.threshold_ppm} ppm")
    cli.console.print("indicators kept: " + ", ".join(meta.features))
    cli.console.print(
        _metrics_table("held-out", {"validation": meta.validation, "test": meta.test})
    )


@app.command("evaluate")
def evaluate_cmd(
    model_id: ModelOpt = None,
    window: WindowOpt = "week",
    context: ContextOpt = False,
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
    preset: Annotated[
        str, typer.Option(help="Preset of --seed scenarios (jibei-mini, surveil-medium, ...).")
    ] = "jibei-mini",
    seed: Annotated[
        list[int] | None,
        typer.Option(help="Evaluate on these seeds instead of the model's held-out test set."),
    ] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """Precision, recall and ROC-AUC of the model on held-out simulated markets."""
    model = SurveillanceModel.load(model_id, models_dir, window, context)
    sources = None if not seed else [Source(preset=preset, seed=s) for s in seed]
    metrics = model.evaluate(sources)
    plan = model.metadata.plan
    used = plan.test if sources is None else sources
    if as_json:
        cli.print_json(
            {
                "model_id": model.model_id,
                "schema_hash": model.metadata.schema_hash,
                "threshold_ppm": model.threshold_ppm,
                "sources": [s.model_dump() for s in used],
                "metrics": metrics.model_dump(),
                "reported": model.metadata.test.model_dump(),
            }
        )
        return
    cli.console.print(f"model {model.model_id}, threshold {model.threshold_ppm} ppm")
    cli.console.print("scenarios: " + ", ".join(f"{s.preset}/{s.seed}" for s in used))
    cli.console.print(_metrics_table("evaluation", {"measured": metrics}))


@app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Option(help="Write the MarketHistory JSON here.")],
    preset: Annotated[str, typer.Option(help="Scenario preset.")] = "jibei-mini",
    seed: Annotated[int, typer.Option(help="Scenario and behaviour seed.")] = 1,
    days: Annotated[int, typer.Option(help="Trading days to simulate.")] = 14,
    labels: Annotated[
        Path | None, typer.Option(help="Also write {address: violation kind} here.")
    ] = None,
) -> None:
    """Simulate a scenario's market (with labelled violators) into a history file."""
    market = simulate_preset(preset, seed, days=days)
    market.history.save(out)
    if labels is not None:
        labels.write_text(
            json.dumps(
                {a: (k.value if k else None) for a, k in market.labels.items()},
                indent=2,
                sort_keys=True,
            )
        )
    h = market.history
    cli.console.print(
        f"{len(h.nodes)} nodes, {len(h.listings)} listings, {len(h.trades)} trades, "
        f"{len(h.ratings)} ratings over periods {h.first_period}..{h.last_period} -> {out}"
    )


@app.command("scan")
def scan_cmd(
    history: ChainHistoryOpt = None,
    last_period: LastPeriodOpt = None,
    model_id: ModelOpt = None,
    window: WindowOpt = "week",
    context: ContextOpt = False,
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
    flagged_only: Annotated[
        bool, typer.Option("--flagged", help="Only list flagged nodes.")
    ] = False,
    as_json: cli.JsonOpt = False,
) -> None:
    """Score every node of a history (default: the chain) over the model's window."""
    model = SurveillanceModel.load(model_id, models_dir, window, context)
    result = scan(_history(history, model, last_period), model, window)
    if flagged_only:
        result.rows = [r for r in result.rows if r.flagged]
    if as_json:
        cli.print_json(result)
        return
    cli.console.print(
        f"model {result.model_id}, periods {result.first_period}..{result.last_period}, "
        f"threshold {result.threshold_ppm} ppm"
    )
    table = Table("node", "name", "score (ppm)", "flagged", "feature hash")
    for r in result.rows:
        table.add_row(
            r.node, r.name or "", str(r.score_ppm), "YES" if r.flagged else "", r.feature_hash
        )
    cli.console.print(table)


@app.command("indicators")
def indicators_cmd(
    node: Annotated[str, typer.Argument(help="Node address or name.")],
    history: HistoryOpt,
    window: Annotated[
        int, typer.Option(help="Window: the last N periods of the history.")
    ] = model_mod.DEFAULT_PLAN.window_periods,
    as_json: cli.JsonOpt = False,
) -> None:
    """A node's indicator values, with the feature hash."""
    vector = node_features(MarketHistory.load(history), node, window)
    if as_json:
        cli.print_json(
            {
                "node": vector.node,
                "first_period": vector.first_period,
                "last_period": vector.last_period,
                "schema_hash": schema_hash(),
                "feature_hash": vector.hash,
                "values": vector.values,
            }
        )
        return
    cli.console.print(f"{vector.node}: periods {vector.first_period}..{vector.last_period}")
    table = Table("indicator", "value", "unit", "definition")
    for f in FEATURES:
        table.add_row(f.name, f"{vector.value(f.name):.4f}", f.unit, f.definition)
    cli.console.print(table)
    cli.console.print(f"feature hash: {vector.hash}")


@app.command("report")
def report_cmd(
    node: Annotated[str, typer.Argument(help="Node address or name.")],
    history: HistoryOpt,
    model_id: ModelOpt = None,
    window: WindowOpt = "week",
    context: ContextOpt = False,
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
) -> None:
    """Build the report on NODE (evidence, hashes, score) as JSON (`file` files it)."""
    model = SurveillanceModel.load(model_id, models_dir, window, context)
    cli.print_json(build_report(MarketHistory.load(history), node, model, window))


# ---------------------------------------------------------------- on chain (SurveillanceDesk)

WalletOpt = Annotated[str, cli.wallet_option("The acting wallet.")]


def _desk(ctx: LedgerContext, wallet: str | None) -> SurveillanceDeskClient:
    account = cli.signer(ctx, wallet or None)
    return ctx.client(SurveillanceDeskClient, account)


def _document(text: str | None, path: Path | None, what: str) -> str:
    if (text is None) == (path is None):
        raise typer.BadParameter(f"give the {what} as exactly one of --text or --file")
    return onchain.document_hash(text=text, path=path)


@app.command("register-model")
def register_model_cmd(
    wallet: WalletOpt = "regulator",
    model_id: ModelOpt = None,
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
) -> None:
    """REGULATOR: register a model's id, feature schema hash and threshold on chain."""
    model = SurveillanceModel.load(model_id, models_dir)
    ctx = cli.make_context()
    receipt = onchain.register_model(_desk(ctx, wallet), model)
    cli.console.print(
        f"model {model.model_id} (schema {model.metadata.schema_hash}, "
        f"threshold {model.threshold_ppm} ppm)"
    )
    cli.print_tx("registered", receipt)


@app.command("file")
def file_cmd(
    node: Annotated[str, typer.Argument(help="The accused node: address or name.")],
    wallet: WalletOpt,
    history: ChainHistoryOpt = None,
    last_period: LastPeriodOpt = None,
    model_id: ModelOpt = None,
    window: WindowOpt = "week",
    context: ContextOpt = False,
    models_dir: ModelsDirOpt = model_mod.MODELS_DIR,
    as_json: cli.JsonOpt = False,
) -> None:
    """Compute the report on NODE (from --history or the chain) and file it on chain as
    --wallet (an active node)."""
    model = SurveillanceModel.load(model_id, models_dir, window, context)
    report = build_report(_history(history, model, last_period), node, model, window)
    ctx = cli.make_context()
    filed = onchain.file_report(_desk(ctx, wallet), report)
    if as_json:
        cli.print_json({"report": report.model_dump(mode="json"), "filed": filed.model_dump()})
        return
    cli.console.print(
        f"report #{filed.report_id} on {report.node}: score {report.score_ppm} ppm, "
        f"features {report.feature_hash}, {len(filed.trade_ids)} trade ids "
        f"(tx {filed.tx_hash}, gas {filed.gas_used})"
    )


@app.command("queue")
def queue_cmd(as_json: cli.JsonOpt = False) -> None:
    """The pending reports awaiting a ruling."""
    reports = onchain.queue(_desk(cli.make_context(), None))
    if as_json:
        cli.print_json(reports)
        return
    table = Table("id", "reporter", "accused", "score (ppm)", "responded", "rule by")
    for r in reports:
        table.add_row(
            str(r.report_id),
            r.reporter,
            r.accused,
            str(r.score_ppm),
            "yes" if r.responded_at else "",
            str(r.rule_by),
        )
    cli.console.print(table)


@app.command("respond")
def respond_cmd(
    report_id: Annotated[int, typer.Argument(help="The report.")],
    wallet: WalletOpt,
    text: Annotated[str | None, typer.Option(help="The response text.")] = None,
    file: Annotated[Path | None, typer.Option(help="The response document.")] = None,
) -> None:
    """The accused answers a report with the hash of its response document."""
    digest = _document(text, file, "response")
    receipt = _desk(cli.make_context(), wallet).respond(report_id, digest)
    cli.print_tx(f"response {digest} filed", receipt)


@app.command("rule")
def rule_cmd(
    report_id: Annotated[int, typer.Argument(help="The report.")],
    confirm: Annotated[
        bool, typer.Option("--confirm/--dismiss", help="Confirm the violation or dismiss it.")
    ],
    wallet: WalletOpt = "regulator",
    penalty_fen: Annotated[int, typer.Option(help="Bond to slash (confirm only).")] = 0,
    points: Annotated[int, typer.Option(help="Reputation points to deduct (confirm).")] = 0,
    text: Annotated[str | None, typer.Option(help="The reason text.")] = None,
    file: Annotated[Path | None, typer.Option(help="The reason document.")] = None,
) -> None:
    """REGULATOR: rule a pending report (confirm with a penalty, or dismiss) with a reason."""
    reason = _document(text, file, "reason")
    receipt = onchain.rule(
        _desk(cli.make_context(), wallet),
        report_id,
        confirmed=confirm,
        reason_hash=reason,
        penalty_fen=penalty_fen,
        reputation_points=points,
    )
    cli.print_tx(f"report #{report_id} {'confirmed' if confirm else 'dismissed'}", receipt)


@app.command("pay-penalty", context_settings=cli.NUMBER_ARGS)
def pay_penalty_cmd(
    node: Annotated[str, cli.address_argument("The node owing an unserved penalty.")],
    amount: cli.AmountArg,
    wallet: Annotated[str, cli.wallet_option("The paying wallet (the node or anyone).")],
) -> None:
    """Pay (up to AMOUNT CNY of) NODE's unserved surveillance penalties to the penalty
    account; paid in full, the node's registry obligation is released."""
    amount_fen = cli.positive_fen(amount)
    ctx = cli.make_context()
    account = cli.signer(ctx, wallet)
    desk = ctx.client(SurveillanceDeskClient, account)
    owed_fen, _held = desk.unpaid_penalty_of(node)
    if owed_fen == 0:
        raise ValidationError(f"{node} owes no unserved penalty")
    pay_fen = min(amount_fen, owed_fen)
    ctx.client(SettlementTokenClient, account).approve(desk.address, pay_fen)
    receipt = desk.pay_penalty(node, pay_fen)
    rest = fen_to_cny(owed_fen - pay_fen)
    cli.print_tx(f"paid {fen_to_cny(pay_fen)} CNY of {node}'s penalties ({rest} CNY left)", receipt)
