"""Agent authentication: argon2 password hashes, expiring session tokens, login throttling.

``Authenticator`` wraps the store; the argon2 work runs in a thread behind a bounded queue
(``runtime.offload``), so logins neither stall the event loop nor pile up without limit. Unknown
usernames and wrong passwords give the same answer, so the login does not reveal which
usernames exist.

Failed logins slow down, they do not lock: after ``max_failures`` free failures every further one
doubles the wait (1 s, 2 s, 4 s, ... up to ``lockout_s``), separately for the client address
(kept in memory) and for the account (stored, so the CLI's ``agents unlock`` clears it). An
account's wait applies only to addresses that have themselves been failing, so nobody can keep a
real agent out by failing on their username from elsewhere: the right password from a clean
address always works. Failures for usernames that do not exist are stored under a hash, never
verbatim, and every failure is forgotten after the window.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handoff.store import Agent, HandoffStore
from runtime.offload import Busy, Offload

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same argon2 work.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_CHARS = 8


class AuthError(Exception):
    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to keep the stored value useless.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int  # free failures (per address, per account) before the waits start
    window_s: float  # failures older than this are forgotten
    lockout_s: float  # the longest wait
    base_s: float = 1.0  # the first wait; each further failure doubles it

    def delay(self, failures: int) -> float:
        if failures < self.max_failures:
            return 0.0
        return min(self.lockout_s, self.base_s * 2 ** min(failures - self.max_failures, 40))


def throttle_key(ip: str | None) -> str:
    """Addresses are throttled one by one, IPv6 per /64 (one subscriber's block)."""
    if not ip:
        return "?"
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


@dataclass
class AddressThrottle:
    """Failed logins per client address, in memory: (failures, time of the last one)."""

    policy: LockoutPolicy
    failures: dict[str, tuple[int, float]] = field(default_factory=dict)

    def count(self, key: str, now: float) -> int:
        entry = self.failures.get(key)
        if entry is None:
            return 0
        n, last = entry
        if now - last > max(self.policy.window_s, self.policy.delay(n)):
            del self.failures[key]
            return 0
        return n

    def wait(self, key: str, now: float) -> float:
        n = self.count(key, now)
        if n == 0:
            return 0.0
        return max(0.0, self.failures[key][1] + self.policy.delay(n) - now)

    def fail(self, key: str, now: float) -> None:
        n = self.count(key, now)
        self.failures[key] = (n + 1, now)
        if len(self.failures) > 10_000:  # forget the stale ones when the table grows
            for k in list(self.failures):
                self.count(k, now)

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


@dataclass(frozen=True)
class Login:
    agent: Agent
    token: str
    token_hash: str
    expires_at: float


def account_key(username: str, known: bool) -> str:
    """What failures are stored under: the username of a real account, else a hash of it (a
    64 KB "username" costs 17 bytes, and passwords typed into the username box stay unreadable)."""
    if known:
        return username
    return "?" + hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:16]


class Authenticator:
    def __init__(self, store: HandoffStore, policy: LockoutPolicy, token_ttl_s: float,
                 hashing: Offload | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        # Wall-clock seconds: token expiry and failure times are stored and outlive the process.
        # Tests pass a clock they can move forward instead of sleeping through the windows.
        self.clock = clock
        self.policy = policy
        self.token_ttl_s = token_ttl_s
        self.hashing = hashing or Offload("argon2", workers=1, queue=8)
        self.addresses = AddressThrottle(policy)
        self.checking: set[str] = set()  # addresses with a password check in flight

    def _refuse(self, wait: float, actor: str, ip_key: str) -> None:
        self.store.audit(actor, "login_throttled", ip=ip_key, wait=round(wait, 1))
        raise AuthError("locked", "Too many failed logins; try again later.", wait)

    async def login(self, username: str, password: str, ip: str | None = None) -> Login:
        now = self.clock()
        ip_key = throttle_key(ip)
        agent = self.store.agent(username)
        key = account_key(username, agent is not None)
        wait = self.addresses.wait(ip_key, now)
        if wait > 0:
            self._refuse(wait, key, ip_key)
        if self.addresses.count(ip_key, now) > 0:  # a clean address skips the account's wait
            count, last = self.store.failures(key, now, self.policy.window_s)
            wait = last + self.policy.delay(count) - now if count else 0.0
            if wait > 0:
                self._refuse(wait, key, ip_key)
        if ip_key in self.checking:  # one check at a time per address: no racing the waits
            raise AuthError("busy", "A login from your address is being checked.", 1.0)
        self.checking.add(ip_key)
        try:
            ok = await self.hashing.run(_verify, agent.password_hash if agent else _DUMMY_HASH,
                                        password)
        except Busy:
            raise AuthError("busy", "The server is busy; try again in a moment.", 1.0) from None
        finally:
            self.checking.discard(ip_key)
        now = self.clock()
        if not ok or agent is None or agent.disabled:
            self.addresses.fail(ip_key, now)
            failures = self.store.record_failure(key, now, self.policy.window_s)
            self.store.audit(key, "login_failed", failures=failures, ip=ip_key)
            raise AuthError("bad_credentials", "Wrong username or password.")
        self.addresses.clear(ip_key)
        self.store.clear_failures(username)
        token = secrets.token_urlsafe(32)
        th = token_hash(token)
        expires_at = now + self.token_ttl_s
        self.store.add_token(th, username, expires_at)
        self.store.audit(username, "login")
        return Login(agent, token, th, expires_at)

    def check(self, th: str) -> Agent:
        """The agent a stored token hash belongs to; raises if expired, revoked or disabled."""
        username = self.store.token_user(th, self.clock())
        agent = self.store.agent(username) if username else None
        if agent is None:
            raise AuthError("unauthorized", "Session expired or revoked; log in again.")
        return agent

    def resume(self, token: str) -> tuple[Agent, str]:
        th = token_hash(token)
        agent = self.check(th)
        self.store.audit(agent.username, "auth_token")
        return agent, th

    def logout(self, th: str, username: str) -> None:
        self.store.revoke_token(th)
        self.store.audit(username, "logout")


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
