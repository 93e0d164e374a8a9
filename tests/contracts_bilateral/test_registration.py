"""Negotiation -> co-signature -> registration, and each refusal with its exact error."""

from __future__ import annotations

import pytest
from web3 import Web3

from ledger.bilateral.typed import digest, sign
from ledger.clients.bilateral import ContractStatus
from ledger.errors import ContractRevertError, SignatureError, ValidationError
from tests.contracts_bilateral.conftest import PRICE, SCHEDULE, Parties


def test_negotiation_signed_steps_are_stored_and_attributable(parties: Parties) -> None:
    nid = parties.negotiate()
    steps = parties.buyer.store.steps(nid)
    assert [s.message.kind for s in steps] == ["proposal", "counter", "accept"]  # type: ignore[union-attr]
    assert [s.signer for s in steps] == [
        parties.seller.account.address,
        parties.buyer.account.address,
        parties.seller.account.address,
    ]
    assert parties.buyer.store.verify(nid) == 3
    assert parties.seller.store.verify(nid) == 3
    agreement = parties.buyer.agreement(nid)
    assert agreement.terms.price_fen_per_mwh == PRICE - 10_000


def test_registered_with_both_signatures(parties: Parties) -> None:
    nid = parties.negotiate()
    seller_sig, buyer_sig = parties.cosign(nid)
    agreement = parties.seller.agreement(nid)
    assert parties.seller.client.terms_digest(agreement.terms) == agreement.digest
    receipt = parties.seller.client.register(
        agreement.terms, agreement.digest, seller_sig, buyer_sig
    )
    (event,) = parties.seller.client.events(receipt, "ContractRegistered")
    args = event["args"]
    assert args["contractNo"] == 1
    assert args["templateId"] == 1
    assert args["seller"] == parties.seller.account.address
    assert args["buyer"] == parties.buyer.account.address
    assert "0x" + args["documentHash"].hex() == agreement.document.document_hash
    assert "0x" + args["termsDigest"].hex() == agreement.digest
    assert args["firstPeriodId"] == parties.market.period.id
    assert args["periods"] == 2
    assert args["scheduledWh"] == sum(SCHEDULE)
    assert args["priceFenPerMwh"] == PRICE - 10_000
    assert args["registrant"] == parties.seller.account.address
    contract = parties.buyer.client.contract_of(1)
    assert contract.status == ContractStatus.ACTIVE
    assert contract.document_hash == agreement.document.document_hash
    assert [p.energy_wh for p in parties.buyer.client.schedule(1)] == SCHEDULE


def _registration(parties: Parties) -> tuple[str, str, str]:
    nid = parties.negotiate()
    seller_sig, buyer_sig = parties.cosign(nid)
    return nid, seller_sig, buyer_sig


def test_missing_signature_refused(parties: Parties) -> None:
    nid, seller_sig, _ = _registration(parties)
    a = parties.seller.agreement(nid)
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.register(a.terms, a.digest, seller_sig, "")
    assert err.value.name == "MissingSignature"
    assert err.value.arguments == {"party": parties.buyer.account.address}


def test_forged_signature_refused(parties: Parties) -> None:
    nid, seller_sig, _ = _registration(parties)
    a = parties.seller.agreement(nid)
    forger = parties.retailer.account  # signs in the buyer's place
    forged = sign(forger, parties.seller.domain, a.terms)
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.register(a.terms, a.digest, seller_sig, forged)
    assert err.value.name == "InvalidSignature"
    assert err.value.arguments == {
        "party": parties.buyer.account.address,
        "recovered": forger.address,
    }


def test_replayed_signatures_refused(parties: Parties) -> None:
    nid, seller_sig, buyer_sig = _registration(parties)
    a = parties.seller.agreement(nid)
    parties.seller.client.register(a.terms, a.digest, seller_sig, buyer_sig)
    with pytest.raises(ContractRevertError) as err:
        parties.buyer.client.register(a.terms, a.digest, seller_sig, buyer_sig)
    assert err.value.name == "TermsAlreadyRegistered"
    assert err.value.arguments == {"termsDigest": bytes.fromhex(a.digest[2:]), "contractNo": 1}


def test_terms_differing_from_the_signed_hash_refused(parties: Parties) -> None:
    nid, seller_sig, buyer_sig = _registration(parties)
    a = parties.seller.agreement(nid)
    changed = a.terms.model_copy(update={"price_fen_per_mwh": PRICE + 1})
    changed_digest = digest(parties.seller.domain, changed)
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.register(changed, a.digest, seller_sig, buyer_sig)
    assert err.value.name == "TermsHashMismatch"
    assert err.value.arguments == {
        "signedDigest": bytes.fromhex(a.digest[2:]),
        "termsDigest": bytes.fromhex(changed_digest[2:]),
    }
    # submitted under their own digest, the signatures no longer recover the parties
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.register(changed, changed_digest, seller_sig, buyer_sig)
    assert err.value.name == "InvalidSignature"
    assert err.value.arguments["party"] == parties.seller.account.address


def test_unpublished_template_refused(parties: Parties) -> None:
    nid, seller_sig, buyer_sig = _registration(parties)
    a = parties.seller.agreement(nid)
    unknown = a.terms.model_copy(update={"template_id": 9})
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.register(unknown, a.digest, seller_sig, buyer_sig)
    assert err.value.name == "UnknownTemplate"
    assert err.value.arguments == {"templateId": 9}


def test_template_published_by_operator_only(parties: Parties) -> None:
    with pytest.raises(ContractRevertError) as err:
        parties.seller.client.publish_template("x", 1, "0x" + "ab" * 32)
    assert err.value.name == "AccessControlUnauthorizedAccount"
    with pytest.raises(ContractRevertError) as err:
        parties.operator.publish_template("again", 2, parties.operator.template(1).template_hash)
    assert err.value.name == "TemplateAlreadyPublished"
    assert err.value.arguments["templateId"] == 1


def test_negotiation_refusals_off_chain(parties: Parties) -> None:
    offer = parties.seller.propose("wholesale", parties.fields())
    tampered = offer.model_copy(update={"fields": parties.fields(price_fen_per_mwh=1)})
    with pytest.raises(ValidationError, match="terms hash does not match"):
        parties.buyer.receive(tampered)
    forged_step = offer.step.model_copy(update={"note": "changed"})
    with pytest.raises(SignatureError):
        parties.buyer.receive(offer.model_copy(update={"step": forged_step}))
    parties.buyer.receive(offer)
    with pytest.raises(ValidationError, match="cannot accept one's own step"):
        parties.seller.accept(offer.step.negotiation_id)
    with pytest.raises(ValidationError, match="neither seller nor buyer"):
        parties.retailer.propose("wholesale", parties.fields())
    assert Web3.is_checksum_address(offer.step.sender)


def test_rejected_negotiation_closes(parties: Parties) -> None:
    offer = parties.seller.propose("wholesale", parties.fields())
    parties.buyer.receive(offer)
    nid = offer.step.negotiation_id
    parties.seller.receive(parties.buyer.reject(nid, "too dear"))
    with pytest.raises(ValidationError, match="is not accepted"):
        parties.seller.agreement(nid)
    with pytest.raises(ValidationError, match="is closed"):
        parties.seller.counter(nid, parties.fields())
