"""Clique governance: votes to add or remove a signer, cast on the signers' own nodes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from ledger.engines.clique.errors import ConsortiumRpcError, GovernanceError
from ledger.engines.clique.rpc import RpcClient, wait_until
from ledger.engines.clique.state import ConsortiumState, NodeState, ProposalResult


def cast_votes(
    state: ConsortiumState,
    running: Callable[[NodeState], bool],
    before: list[str],
    target: str,
    authorize: bool,
    *,
    rpc_timeout_s: float,
) -> ProposalResult:
    """Vote to add (``authorize``) or remove ``target`` on every running signer's node.

    Raises:
        GovernanceError: the change is moot or fewer than a majority of the signers'
            nodes run.
    """
    if authorize and target in before:
        raise GovernanceError(f"{target} is already a signer")
    if not authorize and target not in before:
        raise GovernanceError(f"{target} is not a signer")
    if not authorize and len(before) == 1:
        raise GovernanceError("cannot remove the last signer")
    voters = [n for n in state.nodes if n.validator in before and running(n)]
    needed = len(before) // 2 + 1
    if len(voters) < needed:
        raise GovernanceError(
            f"only {len(voters)} of the {len(before)} signers' nodes run; a vote needs {needed}"
        )
    for node in voters:
        RpcClient(node.rpc_url, rpc_timeout_s).call("clique_propose", target, authorize)
    return ProposalResult(
        address=target,
        authorize=authorize,
        voters=[n.name for n in voters],
        signers_before=before,
        signers_after=before,
        applied=False,
    )


def await_outcome(
    state: ConsortiumState,
    running: Callable[[NodeState], bool],
    result: ProposalResult,
    *,
    timeout_s: float | None,
    rpc_timeout_s: float,
) -> ProposalResult:
    """Wait until every running node sees the signer set ``result`` asked for, then
    withdraw the votes.

    Raises:
        GovernanceError: the change did not take effect within ``timeout_s`` (default:
            30 s plus six periods per signer).
    """
    target, authorize = result.address, result.authorize
    up = [n for n in state.nodes if running(n)]

    def applied() -> list[str] | None:
        seen = [RpcClient(n.rpc_url, 3.0).signers() for n in up]
        if all((target in s) == authorize for s in seen):
            return seen[0]
        return None

    n_signers = len(result.signers_before)
    limit = timeout_s if timeout_s is not None else 30.0 + 6.0 * n_signers * state.period_s
    try:
        after = wait_until(
            applied,
            timeout_s=limit,
            interval_s=0.5,
            what=f"{'adding' if authorize else 'removing'} signer {target}",
            error=GovernanceError,
        )
    except GovernanceError as exc:
        raise GovernanceError(
            f"{exc}; the votes stay open and may still pass "
            f"(`gridledger consortium status` shows the signers)"
        ) from exc
    voters = [n for n in state.nodes if n.name in result.voters]
    for node in voters:
        with contextlib.suppress(ConsortiumRpcError):
            RpcClient(node.rpc_url, rpc_timeout_s).call("clique_discard", target)
    return result.model_copy(update={"signers_after": after, "applied": True})
