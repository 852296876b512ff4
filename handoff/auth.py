"""Agent authentication: argon2 password hashes, expiring session tokens, lockout after failures.

``Authenticator`` wraps the store; the argon2 work runs in a thread so logins do not stall the
event loop. Unknown usernames and wrong passwords give the same answer and both count towards the
lockout, so the login does not reveal which usernames exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handoff.store import Agent, HandoffStore

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
    max_failures: int
    window_s: float
    lockout_s: float


@dataclass(frozen=True)
class Login:
    agent: Agent
    token: str
    token_hash: str
    expires_at: float


class Authenticator:
    def __init__(self, store: HandoffStore, policy: LockoutPolicy, token_ttl_s: float) -> None:
        self.store = store
        self.policy = policy
        self.token_ttl_s = token_ttl_s

    async def login(self, username: str, password: str) -> Login:
        now = time.time()
        until = self.store.locked_until(username)
        if until > now:
            self.store.audit(username, "login_locked")
            raise AuthError("locked", "Too many failed logins; the account is locked.", until - now)
        agent = self.store.agent(username)
        ok = await asyncio.to_thread(_verify, agent.password_hash if agent else _DUMMY_HASH, password)
        if not ok or agent is None or agent.disabled:
            failures = self.store.record_failure(username, now, self.policy.window_s)
            self.store.audit(username, "login_failed", failures=failures)
            if failures >= self.policy.max_failures:
                self.store.lock(username, now + self.policy.lockout_s)
                self.store.audit(username, "locked", until=now + self.policy.lockout_s)
            raise AuthError("bad_credentials", "Wrong username or password.")
        self.store.clear_failures(username)
        token = secrets.token_urlsafe(32)
        th = token_hash(token)
        expires_at = now + self.token_ttl_s
        self.store.add_token(th, username, expires_at)
        self.store.audit(username, "login")
        return Login(agent, token, th, expires_at)

    def check(self, th: str) -> Agent:
        """The agent a stored token hash belongs to; raises if expired, revoked or disabled."""
        username = self.store.token_user(th, time.time())
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
