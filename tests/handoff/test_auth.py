"""Agent accounts on a real SQLite file: argon2 hashes, hashed expiring tokens, login backoff, audit."""

import hashlib
import sqlite3
import subprocess
import sys

import pytest

from handoff.auth import Authenticator, AuthError, LockoutPolicy, hash_password
from handoff.store import Agent, HandoffStore

PASSWORD = "correct horse 12367"


@pytest.fixture
def store(tmp_path):
    s = HandoffStore(tmp_path / "chat.sqlite3")
    s.add_agent(Agent("li", "李明", "agent", ["nia-service-center"], ["zh", "en"], 2,
                      hash_password(PASSWORD)))
    yield s
    s.close()


class Clock:
    """Wall-clock seconds that move only when the test says: windows and expiry without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def auth(store, clock=None, **kw):
    policy = LockoutPolicy(kw.get("max_failures", 3), kw.get("window_s", 60), kw.get("lockout_s", 120))
    return Authenticator(store, policy, kw.get("ttl", 3600), clock=clock or Clock())


async def test_login_gives_a_token_stored_only_as_a_hash(store, tmp_path):
    login = await auth(store).login("li", PASSWORD)
    assert len(login.token) >= 43
    assert auth(store).resume(login.token)[0].username == "li"
    raw = sqlite3.connect(tmp_path / "chat.sqlite3").execute(
        "SELECT token_hash FROM handoff_tokens").fetchall()
    assert raw == [(hashlib.sha256(login.token.encode()).hexdigest(),)]
    pw = sqlite3.connect(tmp_path / "chat.sqlite3").execute(
        "SELECT password_hash FROM handoff_agents").fetchone()[0]
    assert pw.startswith("$argon2") and PASSWORD not in pw


async def test_wrong_password_and_unknown_user_look_the_same(store):
    a = auth(store)
    with pytest.raises(AuthError) as e1:
        await a.login("li", "wrong password")
    with pytest.raises(AuthError) as e2:
        await a.login("nobody", "wrong password")
    assert e1.value.code == e2.value.code == "bad_credentials"


async def test_failures_back_off_exponentially_per_address_not_locking_the_account(store):
    clock = Clock()
    a = auth(store, clock, max_failures=3, lockout_s=120)
    for _ in range(3):  # the free failures
        with pytest.raises(AuthError) as e:
            await a.login("li", "nope nope", "203.0.113.9")
        assert e.value.code == "bad_credentials"
    with pytest.raises(AuthError) as e:  # then 1 s, even for the right password, from there
        await a.login("li", PASSWORD, "203.0.113.9")
    assert e.value.code == "locked" and e.value.retry_after == 1
    clock.advance(0.9)
    with pytest.raises(AuthError) as e:  # not yet
        await a.login("li", PASSWORD, "203.0.113.9")
    assert e.value.code == "locked"
    clock.advance(0.2)
    with pytest.raises(AuthError):  # the fourth failure: 2 s
        await a.login("li", "nope nope", "203.0.113.9")
    with pytest.raises(AuthError) as e:
        await a.login("li", PASSWORD, "203.0.113.9")
    assert e.value.code == "locked" and e.value.retry_after == 2
    # The real agent, from an address that has not been failing, gets in at once.
    assert (await a.login("li", PASSWORD, "198.51.100.7")).agent.username == "li"
    actions = [r["action"] for r in store.audit_log(actor="li")]
    assert actions.count("login_failed") == 4 and "login_throttled" in actions


async def test_account_backoff_applies_to_other_failing_addresses_and_cli_unlock_clears_it(
        store, tmp_path):
    a = auth(store, max_failures=2, lockout_s=120)
    for i in range(4):  # four addresses, one failure each: the account is backing off
        with pytest.raises(AuthError):
            await a.login("li", "nope nope", f"203.0.113.{i}")
    with pytest.raises(AuthError) as e:  # an address that failed before waits for the account
        await a.login("li", PASSWORD, "203.0.113.0")
    assert e.value.code == "locked"
    store.close()
    assert cli(tmp_path, "agents", "unlock", "li").returncode == 0
    store2 = HandoffStore(tmp_path / "chat.sqlite3")
    a.store = store2
    assert (await a.login("li", PASSWORD, "203.0.113.0")).agent.username == "li"
    store2.close()


async def test_unknown_usernames_are_stored_hashed_and_old_failures_purged(store, tmp_path):
    clock = Clock()
    a = auth(store, clock, window_s=60)
    huge = "u" * 5000
    with pytest.raises(AuthError):
        await a.login(huge, "nope nope", "203.0.113.1")
    db = sqlite3.connect(tmp_path / "chat.sqlite3")
    stored = [r[0] for r in db.execute("SELECT username FROM handoff_login_failures")]
    actors = [r[0] for r in db.execute("SELECT actor FROM handoff_audit")]
    assert all(len(k) == 17 and k.startswith("?") for k in stored) and huge not in actors
    clock.advance(61)
    with pytest.raises(AuthError):
        await a.login("li", "nope nope", "203.0.113.2")
    assert [r[0] for r in db.execute("SELECT username FROM handoff_login_failures")] == ["li"]


async def test_failures_outside_the_window_do_not_count(store):
    clock = Clock()
    a = auth(store, clock, max_failures=2, window_s=60)
    with pytest.raises(AuthError):
        await a.login("li", "nope nope")
    clock.advance(61)
    with pytest.raises(AuthError) as e:
        await a.login("li", "nope nope")
    assert e.value.code == "bad_credentials"
    assert (await a.login("li", PASSWORD)).agent.name == "李明"


async def test_expired_revoked_and_disabled_tokens_fail(store):
    clock = Clock()
    a = auth(store, clock, ttl=3600)
    login = await a.login("li", PASSWORD)
    clock.advance(3599)
    assert a.resume(login.token)[0].username == "li"
    clock.advance(2)
    with pytest.raises(AuthError):
        a.resume(login.token)
    b = auth(store)
    login = await b.login("li", PASSWORD)
    store.set_disabled("li", True)
    with pytest.raises(AuthError):
        b.check(login.token_hash)
    store.set_disabled("li", False)
    with pytest.raises(AuthError):  # disabling revoked the token for good
        b.check(login.token_hash)


def test_short_password_refused():
    with pytest.raises(ValueError):
        hash_password("short")


def cli(tmp_path, *args, stdin=""):
    return subprocess.run([sys.executable, "-m", "handoff", *args, "--data-dir", str(tmp_path)],
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_cli_add_list_disable_audit(tmp_path):
    r = cli(tmp_path, "agents", "add", "--username", "wang", "--name", "王芳", "--role", "supervisor",
            "--queues", "*", "--langs", "zh,yue,en", "--max-chats", "4", "--password-stdin",
            stdin="a long password\n")
    assert r.returncode == 0, r.stderr
    again = cli(tmp_path, "agents", "add", "--username", "wang", "--queues", "*", "--langs", "zh",
                "--password-stdin", stdin="a long password\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = cli(tmp_path, "agents", "add", "--username", "x", "--queues", "no-such-queue", "--langs", "zh",
              "--password-stdin", stdin="a long password\n")
    assert bad.returncode == 2 and "unknown queue" in bad.stderr
    assert "wang" in cli(tmp_path, "agents", "list").stdout
    assert cli(tmp_path, "agents", "disable", "wang").returncode == 0
    assert "disabled" in cli(tmp_path, "agents", "list").stdout
    log = cli(tmp_path, "audit").stdout
    assert "agent_add" in log and "agent_disable" in log
