"""Who may open a socket or have a QR code drawn: Origin checks, the client's address behind
trusted proxies, and the per-IP connection and rate limits (**runtime/ratelimit.py**).

Refusals are returned as values; the HTTP edge turns them into responses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.http11 import Request

from bot.settings import Settings
from runtime.ratelimit import IpLimits, client_ip, parse_networks


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused; ``retry_after`` (seconds) when waiting would help."""

    status: HTTPStatus
    text: str
    retry_after: float | None = None


def url_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_ip_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Admission:
    def __init__(self, settings: Settings, ip_limits: IpLimits) -> None:
        self.settings = settings
        self.ip_limits = ip_limits
        self.proxies = parse_networks(settings.trusted_proxies)

    def admit(self, peer: str, request: Request, now: float) -> Refusal | None:
        """Refuse a websocket before it opens: wrong Origin (403) or too many from one IP (429)."""
        origin = request.headers.get("Origin")
        if origin is not None and not self.origin_allowed(origin, request.headers.get("Host")):
            return Refusal(HTTPStatus.FORBIDDEN, "origin not allowed\n")
        ip = self.client_ip(peer, request)
        if self.ip_limits.connections_of(ip) >= self.settings.max_conns_per_ip:
            return Refusal(HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        # Opening a socket counts as a frame of the IP's allowance: reconnecting buys nothing.
        wait = self.ip_limits.take_opening(ip, now)
        if wait > 0:
            return Refusal(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n", retry_after=wait)
        return None

    def allow_drawing(self, peer: str, request: Request, now: float) -> Refusal | None:
        """Drawing costs CPU: each code takes a token from the client IP's frame allowance."""
        ip = self.client_ip(peer, request)
        self.ip_limits.purge(now)  # HTTP-only clients' buckets are forgotten too
        wait = self.ip_limits.take_opening(ip, now)
        if wait > 0:
            return Refusal(HTTPStatus.TOO_MANY_REQUESTS, "too many requests\n", retry_after=wait)
        return None

    def client_ip(self, peer: str, request: Request) -> str:
        # Several X-Forwarded-For headers are one list, in order (RFC 9110, 5.3).
        forwarded = ", ".join(request.headers.get_all("X-Forwarded-For")) or None
        return client_ip(peer, forwarded, self.proxies)

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        """The configured public URL's origin and CHAT_ALLOWED_ORIGINS are allowed. Without a
        public URL, the page's own origin is allowed only when its host is an IP address or
        localhost: a DNS name pointing at us (DNS rebinding) is not the site that embeds us."""
        allowed = self.settings.allowed_origins
        if "*" in allowed or origin in allowed:
            return True
        if self.settings.public_url:
            return origin == url_origin(self.settings.public_url)
        parts = urlsplit(origin)
        if host is None or parts.netloc != host or parts.scheme not in ("http", "https"):
            return False
        return is_ip_or_localhost(parts.hostname or "")
