"""The portal's retail pages against a real chain (tests/retail's fixture: ``buyer`` node-3
is the consumer, ``buyer2`` node-4 the retailer, each with a retail agency contract): a
retailer publishes a package from its file through the confirmation page, a bad package file
is one readable line, a consumer sees its bill and pays part of it (exact token amounts)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger.clients.retail import PackageOffer
from ledger.keystore import Keystore
from ledger.retail.bill import compute_bill
from ledger.retail.canonical import canonical_json
from ledger.retail.leaves import BillRef
from node.portal.app import PortalConfig, create_app
from node.retail.issue import IssuedBatch, issue
from tests.gateway.conftest import LiveServer
from tests.portal.conftest import PASSWORD, csrf_of
from tests.retail import billfixtures as bf
from tests.retail.onchain_fixtures import Retail, market, retail
from tests.trading.conftest import advance_time

__all__ = ["market", "retail"]

MONTH = 202611
TOTAL_FEN = 123_456


@contextmanager
def serve(retail: Retail, account: LocalAccount, tmp_path: Path) -> Iterator[str]:
    """The portal of ``account``'s organisation (wallet ``org``, password PASSWORD): its url."""
    keystore = Keystore(tmp_path / f"keystore-{account.address}", scrypt_n=1024)
    keystore.create("org", PASSWORD, private_key=account.key)
    retail.ctx.keystore = keystore  # type: ignore[misc]
    app = create_app(retail.ctx, PortalConfig(wallet="org", idle_timeout_s=600))
    with LiveServer(app) as server:
        yield server.url


@contextmanager
def portal_of(retail: Retail, account: LocalAccount, tmp_path: Path) -> Iterator[httpx.Client]:
    """A logged-in client of the portal of ``account``'s organisation."""
    with (
        serve(retail, account, tmp_path) as url,
        httpx.Client(base_url=url, timeout=60, follow_redirects=True) as client,
    ):
        nonce = csrf_of(client.get("/login").text)
        assert client.post("/login", data={"csrf": nonce, "password": PASSWORD}).status_code == 200
        yield client


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    csrf = csrf_of(client.get("/retail").text)
    return client.post(path, data={"csrf": csrf, **data}, follow_redirects=False)


def _confirm_and_sign(client: httpx.Client, r: httpx.Response) -> tuple[str, str]:
    """The confirmation page a 303 leads to, and the result page of signing it."""
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    action = r.headers["location"].split("action=")[1]
    done = client.post("/submit", data={"csrf": csrf_of(page), "action": action})
    assert done.status_code == 200, done.text
    return page, done.text


def issue_bills(retail: Retail) -> IssuedBatch:
    refs = [
        BillRef(retail.consumer.address, retail.retailer.address, MONTH, keccak(b"b0"), TOTAL_FEN),
        BillRef(retail.market.seller.address, retail.retailer.address, MONTH, keccak(b"b1"), 9_000),
    ]
    return issue(retail.retailer.bills, refs, retail.now() + 86_400)


def test_retailer_publishes_a_package(retail: Retail, tmp_path: Path) -> None:
    package = retail.package(retail.retailer, name="Shop fixed")
    text = canonical_json(package).decode()
    with portal_of(retail, retail.retailer.account, tmp_path) as client:
        page = client.get("/retail").text
        assert 'id="nav-retail"' in page
        assert "no packages published" in page
        r = _post(client, "/retail/publish", package_json=text)
        confirm, done = _confirm_and_sign(client, r)
        offer = PackageOffer.of(package)
        assert offer.package_hash in confirm
        assert "Shop fixed" in confirm
        assert "4500.00 CNY/MWh (450,000 fen/MWh)" in confirm
        package_id = retail.retailer.packages.package_id_of(offer.package_hash)
        assert package_id >= 1
        assert f"Published package {package_id}" in done
        on_chain = retail.retailer.packages.package_of(package_id)
        assert on_chain.retailer == retail.retailer.address
        assert on_chain.headline_price_fen_per_mwh == 450_000
        kept = retail.ctx.settings.data_dir / "retail" / "packages" / f"{offer.package_hash}.json"
        assert kept.read_text() == text
        listing = client.get("/retail").text
        assert offer.package_hash[:18] in listing
        assert "offered" in listing
        # the same package again is refused before signing
        again = _post(client, "/retail/publish", package_json=text)
        assert again.status_code == 422
        assert "is already published" in again.text


def test_bad_package_file_is_one_clear_line(retail: Retail, tmp_path: Path) -> None:
    data = json.loads(canonical_json(retail.package(retail.retailer)))
    data["valid_to"] = data["valid_from"]
    with portal_of(retail, retail.retailer.account, tmp_path) as client:
        r = _post(client, "/retail/publish", package_json=json.dumps(data))
        assert r.status_code == 422
        assert "package file: (input): valid_to" in r.text
        assert "must be after valid_from" in r.text
        assert "Traceback" not in r.text
        r = _post(client, "/retail/publish", package_json="{not json")
        assert r.status_code == 422
        assert "package file: (input): Invalid JSON" in r.text
        other = retail.package(retail.retailer2)
        r = _post(client, "/retail/publish", package_json=canonical_json(other).decode())
        assert r.status_code == 422
        assert f"the package's retailer is {retail.retailer2.address}" in html.unescape(r.text)
    assert retail.retailer.packages.package_count() == 0


def test_consumer_sees_its_bill_and_pays_part_of_it(retail: Retail, tmp_path: Path) -> None:
    package_id = retail.publish(retail.retailer)
    retail.bind(package_id, retail.agency)
    batch = issue_bills(retail)
    token, bills = retail.consumer.token, retail.consumer.bills
    payer, payee = retail.consumer.address, retail.retailer.address
    before = (token.balance_of(payer), token.balance_of(payee))
    with portal_of(retail, retail.consumer.account, tmp_path) as client:
        page = client.get("/retail").text
        assert 'id="nav-retail"' in page
        assert retail.retailer.address in page
        assert "commercial, 630 kVA" in page
        assert "issue file needed" in page
        r = _post(client, "/retail/issue", issue_json=batch.model_dump_json())
        assert r.status_code == 200, r.text
        assert "1234.56" in r.text
        assert "unpaid" in r.text
        # more than the bill is refused on the form
        r = _post(client, "/retail/pay", batch_id=str(batch.batch_id), amount_fen="200000")
        assert r.status_code == 422
        assert "is more than what is unpaid" in r.text
        r = _post(client, "/retail/pay", batch_id=str(batch.batch_id), amount_fen="100000")
        confirm, done = _confirm_and_sign(client, r)
        assert "1000.00 CNY (100,000 fen)" in confirm
        assert "1234.56 CNY (123,456 fen)" in confirm
        assert "234.56 CNY (23,456 fen)" in confirm  # left after
        assert payee in confirm
        assert "also signs SettlementToken.approve" in confirm
        assert "BillPaid" in done
        assert "1000.00 CNY (100,000 fen)" in done
        after = (token.balance_of(payer), token.balance_of(payee))
        assert after == (before[0] - 100_000, before[1] + 100_000)
        bill = batch.bill_of(payer)
        status = bills.bill_status(
            batch.batch_id, payer, bill.bill_hash, bill.total_fen, bill.proof
        )
        assert (status.paid_fen, status.unpaid_fen) == (100_000, 23_456)
        listing = client.get("/retail").text
        assert "partly paid" in listing
        assert "fen (all: 23456)" in listing


def test_consumer_bad_issue_file_and_bill_download(retail: Retail, tmp_path: Path) -> None:
    package_id = retail.publish(retail.retailer)
    retail.bind(package_id, retail.agency)
    batch = issue_bills(retail)
    forged = batch.model_copy(update={"bills": [
        b.model_copy(update={"total_fen": 1}) for b in batch.bills
    ]})  # fmt: skip
    rows = bf.readings((bf.M1, bf.at(14, 12, 0), 3_000, 0, 0))
    bill = compute_bill(bf.account(), rows, bf.package(bf.FIXED), bf.RATES, bf.MONTH)
    with portal_of(retail, retail.consumer.account, tmp_path) as client:
        r = _post(client, "/retail/issue", issue_json=forged.model_dump_json())
        assert r.status_code == 422
        assert "is not the one anchored in batch" in r.text
        r = _post(client, "/retail/issue", issue_json='{"batch_id": 1}')
        assert r.status_code == 422
        assert "issue file: retailer: Field required" in r.text
        r = _post(client, "/retail/bill.csv", bill_json=canonical_json(bill).decode())
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert f"{bill.total_fen}" in r.text
        r = _post(client, "/retail/bill.pdf", bill_json=canonical_json(bill).decode())
        assert r.content.startswith(b"%PDF")
        r = _post(client, "/retail/bill.html", bill_json="[]")
        assert r.status_code == 422
        assert "bill file:" in r.text


def test_no_retail_link_for_a_generator(retail: Retail, tmp_path: Path) -> None:
    with portal_of(retail, retail.market.seller.account, tmp_path) as client:
        assert 'id="nav-retail"' not in client.get("/").text
        r = client.get("/retail")
        assert r.status_code == 404
        assert "retail pages are for consumers and retailers" in r.text


def test_retailer_customers_report_and_withdraw(retail: Retail, tmp_path: Path) -> None:
    package_id = retail.publish(retail.retailer)
    binding_id = retail.bind(package_id, retail.agency)
    issue_bills(retail)
    with portal_of(retail, retail.retailer.account, tmp_path) as client:
        page = client.get("/retail").text
        assert retail.consumer.address in page
        assert f'<td data-label="binding">{binding_id}</td>' in page
        report = client.get("/retail", params={"month": str(MONTH)}).text
        assert f"{MONTH}: revenue 1324.56 CNY (2 bills, 0.00 paid)" in report
        csv_text = client.get(f"/retail/report/{MONTH}.csv").text
        assert csv_text.splitlines()[0].endswith("revenue_fen,margin_fen")
        assert csv_text.splitlines()[-1].endswith(f",{TOTAL_FEN + 9_000},{TOTAL_FEN + 9_000}")
        bad = client.get("/retail", params={"month": "202613"})
        assert "month must be YYYYMM (e.g. 202607), got 202613" in bad.text
        r = _post(client, "/retail/withdraw", package_id=str(package_id))
        confirm, done = _confirm_and_sign(client, r)
        assert f"RetailPackages.withdraw({package_id})" in confirm
        assert f"Withdrew package {package_id}" in done
        assert retail.retailer.packages.package_of(package_id).withdrawn_at > 0
        r = _post(client, "/retail/withdraw", package_id=str(package_id))
        assert r.status_code == 422
        assert f"package {package_id} is already withdrawn" in r.text


def test_overdue_bill_and_pay_before_the_issue_file(retail: Retail, tmp_path: Path) -> None:
    package_id = retail.publish(retail.retailer)
    retail.bind(package_id, retail.agency)
    batch = issue_bills(retail)
    advance_time(retail.ctx, 2 * 86_400)  # past the due date (a day after issuing)
    token, payer, payee = retail.consumer.token, retail.consumer.address, retail.retailer.address
    before = (token.balance_of(payer), token.balance_of(payee))
    with portal_of(retail, retail.consumer.account, tmp_path) as client:
        r = _post(client, "/retail/pay", batch_id=str(batch.batch_id), amount_fen="1")
        assert r.status_code == 422
        assert f"paste the issue file of batch {batch.batch_id} first" in r.text
        page = _post(client, "/retail/issue", issue_json=batch.model_dump_json()).text
        assert "unpaid, OVERDUE" in page
        r = _post(client, "/retail/pay", batch_id=str(batch.batch_id))
        confirm, done = _confirm_and_sign(client, r)
        assert "<dt>left after</dt><dd>0.00 CNY (0 fen)</dd>" in confirm
        assert "<dt>amount</dt><dd>1234.56 CNY (123,456 fen)</dd>" in confirm
        assert "<dt>overdue</dt><dd>yes</dd>" in confirm
        assert "paid so far" in done
        assert ">paid<" in client.get("/retail").text
    after = (token.balance_of(payer), token.balance_of(payee))
    assert after == (before[0] - TOTAL_FEN, before[1] + TOTAL_FEN)
