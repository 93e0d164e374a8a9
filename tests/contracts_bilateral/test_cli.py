"""``gridledger contract``: negotiation by envelope files to registration, show, bundle, and
the offline ``verify`` catching a changed byte."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from node.contracts.cli import app
from tests.contracts_bilateral.conftest import PRICE, Cli, Parties


def test_cli_negotiate_register_show_bundle_verify(
    parties: Parties, cli: Cli, tmp_path: Path
) -> None:
    runner = CliRunner()
    run = cli

    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps(parties.fields()))
    offer, accept = tmp_path / "offer.json", tmp_path / "accept.json"
    templates = json.loads(run("templates", "--json"))
    assert [(t["key"], t["id"]) for t in templates] == [("retail-agency@1", 2), ("wholesale@1", 1)]
    run(
        "propose",
        "--template",
        "wholesale",
        "--fields",
        str(fields),
        "-o",
        str(offer),
        "-w",
        "node-1",
    )
    nid = json.loads(offer.read_text())["step"]["negotiation_id"]
    run("receive", str(offer), "-w", "node-3")
    run("accept", nid, "-o", str(accept), "-w", "node-3")
    run("receive", str(accept), "-w", "node-1")
    assert "accept" in run("negotiation", nid, "-w", "node-1")
    seller_sig = run("sign", nid, "-w", "node-1").strip().splitlines()[-1]
    buyer_sig = run("sign", nid, "-w", "node-3").strip().splitlines()[-1]
    out = run("register", nid, "--seller-sig", seller_sig, "--buyer-sig", buyer_sig, "-w", "node-3")
    assert "registered contract 1" in out
    shown = json.loads(run("show", "1", "--json"))
    assert shown["contract"]["price_fen_per_mwh"] == PRICE
    assert shown["execution"]["contracted_wh"] == sum(parties.fields()["schedule_wh"])
    seller = parties.seller.account.address
    listed = json.loads(run("list", "--party", seller, "--json"))
    assert [c["contract_no"] for c in listed] == [1]
    assert "delivery" in run("milestones", "-w", "node-3")
    # an amendment (new price) written by the seller, co-signed and submitted by the buyer
    amended = tmp_path / "amended.json"
    amended.write_text(json.dumps(parties.fields(price_fen_per_mwh=PRICE + 100)))
    change = tmp_path / "change.json"
    run(
        "amendment",
        "1",
        "--template",
        "wholesale",
        "--fields",
        str(amended),
        "-o",
        str(change),
        "-w",
        "node-1",
    )
    run("cosign", str(change), "-w", "node-3")
    assert "amended contract 1" in run("submit", str(change), "-w", "node-3")
    assert json.loads(run("show", "1", "--json"))["contract"]["price_fen_per_mwh"] == PRICE + 100
    bundle = tmp_path / "bundle.json"
    run("bundle", "1", "--template", "wholesale", "--fields", str(amended), "-o", str(bundle))
    offline = {"GRIDLEDGER_RPC_URL": "http://127.0.0.1:9"}  # nothing listens: no network used
    result = runner.invoke(app, ["verify", str(bundle)], env=offline)
    assert result.exit_code == 0, result.output
    assert "contract 1 verified" in result.output
    data = json.loads(bundle.read_text())
    assert len(data["amendments"]) == 1
    data["html"] = data["html"].replace("Wind Farm One", "Wind Farm 0ne")
    bundle.write_text(json.dumps(data))
    result = runner.invoke(app, ["verify", str(bundle)], env=offline)
    assert result.exit_code != 0
    assert "HTML document differs" in str(result.exception)
