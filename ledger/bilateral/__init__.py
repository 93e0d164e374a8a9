"""Bilateral contracts: EIP-712 messages, templates, rendering and verification bundles.

Shared by the participant's service (``node/contracts``) and the gateway; the chain side is
``contracts/trading/BilateralContracts.sol`` and its client ``ledger/clients/bilateral.py``.
"""
