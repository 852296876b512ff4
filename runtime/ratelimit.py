"""Token buckets for flood control, per connection and per client IP, and who the client is.

Pure code: the caller passes the clock, so tests need no sleeping.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(specs: Sequence[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(spec, strict=False) for spec in specs)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def address_in(address: str, networks: tuple[Network, ...]) -> bool:
    """Whether an address (as a string, possibly not an IP at all) is in one of the networks."""
    return _trusted(address, networks)


def client_ip(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The address per-IP limits count: the socket peer, unless the peer is one of our trusted
    reverse proxies; then the right-most X-Forwarded-For hop that is not a trusted proxy (hops
    further left were written by the client and can be forged)."""
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


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
    """Per-IP connection counts and frame buckets. A bucket outlives the IP's connections until it
    has refilled (``burst / rate`` seconds), so reconnecting does not buy a fresh burst."""

    rate: float
    burst: int
    max_connections: int
    connections: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    purged: float = 0.0

    def connections_of(self, ip: str) -> int:
        """The sockets the address holds (here: on this node)."""
        return self.connections.get(ip, 0)

    def take_opening(self, ip: str, now: float) -> float:
        """Opening a socket, or having a QR code drawn, counts as a frame of the allowance."""
        return self.take(ip, now)

    def connect(self, ip: str) -> bool:
        if self.connections.get(ip, 0) >= self.max_connections:
            return False
        self.connections[ip] = self.connections.get(ip, 0) + 1
        return True

    def disconnect(self, ip: str, now: float | None = None) -> None:
        left = self.connections.get(ip, 0) - 1
        if left > 0:
            self.connections[ip] = left
        else:
            self.connections.pop(ip, None)
        if now is not None:
            self.purge(now)

    def purge(self, now: float, every_s: float = 1.0) -> None:
        """Forget the buckets of IPs with no connection whose bucket is full again."""
        if now - self.purged < every_s:
            return
        self.purged = now
        for ip, bucket in list(self.buckets.items()):
            if ip not in self.connections and (
                    bucket.tokens + (now - bucket.updated) * self.rate >= self.burst):
                del self.buckets[ip]

    def bucket(self, ip: str, now: float) -> TokenBucket:
        bucket = self.buckets.get(ip)
        if bucket is None:
            bucket = self.buckets[ip] = TokenBucket(self.rate, self.burst)
            bucket.updated = now
        return bucket

    def take(self, ip: str, now: float) -> float:
        return self.bucket(ip, now).take(now)
