"""The gateway's route requirements (roles from :mod:`ledger.webauth`), and a per-client
token-bucket rate limit."""

from __future__ import annotations

import threading
import time

from ledger.webauth import EVERYONE, ApiKeys, Role, access, key_id

#: The gateway's requirements (README "Web access" has the route x role table).
PUBLIC = EVERYONE
AUDIT = access("auditor", Role.auditor, Role.regulator)
IDENTITY = access("regulator", Role.regulator)

__all__ = ["AUDIT", "IDENTITY", "PUBLIC", "ApiKeys", "RateLimiter", "Role", "key_id"]


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
