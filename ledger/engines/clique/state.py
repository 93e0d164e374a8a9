"""The consortium's records: ``state.json`` (:class:`ConsortiumState`) and what its nodes
report (:class:`ConsortiumStatus`, :class:`ProposalResult`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.engines.clique.p2p import LOOPBACK
from ledger.errors import ValidationError


class NodeState(BaseModel):
    """One validator's node as recorded in ``state.json``."""

    model_config = ConfigDict(extra="forbid")

    index: int
    name: str
    validator: str = Field(description="Checksum address of the node's Clique signer key.")
    standby: str = Field(
        description="A never-funded key the miner starts with: it cannot seal, so the node "
        "is marked synced before it may seal (see ledger.engines.clique.sealing)."
    )
    http_port: int
    p2p_port: int
    authrpc_port: int
    enode: str

    @property
    def rpc_url(self) -> str:
        """The node's HTTP JSON-RPC endpoint."""
        return f"http://{LOOPBACK}:{self.http_port}"


class ConsortiumState(BaseModel):
    """The consortium's ``state.json``: what ``up`` chose and every later command reads."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    chain_id: int
    period_s: int
    gas_limit: int
    geth_path: str
    geth_version: str
    created_at: datetime
    started_at: datetime | None = None
    prefund: list[str] = Field(default_factory=list)
    nodes: list[NodeState]

    def node(self, ref: int | str) -> NodeState:
        """A node by index, name (``node2``) or validator address.

        Raises:
            ValidationError: no such node.
        """
        for node in self.nodes:
            if ref in (node.index, node.name) or (
                isinstance(ref, str) and ref.lower() == node.validator.lower()
            ):
                return node
        raise ValidationError(f"node: no consortium node {ref!r}")


class ValidatorStatus(BaseModel):
    """What one validator node reports at run time (None where it could not be asked)."""

    index: int
    name: str
    validator: str
    rpc_url: str
    running: bool
    pid: int | None = None
    peers: int | None = None
    sealing: bool | None = None
    head_number: int | None = None
    head_hash: str | None = None
    signers: list[str] | None = None
    error: str | None = None

    @property
    def is_signer(self) -> bool | None:
        """Whether the node's validator is in the signer set the node sees."""
        if self.signers is None:
            return None
        return self.validator in self.signers


class ConsortiumStatus(BaseModel):
    """The consortium's state as its nodes report it."""

    root: str
    chain_id: int
    period_s: int
    geth_version: str
    nodes: list[ValidatorStatus]

    @property
    def signers(self) -> list[str] | None:
        """The signer set (clique_getSigners) of the answering node with the highest head."""
        answering = [n for n in self.nodes if n.signers is not None]
        if not answering:
            return None
        best = max(answering, key=lambda n: n.head_number or 0)
        return best.signers

    @property
    def running(self) -> int:
        """How many nodes run."""
        return sum(1 for n in self.nodes if n.running)


class ProposalResult(BaseModel):
    """The outcome of a Clique vote (:meth:`Consortium.propose`)."""

    address: str
    authorize: bool
    voters: list[str]
    signers_before: list[str]
    signers_after: list[str]
    applied: bool
