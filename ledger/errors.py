"""The one error hierarchy of GridLedger.

Every error the project raises on purpose derives from :class:`GridLedgerError`, so the
CLI and the services can turn any of them into one readable line (or a 4xx answer)
without a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class GridLedgerError(Exception):
    """Root of every error GridLedger raises on purpose."""


class ConfigError(GridLedgerError):
    """A setting is missing or invalid."""


class ToolchainError(GridLedgerError):
    """A required tool (node, npm, anvil, solc) is missing or broken."""


class CompileError(GridLedgerError):
    """The Solidity build failed; the message carries the compiler's errors."""


class ArtifactError(GridLedgerError):
    """A compiled artifact is missing or does not match what was expected."""


class ChainError(GridLedgerError):
    """The local chain could not be started, stopped or reached."""


class ChainNotRunningError(ChainError):
    """No chain answers at the configured RPC URL."""


class DeploymentError(GridLedgerError):
    """The contract suite could not be deployed or the manifest is unusable."""


class ManifestChainMismatchError(DeploymentError):
    """The manifest on disk belongs to another chain id."""

    def __init__(self, manifest_chain_id: int, node_chain_id: int, path: str) -> None:
        self.manifest_chain_id = manifest_chain_id
        self.node_chain_id = node_chain_id
        super().__init__(
            f"manifest {path} is for chain id {manifest_chain_id} but the node at the "
            f"RPC URL has chain id {node_chain_id}; point GRIDLEDGER_RPC_URL at the right "
            f"chain or use another GRIDLEDGER_DATA_DIR"
        )


class KeystoreError(GridLedgerError):
    """A keystore is missing, unreadable, or its password is wrong."""


class TransactionError(GridLedgerError):
    """A transaction could not be built, sent or confirmed."""


class TransactionTimeoutError(TransactionError):
    """No receipt arrived within the timeout."""

    def __init__(self, tx_hash: str, timeout_s: float) -> None:
        self.tx_hash = tx_hash
        self.timeout_s = timeout_s
        super().__init__(f"no receipt for {tx_hash} within {timeout_s:g} s")


class ContractRevertError(TransactionError):
    """A call or transaction reverted; ``name`` and ``args`` come from the ABI.

    Attributes:
        name: The custom error's name (``Error`` for ``require`` strings,
            ``Panic`` for assertion failures, ``Unknown`` when undecodable).
        arguments: The error's arguments by name, in ABI order.
        data: The raw revert data as 0x-prefixed hex.
    """

    def __init__(self, name: str, args: Mapping[str, Any], data: str) -> None:
        self.name = name
        self.arguments = dict(args)
        self.data = data
        super().__init__(self.signature)

    @property
    def signature(self) -> str:
        """The error as it reads in Solidity, e.g. ``ListingExpired(listingId=7, ...)``."""
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.arguments.items())
        return f"{self.name}({inner})"


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


class NotFoundError(GridLedgerError):
    """A looked-up record does not exist."""


class ValidationError(GridLedgerError):
    """Input failed validation; the message names the offending field."""


class SignatureError(ValidationError):
    """A signed message (EIP-712) is missing, malformed or signed by someone else."""


class BundleError(ValidationError):
    """A verification bundle does not verify (a changed byte, a wrong signature, ...)."""
