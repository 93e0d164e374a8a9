"""``gridledger analytics``: the analytics of :mod:`ledger.analytics` on the command line."""
