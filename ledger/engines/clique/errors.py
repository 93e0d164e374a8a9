"""Errors of the consortium network (``gridledger consortium``).

They extend the one hierarchy in :mod:`ledger.errors`, so the CLI prints each as one line.
"""

from __future__ import annotations

from ledger.errors import ChainError, ConfigError, ToolchainError


class GethNotAvailableError(ToolchainError):
    """No go-ethereum 1.13.x binary is at hand and none could be built."""


class ConsortiumNotFoundError(ChainError):
    """No consortium network has been created in the data directory."""


class ConsortiumAlreadyRunningError(ChainError):
    """``up`` was asked for while every node of the consortium is already running."""


class ConsortiumConfigError(ConfigError):
    """The consortium's parameters are invalid or clash with the existing network."""


class NodeStartError(ChainError):
    """A geth node exited or did not answer RPC after being started."""


class ConsortiumRpcError(ChainError):
    """A node's JSON-RPC endpoint could not be reached or answered with an error."""


class GovernanceError(ChainError):
    """A Clique vote cannot be cast or did not take effect in time."""
