"""Separate-chain mode: the certificate contracts on a second anvil, fed by a relayer.

The main chain (session anvil) meters the period and settles a clean trade; the relayer
copies the period's totals root, the node totals with their MeterOracle Merkle proofs, the
node kinds and the settled trade to ``RelayedGeneration`` on the certificate chain, where
certificates are issued, carried by the trade, retired and assessed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from ledger.clients.certificates import GreenCertificateClient, QuotaLedgerClient, token_id
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.engines.local import anvil_command, free_port
from ledger.errors import ContractRevertError
from ledger.settings import Settings
from ledger.web3factory import is_reachable
from node.certificates.api import (
    Certificates,
    Relayer,
    certificate_context,
    deploy_certificate_chain,
    relay_node_kind,
)
from tests.certificates.conftest import CertWorld
from tests.conftest import make_settings, role_account

AUX_CHAIN_ID = 31_416


@pytest.fixture
def aux_url() -> Iterator[str]:
    port = free_port()
    settings = Settings(rpc_port=port, chain_id=AUX_CHAIN_ID)
    cmd = anvil_command(settings, port, state_file=None, block_time_s=None)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    deadline = time.monotonic() + 30
    while not is_reachable(w3):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the second anvil did not start")
        time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_certificates_on_a_separate_chain(world: CertWorld, aux_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, world.ctx.settings.rpc_url, cert_rpc_url=aux_url, admin_transfer_delay_s=3600
    )
    main = LedgerContext(settings, w3=world.ctx.w3, manifest=world.ctx.manifest)
    # deploy the certificate chain (its own MarketAccess, token, RelayedGeneration, ...)
    deploy_ctx = LedgerContext(settings.model_copy(update={"rpc_url_override": aux_url}))
    manifest = deploy_certificate_chain(deploy_ctx, role_account("ADMIN"))
    assert manifest.chain_id == AUX_CHAIN_ID
    assert settings.cert_manifest_path.is_file()
    aux = certificate_context(main)  # what every command uses in this mode
    assert aux.w3.eth.chain_id == AUX_CHAIN_ID
    assert aux.manifest.address("GreenCertificate") == manifest.address("GreenCertificate")
    assert certificate_context(world.ctx) is world.ctx  # default: the main chain

    wind, consumer = world.p("wind").address, world.p("consumer").address
    period = world.market.period.id
    trade_id = world.settled_trade("wind", "consumer", 4_000_000, 2_600_000)
    proofs = world.meter(period, {"wind": (0, 3_000_000), "consumer": (12_000_000, 0)})

    relayer = Relayer(main, aux, role_account("METER_ORACLE"))
    relayer.relay_period_root(period)
    forged = (wind, period, 0, 9_000_000, 4, b"\x22" * 32)
    with pytest.raises(ContractRevertError) as err:
        relayer.relay_node_total(forged, proofs["wind"][1])
    assert (err.value.name, err.value.arguments) == (
        "InvalidNodeTotalProof",
        {"node": wind, "period": period},
    )
    for name in ("wind", "consumer"):
        relayer.relay_node_total(*proofs[name])
        relay_node_kind(main, aux, role_account("VERIFIER"), world.p(name).address)
    relayer.relay_trade(trade_id)

    # the trade carries floor(2.6 MWh) = 2 of the 3 certificates issued on the aux chain
    regulator = aux.client(QuotaLedgerClient, role_account("REGULATOR"))
    deadline = int(aux.w3.eth.get_block("latest")["timestamp"]) + 1_000
    regulator.set_quota(period, 2_500, deadline, 100_000)  # 25 % of 12 MWh = 3 MWh
    fund = aux.account("node-85")
    regulator.set_fund_account(fund.address)
    anyone = Certificates(aux, aux.account("node-93"))
    receipt = anyone.cover_trade(trade_id)
    (ev,) = anyone.quota.events(receipt, "TradeCovered")
    assert (ev["args"]["certificates"], ev["args"]["shortCertificates"]) == (2, 0)
    tid = token_id(2, wind, period)
    aux_cert = aux.client(GreenCertificateClient, aux.account("node-93"))
    assert aux_cert.balance_of(wind, tid) == 1
    assert aux_cert.totals() == (3, 1, 2, 0)
    # nothing happened on the main chain's own certificate contract
    assert world.cert.totals() == (0, 0, 0, 0)

    # the wind generator hands its last certificate to the consumer, who retires it
    Certificates(aux, world.p("wind").account).cert.safe_transfer_from(wind, consumer, tid, 1)
    Certificates(aux, world.p("consumer").account).retire(tid, 1, consumer, period)
    c = anyone.compliance(consumer, period)
    assert (c.obligation_wh, c.covered_wh, c.shortfall_wh) == (3_000_000, 3_000_000, 0)
    lineage = anyone.lineage(tid)
    assert [e.kind for e in lineage.events] == ["issued", "retired", "transfer", "retired"]
    assert lineage.events[1].trade_id == trade_id

    # assessment on the aux chain: no registry bond there, so a fine the aux token does
    # not cover stays unpaid
    regulator.set_quota(period, 5_000, deadline, 100_000)  # now 6 MWh: 3 MWh short
    bank = aux.client(SettlementTokenClient, role_account("CLEARING_BANK"))
    bank.mint(consumer, 100_000, b"AUX-1".ljust(32, b"\x00"))
    aux.client(SettlementTokenClient, world.p("consumer").account).approve(
        aux.manifest.address("QuotaLedger"), 100_000
    )
    aux.w3.provider.make_request("evm_increaseTime", [1_001])  # type: ignore[arg-type]
    aux.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    anyone.assess(consumer, period)
    s = anyone.quota.statement_of(consumer, period)
    assert (s.shortfall_wh, s.fine_fen, s.paid_fen, s.slashed_fen, s.unpaid_fen) == (
        3_000_000,
        300_000,
        100_000,
        0,
        200_000,
    )
    assert aux.client(SettlementTokenClient, fund).balance_of(fund.address) == 100_000
