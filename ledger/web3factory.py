"""Building the one :class:`~web3.Web3` instance a process uses."""

from __future__ import annotations

from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider
from web3.types import RPCEndpoint

from ledger.errors import ChainNotRunningError
from ledger.settings import Settings

#: Requests whose answer is fixed for the life of a node.
_CACHEABLE: set[RPCEndpoint] = {RPCEndpoint("eth_chainId")}


def make_web3(
    settings: Settings,
    *,
    rpc_url: str | None = None,
    check: bool = True,
    timeout_s: float | None = None,
) -> Web3:
    """A Web3 over HTTP to ``rpc_url`` (default: the settings' RPC URL).

    Args:
        settings: Where the RPC URL, timeout and proof-of-authority flag come from (with
            ``check``, a proof-of-authority chain is also detected from its genesis).
        rpc_url: Overrides the settings' URL (tests, consortium members).
        check: Raise :class:`ChainNotRunningError` now if nothing answers.
        timeout_s: Overrides the settings' RPC timeout (short probes).
    """
    url = rpc_url or settings.rpc_url
    # web3 fills ``chainId`` into every call and transaction with an ``eth_chainId``
    # request (two per contract call); a node's chain id never changes, so cache it and
    # nothing else (block-dependent answers change under reorgs and ``evm_revert``).
    provider = HTTPProvider(
        url,
        request_kwargs={"timeout": timeout_s or settings.rpc_timeout_s},
        cache_allowed_requests=True,
        cacheable_requests=_CACHEABLE,
    )
    if timeout_s is not None:
        provider.exception_retry_configuration = None  # type: ignore[assignment]  # no retry
    w3 = Web3(provider)
    if check and not is_reachable(w3):
        raise ChainNotRunningError(
            f"no chain answers at {url}: start one with `gridledger chain up` "
            "(or set GRIDLEDGER_RPC_URL)"
        )
    if settings.poa or (check and is_proof_of_authority(w3)):
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


def is_proof_of_authority(w3: Web3) -> bool:
    """True if the chain's genesis ``extraData`` is longer than the 32 bytes a
    proof-of-work or anvil header allows: Clique and QBFT put the signers there, and web3
    then needs its proof-of-authority middleware to read any block."""
    response = w3.provider.make_request(RPCEndpoint("eth_getBlockByNumber"), ["0x0", False])
    genesis = response.get("result")
    if not isinstance(genesis, dict):
        return False
    extra = str(genesis.get("extraData") or "0x")
    return len(extra) > 2 + 2 * 32


def is_reachable(w3: Web3) -> bool:
    """True if the node answers ``eth_chainId``."""
    try:
        _ = w3.eth.chain_id
    except Exception:  # noqa: BLE001 - any transport failure means "not reachable"
        return False
    return True
