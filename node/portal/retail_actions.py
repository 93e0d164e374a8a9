"""What the retail pages sign: a bill payment (approve first if needed), a package publish
and withdraw, each a :class:`PendingAction` shown on ``/confirm`` first, through the same
client calls as ``gridledger retail pay|publish|withdraw`` (``node/retail/cli.py``)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field

from ledger.clients.retail import PackageOffer, RetailBillsClient, RetailPackagesClient
from ledger.clients.token import SettlementTokenClient
from ledger.context import LedgerContext
from ledger.errors import ValidationError
from ledger.retail.canonical import canonical_json
from ledger.retail.packages import RetailPackage
from ledger.units import fen_to_cny
from node.portal.actions import cny_fen, price_text
from node.portal.sessions import Outcome, PendingAction
from node.retail.issue import IssuedBatch, check_anchored


class PayForm(BaseModel):
    """Pay (part of) the consumer's bill of an uploaded issue file's batch."""

    batch_id: int = Field(ge=1)
    amount_fen: int | None = Field(default=None, ge=1)


class WithdrawForm(BaseModel):
    package_id: int = Field(ge=1)


def _tx(receipt: object) -> str:
    return receipt["transactionHash"].to_0x_hex()  # type: ignore[index, no-any-return]


def pay_action(
    ctx: LedgerContext, account: LocalAccount, batch: IssuedBatch, amount_fen: int | None
) -> PendingAction:
    """Pay ``amount_fen`` (default: what is unpaid) of the signer's bill in ``batch``; the
    issued proof is checked against the anchored root first."""
    bills = ctx.client(RetailBillsClient, account)
    token = ctx.client(SettlementTokenClient, account)
    me = str(account.address)
    bill = batch.bill_of(me)
    status = check_anchored(bills, batch, batch.ref(bill))
    if status.unpaid_fen == 0:
        raise ValidationError(f"the bill of {batch.month} is paid in full")
    amount = amount_fen if amount_fen is not None else status.unpaid_fen
    if amount > status.unpaid_fen:
        raise ValidationError(
            f"the amount {cny_fen(amount)} is more than what is unpaid, "
            f"{cny_fen(status.unpaid_fen)}"
        )
    balance = token.balance_of(me)
    if balance < amount:
        raise ValidationError(
            f"insufficient balance: paying {cny_fen(amount)}, your balance is {cny_fen(balance)}"
        )
    allowance = token.allowance(me, bills.address)
    warnings = (
        []
        if allowance >= amount
        else [
            "also signs SettlementToken.approve(RetailBills, amount) first: the allowance is "
            f"{cny_fen(allowance)}"
        ]
    )
    lines = [
        ("bill", f"month {batch.month}, batch {batch.batch_id}, hash {bill.bill_hash}"),
        ("retailer", batch.retailer),
        ("bill total", cny_fen(bill.total_fen)),
        ("already paid", cny_fen(status.paid_fen)),
        ("amount", cny_fen(amount)),
        ("left after", cny_fen(status.unpaid_fen - amount)),
        ("overdue", "yes" if status.overdue else "no"),
    ]
    args = (bill.consumer, bill.bill_hash, bill.total_fen, bill.proof)

    def run() -> Outcome:
        out: list[tuple[str, str]] = []
        if token.allowance(me, bills.address) < amount:
            out.append(("approve tx", _tx(token.approve(bills.address, amount))))
        receipt = bills.pay(batch.batch_id, *args, amount)
        (event,) = bills.events(receipt, "BillPaid")
        ev = event["args"]
        out += [
            ("event", f"BillPaid(batch {ev['batchId']}, amount {ev['amountFen']} fen)"),
            ("paid so far", cny_fen(int(ev["paidFen"]))),
            ("bill total", cny_fen(int(ev["totalFen"]))),
            ("tx hash", _tx(receipt)),
        ]
        return Outcome(f"Paid {fen_to_cny(amount)} CNY of the bill of {batch.month}", out)

    fn = f"RetailBills.pay({batch.batch_id}, {bill.consumer}, {bill.bill_hash}, …, {amount})"
    return PendingAction(f"Pay the bill of {batch.month}", fn, lines, run, warnings, "/retail")


def publish_action(
    ctx: LedgerContext, account: LocalAccount, package: RetailPackage
) -> PendingAction:
    """Publish ``package`` (the signer must be its retailer); its JSON is kept under
    ``<data_dir>/retail/packages/<hash>.json`` as the CLI does."""
    client = ctx.client(RetailPackagesClient, account)
    if package.retailer != account.address:
        raise ValidationError(
            f"the package's retailer is {package.retailer}, this organisation is {account.address}"
        )
    offer = PackageOffer.of(package)
    if client.package_id_of(offer.package_hash):
        raise ValidationError(f"a package with hash {offer.package_hash} is already published")
    lines = [
        ("package", package.name),
        ("package hash", offer.package_hash),
        ("consumer class", offer.consumer_class.value),
        ("pricing", f"{offer.pricing_kind}{', two-part' if offer.two_part else ''}"),
        ("headline price", price_text(offer.headline_price_fen_per_mwh)),
        ("valid", f"{package.valid_from} to {package.valid_to} (local dates, end excluded)"),
    ]

    def run() -> Outcome:
        receipt = client.publish(offer)
        path = ctx.settings.data_dir / "retail" / "packages" / f"{offer.package_hash}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(canonical_json(package))
        return Outcome(
            f"Published package {client.published_id(receipt)}",
            [
                ("event", f"PackagePublished(package {client.published_id(receipt)})"),
                ("package hash", offer.package_hash),
                ("kept", str(path)),
                ("tx hash", _tx(receipt)),
            ],
        )

    return PendingAction(
        f"Publish package {package.name!r}",
        "RetailPackages.publish(offer)",
        lines,
        run,
        back="/retail",
    )


def withdraw_action(ctx: LedgerContext, account: LocalAccount, package_id: int) -> PendingAction:
    client = ctx.client(RetailPackagesClient, account)
    package = client.package_of(package_id)
    if package.retailer != account.address:
        raise ValidationError(f"package {package_id} is {package.retailer}'s, not yours")
    if package.withdrawn_at:
        raise ValidationError(f"package {package_id} is already withdrawn")
    lines = [("package", f"{package_id} ({package.package_hash})")]

    def run() -> Outcome:
        receipt = client.withdraw(package_id)
        return Outcome(f"Withdrew package {package_id}", [("tx hash", _tx(receipt))])

    return PendingAction(
        f"Withdraw package {package_id}",
        f"RetailPackages.withdraw({package_id})",
        lines,
        run,
        back="/retail",
    )
