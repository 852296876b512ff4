"""Token buckets for flood control, per connection and per client IP.

Pure code: the caller passes the clock, so tests need no sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: int  # bucket size
    tokens: float = field(init=False)
    updated: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self, now: float) -> float:
        """Take one token; return 0 when allowed, else seconds until a token is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class IpLimits:
    """Per-IP connection counts and frame buckets; forgets an IP when it has no connection left."""

    rate: float
    burst: int
    max_connections: int
    connections: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def connect(self, ip: str) -> bool:
        if self.connections.get(ip, 0) >= self.max_connections:
            return False
        self.connections[ip] = self.connections.get(ip, 0) + 1
        return True

    def disconnect(self, ip: str) -> None:
        left = self.connections.get(ip, 0) - 1
        if left > 0:
            self.connections[ip] = left
        else:
            self.connections.pop(ip, None)
            self.buckets.pop(ip, None)

    def take(self, ip: str, now: float) -> float:
        bucket = self.buckets.get(ip)
        if bucket is None:
            bucket = self.buckets[ip] = TokenBucket(self.rate, self.burst)
            bucket.updated = now
        return bucket.take(now)
