"""Retail layer: retail packages, consumer accounts, published rates and the bill engine.

Pure Python (no chain access): the contracts anchor :func:`ledger.retail.leaves.bill_leaf`
of each bill; everything else (pricing, the bill, its rendering, re-derivation and the
"what would I have paid" comparison) is computed here. See ``docs/retail-billing.md``.
"""
