"""The chain engines GridLedger runs on, kept apart from the rest of the shared core.

- :mod:`ledger.engines.local`: the local development chain, anvil (persistent) or
  Hardhat's node (in memory), one per data directory (``gridledger chain``).
- :mod:`ledger.engines.clique`: a multi-validator proof-of-authority (Clique) network of
  go-ethereum nodes on loopback (``gridledger consortium``).

Nothing else in :mod:`ledger` imports this package except the CLI wiring
(:mod:`ledger.cli`); ``make lint`` enforces it (import-linter contracts in
``pyproject.toml``).
"""
