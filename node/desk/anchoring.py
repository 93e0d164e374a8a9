"""Anchoring the desk's change log on chain and verifying the database against it.

``anchor`` puts the Merkle root (``ledger.merkle``) of the changes not yet anchored on
chain (``DeskAnchor``), with the open and overdue counts per category. ``verify`` re-hashes
every change, rebuilds each anchored batch's root and compares it with the chain's, and
replays the change log to check every complaint row and attachment: the first problem names
the edited record.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.clients.desk import CategoryCount, DeskAnchorClient
from ledger.merkle import MerkleTree
from node.desk.errors import DeskError, DeskTamperedError
from node.desk.models import AnchoredBatch, Attachment, Change, Complaint
from node.desk.store import DeskStore, change_leaf


class AnchorResult(BaseModel):
    batch: int
    root: str
    first_change: int
    count: int
    tx_hash: str
    counts: list[CategoryCount]


class VerifyReport(BaseModel):
    """What ``verify`` found: ``problems`` in order, the first names the first edited record."""

    changes: int
    batches: int
    anchored_changes: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def anchor(store: DeskStore, client: DeskAnchorClient, now: int | None = None) -> AnchorResult:
    """Anchor every change after the chain's last batch (the OPERATOR's client)."""
    first = client.next_change()
    with store.sessions() as s:
        changes = list(s.scalars(select(Change).where(Change.id >= first).order_by(Change.id)))
    if not changes:
        raise DeskError(f"nothing to anchor: no desk change from #{first} on")
    for expected, ch in enumerate(changes, start=first):
        if ch.id != expected:
            raise DeskTamperedError(f"change #{expected} is missing from the desk database")
        if "0x" + change_leaf(ch).hex() != ch.leaf:
            raise DeskTamperedError(_edited(ch))
    root = MerkleTree([change_leaf(ch) for ch in changes]).root
    at = int(time.time()) if now is None else now
    counts = [
        CategoryCount(category=name, open=opened, overdue=late)
        for name, (opened, late) in store.counts(at).items()
    ]
    receipt = client.anchor(root, first, len(changes), counts)
    batch = client.anchored_batch(receipt)
    tx = receipt["transactionHash"].to_0x_hex()
    with store.writing() as s:
        s.add(
            AnchoredBatch(
                batch=batch,
                first_change=first,
                count=len(changes),
                root="0x" + root.hex(),
                tx_hash=tx,
                anchored_at=at,
            )
        )
    return AnchorResult(
        batch=batch,
        root="0x" + root.hex(),
        first_change=first,
        count=len(changes),
        tx_hash=tx,
        counts=counts,
    )


def _edited(ch: Change) -> str:
    return (
        f"change #{ch.id} (complaint {ch.complaint_id}, {ch.action}) was edited: its content "
        "no longer hashes to its leaf"
    )


def verify(store: DeskStore, client: DeskAnchorClient) -> VerifyReport:
    """Check the desk database against the chain's batches and its own change log."""
    problems: list[str] = []
    with store.sessions() as s:
        changes = {ch.id: ch for ch in s.scalars(select(Change).order_by(Change.id))}
        batches = client.batches()
        anchored = 0
        for b in batches:
            ids = range(b.first_change, b.first_change + b.count)
            anchored += b.count
            missing = [i for i in ids if i not in changes]
            if missing:
                problems.append(f"batch {b.batch}: change #{missing[0]} is missing")
                continue
            problems += [_edited(changes[i]) for i in ids if not _leaf_ok(changes[i])]
            root = MerkleTree([change_leaf(changes[i]) for i in ids]).root
            if "0x" + root.hex() != b.root:
                problems.append(
                    f"batch {b.batch} (changes #{ids[0]}..#{ids[-1]}): the root on chain "
                    "does not match the database (a change and its leaf were edited)"
                )
        tail = [ch for i, ch in changes.items() if i >= anchored + 1]
        problems += [_edited(ch) for ch in tail if not _leaf_ok(ch)]
        problems += _replay(s, list(changes.values()))
    return VerifyReport(
        changes=len(changes), batches=len(batches), anchored_changes=anchored, problems=problems
    )


def _leaf_ok(ch: Change) -> bool:
    return "0x" + change_leaf(ch).hex() == ch.leaf


_FIELDS = (
    "kind",
    "category",
    "title",
    "body",
    "filer",
    "state",
    "assignee",
    "filed_at",
    "due_at",
    "updated_at",
    "rating",
    "rating_comment",
    "trade_id",
    "contract_id",
    "bill",
    "meter",
)


def _apply(row: dict[str, Any], files: dict[int, dict[str, Any]], ch: Change) -> None:
    """What change ``ch`` does to its complaint's expected ``row`` (and attachments)."""
    data = json.loads(ch.data)
    if ch.action == "file":
        row.update({k: v for k, v in data.items() if k != "due_at"})
        row.update(filer=ch.actor, filed_at=ch.at, due_at=data["due_at"])
    elif ch.action == "assign":
        row["assignee"] = data["assignee"]
    elif ch.action == "rate":
        row.update(rating=data["rating"], rating_comment=data["comment"] or None)
    elif ch.action == "attach":
        files[data["attachment"]] = data
    row.update(state=ch.to_state, updated_at=ch.at)


def _replay(s: Session, changes: list[Change]) -> list[str]:
    """Complaint rows and attachments that differ from what their change log says."""
    expected: dict[int, dict[str, Any]] = {}
    files: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for ch in changes:
        row = expected.setdefault(
            ch.complaint_id, {"assignee": None, "rating": None, "rating_comment": None}
        )
        try:
            _apply(row, files, ch)
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"change #{ch.id} (complaint {ch.complaint_id}) has unreadable data")
    for c in s.scalars(select(Complaint).order_by(Complaint.id)):
        want = expected.get(c.id)
        if want is None:
            problems.append(f"complaint {c.id} has no filing in the change log")
            continue
        for field in _FIELDS:
            if getattr(c, field) != want.get(field):
                problems.append(
                    f"complaint {c.id} was edited: its {field} is not what its change log says"
                )
                break
    for a in s.scalars(select(Attachment).order_by(Attachment.id)):
        logged = files.get(a.id)
        actual = hashlib.sha256(a.content).hexdigest()
        if logged is None or logged["sha256"] != actual or a.sha256 != actual:
            problems.append(f"attachment {a.id} of complaint {a.complaint_id} was edited")
    return problems


def check(report: VerifyReport) -> VerifyReport:
    """``report`` if clean; :class:`DeskTamperedError` naming the first problem otherwise."""
    if not report.ok:
        more = f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise DeskTamperedError(f"desk database tampered: {report.problems[0]}{more}")
    return report
