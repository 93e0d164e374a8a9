"""API keys with roles, and a per-client token-bucket rate limit."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from enum import IntEnum
from pathlib import Path

from pydantic import TypeAdapter

from ledger.errors import ConfigError


class Role(IntEnum):
    """What a key may see; each role sees everything the roles below it see."""

    public = 0
    auditor = 1
    regulator = 2


class ApiKeys:
    """The keys file ``{api_key: role}``; requests without a key are ``public``."""

    def __init__(self, keys: dict[str, Role]) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: Path | None) -> ApiKeys:
        if path is None:
            return cls({})
        try:
            raw = TypeAdapter(dict[str, str]).validate_python(json.loads(Path(path).read_text()))
            return cls({key: Role[role] for key, role in raw.items()})
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"bad gateway API keys file {path}: {exc} (want {{key: public|auditor|regulator}})"
            ) from exc

    def role(self, key: str | None) -> Role | None:
        """The key's role; ``public`` without a key; None for an unknown key."""
        if key is None or key == "":
            return Role.public
        return self._keys.get(key)


def key_id(key: str | None) -> str:
    """A short, non-secret identifier of an API key for audit rows."""
    if not key:
        return "-"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class RateLimiter:
    """Token buckets per client: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token; returns 0 if allowed, else the seconds until a token is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients
                self._buckets.clear()
            return (1 - tokens) / self.rate
