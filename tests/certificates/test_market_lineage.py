"""One-way certificate listing, ERC-1155 receiver checks, lineage, conservation, gas."""

from __future__ import annotations

import pytest

from ledger.clients.certificates import CertListingStatus, token_id
from ledger.clients.registry import NodeKind
from ledger.errors import ContractRevertError
from tests.certificates.conftest import CertWorld, advance_time, block_time

P = 500
PRICE = 5_000  # fen per certificate (50 CNY/MWh)


def _issued(world: CertWorld, export_wh: int = 6_000_000) -> int:
    world.meter(P, {"wind": (0, export_wh), "consumer": (20_000_000, 0)})
    world.cert.issue(world.p("wind").address, P)
    return token_id(int(NodeKind.WIND), world.p("wind").address, P)


def test_one_way_listing_post_take_cancel(world: CertWorld) -> None:
    tid = _issued(world)
    wind, consumer = world.p("wind"), world.p("consumer")
    listing_id = wind.certs.post(tid, 4, PRICE)
    assert world.cert.balance_of(wind.address, tid) == 2
    assert world.cert.balance_of(wind.certs.market.address, tid) == 4
    row = wind.certs.market.listing(listing_id)
    assert (row.seller, row.amount, row.remaining, row.status) == (
        wind.address,
        4,
        4,
        CertListingStatus.OPEN,
    )
    wind_before = wind.token.balance_of(wind.address)
    consumer_before = consumer.token.balance_of(consumer.address)
    receipt = consumer.certs.take(listing_id, 3, PRICE)
    (ev,) = consumer.certs.market.events(receipt, "CertificatesTaken")
    assert dict(ev["args"]) == {
        "listingId": listing_id,
        "buyer": consumer.address,
        "tokenId": tid,
        "seller": wind.address,
        "amount": 3,
        "priceFenPerCertificate": PRICE,
        "costFen": 15_000,
        "remaining": 1,
    }
    assert wind.token.balance_of(wind.address) == wind_before + 15_000
    assert consumer.token.balance_of(consumer.address) == consumer_before - 15_000
    assert world.cert.balance_of(consumer.address, tid) == 3
    # one-way: a generator cannot take; only the issuing generator posts
    world.p("solar").token.approve(wind.certs.market.address, 10**9)
    with pytest.raises(ContractRevertError) as err:
        world.p("solar").certs.market.take(listing_id, 1)
    assert err.value.name == "NotObligatedParty"
    assert err.value.arguments == {"taker": world.p("solar").address, "kind": int(NodeKind.SOLAR)}
    world.cert.contract  # noqa: B018  (reader only)
    consumer.certs.cert.set_approval_for_all(consumer.certs.market.address, True)
    with pytest.raises(ContractRevertError) as err:
        consumer.certs.market.post(tid, 1, PRICE)
    assert (err.value.name, err.value.arguments) == (
        "NotIssuer",
        {"tokenId": tid, "caller": consumer.address},
    )
    with pytest.raises(ContractRevertError) as err:
        consumer.certs.market.take(listing_id, 1, PRICE - 1)
    assert err.value.name == "CertificatePriceAboveLimit"
    with pytest.raises(ContractRevertError) as err:
        consumer.certs.market.take(listing_id, 2)
    assert err.value.arguments == {"listingId": listing_id, "amount": 2, "remaining": 1}
    with pytest.raises(ContractRevertError) as err:
        consumer.certs.market.cancel(listing_id)
    assert err.value.name == "NotCertificateSeller"
    receipt = wind.certs.cancel(listing_id)
    (closed,) = wind.certs.market.events(receipt, "CertificateListingClosed")
    assert dict(closed["args"]) == {
        "listingId": listing_id,
        "status": int(CertListingStatus.CANCELLED),
        "returned": 1,
        "by": wind.address,
    }
    assert world.cert.balance_of(wind.address, tid) == 3
    assert wind.certs.market.open_listing_count() == 0


def test_listing_expiry_and_fill(world: CertWorld) -> None:
    tid = _issued(world)
    wind, retailer = world.p("wind"), world.p("retailer")
    expires = block_time(world.ctx) + 100
    first = wind.certs.post(tid, 2, PRICE, expires)
    second = wind.certs.post(tid, 1, PRICE)
    assert [x.listing_id for x in wind.certs.listings()] == [first, second]
    with pytest.raises(ContractRevertError) as err:
        wind.certs.market.expire(first)
    assert err.value.name == "CertificateListingNotExpired"
    retailer.certs.take(second, 1)
    assert wind.certs.market.listing(second).status == CertListingStatus.FILLED
    advance_time(world.ctx, 101)
    with pytest.raises(ContractRevertError) as err:
        retailer.certs.take(first, 1)
    assert err.value.name == "CertificateListingExpired"
    world.p("consumer").certs.market.expire(first)
    assert wind.certs.market.listing(first).status == CertListingStatus.EXPIRED
    assert world.cert.balance_of(wind.address, tid) == 5


def test_erc1155_receiver_checks(world: CertWorld) -> None:
    tid = _issued(world)
    wind = world.p("wind")
    token_address = world.market.token.address  # a contract without IERC1155Receiver
    with pytest.raises(ContractRevertError) as err:
        wind.certs.cert.safe_transfer_from(wind.address, token_address, tid, 1)
    assert (err.value.name, err.value.arguments) == (
        "ERC1155InvalidReceiver",
        {"receiver": token_address},
    )
    market = wind.certs.market.address  # accepts only its own pulls (post)
    with pytest.raises(ContractRevertError) as err:
        wind.certs.cert.safe_transfer_from(wind.address, market, tid, 1)
    assert (err.value.name, err.value.arguments) == (
        "UnsolicitedTransfer",
        {"operator": wind.address},
    )
    with pytest.raises(ContractRevertError) as err:
        world.cert.safe_transfer_from(wind.address, world.cert.sender.address, tid, 1)
    assert err.value.name == "ERC1155MissingApprovalForAll"
    supports = world.cert.contract.functions.supportsInterface
    assert supports(bytes.fromhex("d9b67a26")).call()  # IERC1155
    assert supports(bytes.fromhex("0e89341c")).call()  # IERC1155MetadataURI
    assert not supports(bytes.fromhex("ffffffff")).call()


def test_lineage_and_conservation(world: CertWorld) -> None:
    tid = _issued(world)
    world.quota_for(P, 2_000, 100_000)
    wind, consumer, retailer = world.p("wind"), world.p("consumer"), world.p("retailer")
    listing = wind.certs.post(tid, 3, PRICE)
    retailer.certs.take(listing, 2)
    retailer.certs.cert.safe_batch_transfer_from(retailer.address, consumer.address, [tid], [1])
    consumer.certs.retire(tid, 1, consumer.address, P)
    world.verifier.revoke(wind.address, tid, 1, b"AUDIT".ljust(32, b"\x00"))
    wind.certs.cancel(listing)

    history = consumer.certs.lineage(tid)
    kinds = [(e.kind, e.amount, e.sender, e.to) for e in history.events]
    m = wind.certs.market.address
    assert kinds == [
        ("issued", 6, None, wind.address),
        ("transfer", 3, wind.address, m),
        ("transfer", 2, m, retailer.address),
        ("transfer", 1, retailer.address, consumer.address),
        ("retired", 1, consumer.address, None),
        ("revoked", 1, wind.address, None),
        ("transfer", 1, m, wind.address),
    ]
    retired = history.events[4]
    assert (retired.beneficiary, retired.period, retired.retirement_id) == (consumer.address, P, 1)
    assert history.events[5].reason == "AUDIT"
    assert (history.issued, history.retired, history.revoked) == (6, 1, 1)
    assert history.holders == {wind.address: 3, retailer.address: 1}
    # conservation: issued = held + retired + revoked, per id, globally and from events
    held = sum(world.cert.balance_of(a, tid) for a in (wind.address, retailer.address, m))
    assert (
        world.cert.issued_of(tid)
        == 6
        == held + world.cert.retired_of(tid) + world.cert.revoked_of(tid)
    )
    assert world.cert.total_supply(tid) == held == sum(history.holders.values())
    totals = world.cert.totals()
    assert totals.issued == totals.held + totals.retired + totals.revoked == 6


def test_gas_of_issue_take_retire(world: CertWorld) -> None:
    world.meter(P, {"wind": (0, 6_000_000), "consumer": (20_000_000, 0)})
    issue = world.cert.issue(world.p("wind").address, P)
    tid = token_id(2, world.p("wind").address, P)
    world.quota_for(P, 2_000, 100_000)
    wind, consumer = world.p("wind"), world.p("consumer")
    wind.certs.cert.set_approval_for_all(wind.certs.market.address, True)
    post = wind.certs.market.post(tid, 4, PRICE, 0)
    listing = wind.certs.market.posted_listing_id(post)
    consumer.token.approve(wind.certs.market.address, 10**9)
    take = consumer.certs.market.take(listing, 2)
    retire = consumer.certs.quota.retire(tid, 2, consumer.address, P)
    gas = {
        k: int(r["gasUsed"])
        for k, r in [("issue", issue), ("post", post), ("take", take), ("retire", retire)]
    }
    # recorded in docs/certificates.md; generous ceilings catch regressions
    assert gas["issue"] < 300_000, gas  # first issuance of a token id: all cold slots
    assert gas["post"] < 330_000, gas
    assert gas["take"] < 120_000, gas
    assert gas["retire"] < 300_000, gas
