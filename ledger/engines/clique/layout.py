"""Where a consortium keeps its files (one directory) and reading/writing its state."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ledger.engines.clique.errors import ConsortiumNotFoundError
from ledger.engines.clique.files import file_lock, write_atomic
from ledger.engines.clique.state import ConsortiumState, NodeState

STATE_FILE = "state.json"
GENESIS_FILE = "genesis.json"
_LOCK_FILE = ".lock"


class NetworkLayout:
    """The files of a consortium rooted in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    @property
    def state_path(self) -> Path:
        """``state.json``."""
        return self.root / STATE_FILE

    @property
    def genesis_path(self) -> Path:
        """``genesis.json``."""
        return self.root / GENESIS_FILE

    def node_dir(self, node: NodeState | int) -> Path:
        """The node's geth datadir."""
        index = node if isinstance(node, int) else node.index
        return self.root / f"node{index}"

    def log_path(self, node: NodeState | int) -> Path:
        """The node's log file."""
        return self.node_dir(node) / "geth.log"

    def pid_path(self, node: NodeState | int) -> Path:
        """The node's pid file."""
        return self.node_dir(node) / "geth.pid"

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Serialise commands on this consortium across processes."""
        return file_lock(self.root / _LOCK_FILE)

    def exists(self) -> bool:
        """Whether a consortium was created here."""
        return self.state_path.is_file()

    def load_state(self) -> ConsortiumState:
        """The recorded state.

        Raises:
            ConsortiumNotFoundError: no consortium here (or its state file is unreadable).
        """
        try:
            text = self.state_path.read_text()
        except FileNotFoundError:
            raise ConsortiumNotFoundError(
                f"no consortium in {self.root}; run `gridledger consortium up`"
            ) from None
        try:
            return ConsortiumState.model_validate_json(text)
        except ValueError as exc:
            raise ConsortiumNotFoundError(f"unreadable {self.state_path}: {exc}") from exc

    def save_state(self, state: ConsortiumState) -> None:
        """Write ``state.json`` atomically."""
        write_atomic(self.state_path, state.model_dump_json(indent=2) + "\n")
