"""``gridledger node``: the market participant's commands, gathered from each domain.

Keystores and the registry lifecycle (``node/registry/cli.py``), posted-offer trading
(``node/trading/cli.py``), the recommendation (``node/trading/recommend_cli.py``),
statements and settlement (``node/settlement/cli.py``) and ratings
(``node/reputation/cli.py``) each add their commands to this one app.
"""

from __future__ import annotations

import typer

from node.registry import cli as registry_cli
from node.reputation import cli as reputation_cli
from node.settlement import cli as settlement_cli
from node.trading import cli as trading_cli
from node.trading import recommend_cli

app = typer.Typer(help="A market participant's client.", no_args_is_help=True)

registry_cli.register(app)
trading_cli.register(app)
recommend_cli.register(app)
settlement_cli.register(app)
reputation_cli.register(app)
