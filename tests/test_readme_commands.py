"""README's commands work as printed: every command in its "Command line" table runs with --help
(each alternative of `a|b|c` separately), and the set-up's `agents add ... --queues all` creates
an account that serves every queue."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def table_commands() -> list[list[str]]:
    """`python -m …` cells of the command table, optional parts dropped, alternatives expanded."""
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    out: list[list[str]] = []
    for cell in re.findall(r"`(python -m [^`]+)`", section):
        words = re.sub(r"\[[^\]]*\]", "", cell).split()
        words = [w for w in words if not w.startswith('"')]
        module = words[2]
        rest = words[3:]
        if not rest:
            out.append([module])
            continue
        first = rest[0].replace("\\|", "|")
        for alt in first.split("|"):
            if alt:
                out.append([module, alt])
    return out


COMMANDS = table_commands()


def run(args: list[str], extra_env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_the_table_lists_the_commands_we_expect():
    flat = [" ".join(c) for c in COMMANDS]
    for expected in ("bot serve", "bot ask", "bot chat", "retrieval check", "retrieval build",
                     "retrieval search", "retrieval evaluate", "bot.nlu train", "bot.nlu parse",
                     "handoff agents", "handoff audit"):
        assert any(f.startswith(expected) for f in flat), (expected, flat)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_readme_command_answers_help(command):
    if command[:2] == ["handoff", "agents"]:
        return  # `agents` takes a subcommand: the next test covers add|list|disable
    r = run([*command, "--help"])
    assert r.returncode == 0, r.stderr
    assert "usage" in r.stdout.lower()


@pytest.mark.parametrize("action", ["add", "list", "disable"])
def test_handoff_agent_commands_answer_help(action):
    r = run(["handoff", "agents", action, "--help"])
    assert r.returncode == 0, r.stderr


def test_readme_agents_add_with_queues_all_works_as_printed(tmp_path):
    line = re.search(r"^\.venv/bin/python -m handoff agents add (.+)$", README, re.M).group(1)
    assert "--queues all" in line
    args = line.split()
    for i, a in enumerate(args):
        if a.startswith('"') and not a.endswith('"'):  # --name "Alice"
            args[i:i + 2] = [(a + " " + args[i + 1]).strip('"')]
    args = [a.strip('"') for a in args]
    r = run(["handoff", "agents", "add", *args, "--password-stdin", "--data-dir", str(tmp_path)],
            input="a long enough password\n")
    assert r.returncode == 0, r.stderr
    listed = run(["handoff", "agents", "list", "--json", "--data-dir", str(tmp_path)])
    assert listed.returncode == 0, listed.stderr
    assert '"*"' in listed.stdout and "alice" in listed.stdout


def test_agents_commands_keep_accounts_in_the_database_url_names(tmp_path, postgres_url):
    on_postgres = {"CHAT_DATABASE_URL": postgres_url}
    r = run(["handoff", "agents", "add", "--username", "alice", "--name", "Alice", "--role", "agent",
             "--queues", "all", "--langs", "en", "--password-stdin", "--data-dir", str(tmp_path)],
            on_postgres, input="a long enough password\n")
    assert r.returncode == 0, r.stderr
    listed = run(["handoff", "agents", "list", "--json", "--data-dir", str(tmp_path)], on_postgres)
    assert listed.returncode == 0 and "alice" in listed.stdout, listed.stderr
    assert not (tmp_path / "chat.sqlite3").exists()  # nothing in the data directory's file
