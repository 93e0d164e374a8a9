"""RetailPackages: publication, withdrawal, binding through the retail agency contract,
switching, each refusal with its exact error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.clients.retail import AccountTerms, PackageOffer
from ledger.errors import ContractRevertError
from ledger.retail.accounts import DemandBasis
from ledger.retail.months import local_midnight
from ledger.retail.packages import ConsumerClass, package_hash
from tests.retail.onchain_fixtures import PRICE, TERMS, TIERED, Retail, market, retail, terminate
from tests.trading.conftest import advance_time

__all__ = ["market", "retail"]


def _revert(info: pytest.ExceptionInfo[ContractRevertError]) -> tuple[str, list[object]]:
    return info.value.name, list(info.value.arguments.values())


def test_publish_records_the_package_and_its_hash(retail: Retail) -> None:
    package = retail.package(retail.retailer, pricing=TIERED, two_part=True)
    offer = PackageOffer.of(package)
    receipt = retail.retailer.packages.publish(offer)
    (event,) = retail.retailer.packages.events(receipt, "PackagePublished")
    args = event["args"]
    assert args["packageId"] == 1
    assert args["retailer"] == retail.retailer.address
    assert args["packageHash"] == package_hash(package)
    assert args["consumerClass"] == 1  # commercial
    assert args["pricingKind"] == 2  # tiered
    assert args["twoPart"] is True
    assert args["validFrom"] == local_midnight(package.valid_from)
    assert args["validTo"] == local_midnight(package.valid_to)
    assert args["headlinePriceFenPerMwh"] == 400_000
    on_chain = retail.consumer.packages.package_of(1)
    assert on_chain.package_hash == "0x" + package_hash(package).hex()
    assert on_chain.consumer_class == ConsumerClass.commercial
    assert on_chain.pricing_kind == "tiered"
    assert on_chain.withdrawn_at == 0
    assert retail.consumer.packages.package_id_of(on_chain.package_hash) == 1


def test_publish_refusals(retail: Retail) -> None:
    packages = retail.retailer.packages
    offer = PackageOffer.of(retail.package(retail.retailer))
    packages.publish(offer)
    with pytest.raises(ContractRevertError) as info:
        packages.publish(offer)
    assert _revert(info) == ("PackageAlreadyPublished", [bytes.fromhex(offer.package_hash[2:]), 1])
    now = retail.now()
    with pytest.raises(ContractRevertError) as info:
        packages.publish(offer.model_copy(update={"valid_from": now + 10, "valid_to": now + 10}))
    assert _revert(info) == ("InvalidWindow", [now + 10, now + 10])
    with pytest.raises(ContractRevertError) as info:
        packages.publish(offer.model_copy(update={"package_hash": "0x" + "00" * 32}))
    assert _revert(info) == ("ZeroPackageHash", [])
    # a consumer is not a retailer: kind Consumer (8), status Active (2)
    with pytest.raises(ContractRevertError) as info:
        retail.consumer.packages.publish(offer)
    assert _revert(info) == ("NotAnActiveRetailer", [retail.consumer.address, 8, 2])


def test_withdraw_by_its_retailer_only(retail: Retail) -> None:
    package_id = retail.publish(retail.retailer)
    with pytest.raises(ContractRevertError) as info:
        retail.retailer2.packages.withdraw(package_id)
    assert _revert(info) == (
        "NotPackageRetailer",
        [package_id, retail.retailer.address, retail.retailer2.address],
    )
    receipt = retail.retailer.packages.withdraw(package_id)
    (event,) = retail.retailer.packages.events(receipt, "PackageWithdrawn")
    assert event["args"]["packageId"] == package_id
    withdrawn_at = retail.consumer.packages.package_of(package_id).withdrawn_at
    assert withdrawn_at == retail.now()
    with pytest.raises(ContractRevertError) as info:
        retail.bind(package_id, retail.agency)
    assert _revert(info) == ("PackageNotOffered", [package_id, withdrawn_at])
    with pytest.raises(ContractRevertError) as info:
        retail.retailer.packages.withdraw(99)
    assert _revert(info) == ("UnknownPackage", [99])


def test_bind_records_the_account_terms(retail: Retail) -> None:
    package_id = retail.publish(retail.retailer)
    now = retail.now()
    receipt = retail.consumer.packages.bind(package_id, retail.agency, now, now + 86_400, TERMS)
    (event,) = retail.consumer.packages.events(receipt, "ConsumerBound")
    args = event["args"]
    assert args["bindingId"] == 1
    assert args["consumer"] == retail.consumer.address
    assert args["retailer"] == retail.retailer.address
    assert args["packageId"] == package_id
    assert args["contractNo"] == retail.agency
    assert (args["validFrom"], args["validTo"]) == (now, now + 86_400)
    terms = ("consumerClass", "contractedCapacityKva", "demandBasis", "pfStandardMilli")
    assert tuple(args[k] for k in terms) == (1, 630, 0, 900)
    assert args["previousBindingId"] == 0
    binding = retail.consumer.packages.binding_of(1)
    assert binding.terms == TERMS
    assert retail.consumer.packages.current_binding_id(retail.consumer.address) == 1
    assert retail.consumer.packages.in_force(1) is True
    assert [b.id for b in retail.retailer.packages.customers_of(retail.retailer.address)] == [1]


def test_bind_refusals(retail: Retail) -> None:
    package_id = retail.publish(retail.retailer)
    packages = retail.consumer.packages
    now = retail.now()
    end = now + 86_400

    def refused(*args: object) -> tuple[str, list[object]]:
        with pytest.raises(ContractRevertError) as info:
            packages.bind(*args)  # type: ignore[arg-type]
        return _revert(info)

    # the agency contract of another retailer
    assert refused(package_id, retail.agency2, now, end, TERMS) == (
        "AgencyPartiesMismatch",
        [retail.agency2, retail.retailer2.address, retail.consumer.address],
    )
    residential = TERMS.model_copy(update={"consumer_class": ConsumerClass.residential})
    assert refused(package_id, retail.agency, now, end, residential) == (
        "ClassMismatch",
        [package_id, 1, 0],
    )
    pkg = packages.package_of(package_id)
    late = pkg.valid_to + 1
    assert refused(package_id, retail.agency, now, late, TERMS) == (
        "OutsidePackageWindow",
        [package_id, pkg.valid_from, pkg.valid_to, now, late],
    )
    bad_pf = TERMS.model_copy(update={"pf_standard_milli": 950})
    assert refused(package_id, retail.agency, now, end, bad_pf) == (
        "InvalidAccountTerms",
        [630, 950],
    )
    assert refused(package_id, retail.agency, end, now, TERMS) == ("InvalidWindow", [end, now])
    assert refused(package_id, 99, now, end, TERMS) == ("UnknownContract", [99])
    # only the consumer binds itself: a retailer is refused
    with pytest.raises(ContractRevertError) as info:
        retail.retailer.packages.bind(package_id, retail.agency, now, end, TERMS)
    assert _revert(info) == ("NotAnActiveConsumer", [retail.retailer.address, 7, 2])


def test_a_wholesale_contract_is_not_an_agency(retail: Retail) -> None:
    seller = retail.market.seller
    package_id = retail.publish(retail.retailer)
    ret, con = retail.desks["ret"], retail.desks["con"]
    fields = {
        "seller": {"address": ret.account.address, "name": "Retailer"},
        "buyer": {"address": con.account.address, "name": "Shop"},
        "first_period_id": retail.market.period.id,
        "first_interval": 0,
        "last_interval": 95,
        "schedule_wh": [1_000_000],
        "price_fen_per_mwh": PRICE,
    }
    offer = ret.propose("wholesale", fields)
    con.receive(offer)
    nid = offer.step.negotiation_id
    ret.receive(con.accept(nid))
    wholesale = con.register(nid, ret.sign_terms(nid), con.sign_terms(nid))
    assert seller.address != ret.account.address
    with pytest.raises(ContractRevertError) as info:
        retail.bind(package_id, wholesale)
    assert _revert(info) == ("NotAnAgencyContract", [wholesale, 1])


def test_switching_waits_for_the_agency_contract_to_end(retail: Retail) -> None:
    first_pkg = retail.publish(retail.retailer)
    second_pkg = retail.publish(retail.retailer2, retail.package(retail.retailer2, "Rival"))
    first = retail.bind(first_pkg, retail.agency)
    binding = retail.consumer.packages.binding_of(first)
    with pytest.raises(ContractRevertError) as info:
        retail.bind(second_pkg, retail.agency2)
    assert _revert(info) == (
        "BindingInForce",
        [retail.consumer.address, first, retail.retailer.address, retail.agency, binding.valid_to],
    )
    terminate(retail, "ret", retail.agency)
    assert retail.consumer.packages.in_force(first) is False
    second = retail.bind(second_pkg, retail.agency2)
    history = retail.consumer.packages.history(retail.consumer.address)
    assert [(b.id, b.retailer) for b in history] == [
        (second, retail.retailer2.address),
        (first, retail.retailer.address),
    ]
    assert history[0].previous_binding_id == first
    # the ended agency contract cannot bind again
    with pytest.raises(ContractRevertError) as info:
        retail.consumer.packages.bind(
            first_pkg, retail.agency, retail.now(), retail.now() + 60, TERMS
        )
    assert _revert(info)[0] == "AgencyNotActive"


def test_switching_after_the_binding_window_ends(retail: Retail) -> None:
    first_pkg = retail.publish(retail.retailer)
    second_pkg = retail.publish(retail.retailer2, retail.package(retail.retailer2, "Rival"))
    first = retail.bind(first_pkg, retail.agency, days=1)
    advance_time(retail.ctx, 86_400 + 1)
    assert retail.consumer.packages.in_force(first) is False
    second = retail.bind(second_pkg, retail.agency2)
    assert retail.consumer.packages.binding_of(second).previous_binding_id == first


def test_two_part_package_needs_a_contracted_capacity(retail: Retail) -> None:
    package = retail.package(retail.retailer, two_part=True)
    package_id = retail.publish(retail.retailer, package)
    no_capacity = AccountTerms(
        consumer_class=ConsumerClass.commercial,
        contracted_capacity_kva=0,
        demand_basis=DemandBasis.max_demand,
        pf_standard_milli=0,
    )
    now = retail.now()
    with pytest.raises(ContractRevertError) as info:
        retail.consumer.packages.bind(package_id, retail.agency, now, now + 60, no_capacity)
    assert _revert(info) == ("InvalidAccountTerms", [0, 0])
    assert package.valid_to - package.valid_from > timedelta(days=300)
