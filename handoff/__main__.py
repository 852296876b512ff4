"""Command line for the handoff module.

  python -m handoff agents add --username li --name 李明 --role agent --queues nia-service-center \
        --langs zh,en --max-chats 3 --password-stdin [--data-dir DIR]
  python -m handoff agents list | disable USER | enable USER | unlock USER | passwd USER --password-stdin
  python -m handoff audit [--agent USER] [--action ACTION] [--limit N] [--json]
  python -m handoff csat [--json]     (visitor ratings per agent and queue)
  python -m handoff route --lang zh --option port_clearance --region 深圳 [--overseas]
  python -m handoff queues         (the queues of the routing table)
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path

from handoff.auth import hash_password
from handoff.routing import BUSINESS_OPTIONS, load_table, route
from handoff.settings import HandoffSettings
from handoff.store import Agent, HandoffStore

LANG_SKILLS = ("zh", "yue", "en")


def _settings(args: argparse.Namespace) -> HandoffSettings:
    return HandoffSettings(data_dir=args.data_dir) if args.data_dir else HandoffSettings()


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def cmd_agents(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = HandoffStore(settings.database)
    try:
        if args.action == "add":
            table = load_table(settings.routing_file)
            # "all" (as README and the help say) and "*" both mean every queue.
            queues = ["*" if q.lower() == "all" else q for q in _csv(args.queues)]
            unknown = [q for q in queues if q != "*" and q not in table.queues]
            if unknown or not queues:
                print(f"error: unknown queue(s) {', '.join(unknown) or '(none given)'}; "
                      f"known: {', '.join(table.queues)}, or all (*)", file=sys.stderr)
                return 2
            langs = _csv(args.langs)
            if not langs or any(lang not in LANG_SKILLS for lang in langs):
                print(f"error: --langs takes a comma list of {', '.join(LANG_SKILLS)}", file=sys.stderr)
                return 2
            if args.max_chats < 1:
                print("error: --max-chats must be at least 1", file=sys.stderr)
                return 2
            try:
                pw_hash = hash_password(_password(args))
                store.add_agent(Agent(username=args.username, name=args.name or args.username,
                                      role=args.role, queues=queues, langs=langs,
                                      max_chats=args.max_chats, password_hash=pw_hash))
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            store.audit("cli", "agent_add", username=args.username, role=args.role, queues=queues)
            print(f"added {args.role} {args.username}")
        elif args.action == "list":
            rows = [a.public() for a in store.agents()]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            for a in rows if not args.json else ():
                state = "disabled" if a["disabled"] else "active"
                print(f"{a['username']:<16} {a['name']:<12} {a['role']:<10} {state:<8} "
                      f"max={a['max_chats']} langs={','.join(a['langs'])} queues={','.join(a['queues'])}")
        elif args.action in ("disable", "enable"):
            if not store.set_disabled(args.username, args.action == "disable"):
                print(f"error: no agent {args.username!r}", file=sys.stderr)
                return 2
            store.audit("cli", f"agent_{args.action}", username=args.username)
            print(f"{args.action}d {args.username}")
        elif args.action == "unlock":
            if store.agent(args.username) is None:
                print(f"error: no agent {args.username!r}", file=sys.stderr)
                return 2
            store.clear_failures(args.username)
            store.audit("cli", "agent_unlock", username=args.username)
            print(f"cleared failed logins of {args.username}")
        elif args.action == "passwd":
            try:
                ok = store.set_password(args.username, hash_password(_password(args)))
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            if not ok:
                print(f"error: no agent {args.username!r}", file=sys.stderr)
                return 2
            store.clear_failures(args.username)
            store.audit("cli", "agent_passwd", username=args.username)
            print(f"password changed for {args.username}")
    finally:
        store.close()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    store = HandoffStore(_settings(args).database)
    try:
        for row in store.audit_log(actor=args.agent, action=args.action, limit=args.limit):
            if args.json:
                print(json.dumps(row, ensure_ascii=False))
                continue
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(row["ts"]))
            detail = " ".join(f"{k}={v}" for k, v in row["detail"].items())
            chat = f" chat:{row['detail'].get('chat')}" if "chat" in row["detail"] else ""
            print(f"{ts}Z {row['actor']:<14} {row['action']:<14}{chat} {detail}".rstrip())
    finally:
        store.close()
    return 0


def cmd_csat(args: argparse.Namespace) -> int:
    store = HandoffStore(_settings(args).database)
    try:
        rows = store.csat()
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['agent'] or '-':<16} {r['queue_id'] or '-':<24} ratings={r['ratings']:<5} average={r['average']}")
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    table = load_table(_settings(args).routing_file)
    r = route(args.lang, args.option, args.region, args.overseas, table)
    print(json.dumps(r.__dict__, ensure_ascii=False, indent=2))
    return 0


def cmd_queues(args: argparse.Namespace) -> int:
    table = load_table(_settings(args).routing_file)
    for q in table.queues.values():
        print(f"{q.id:<24} {q.kind:<18} {','.join(q.languages):<10} {q.zh} / {q.en}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m handoff", description="12367 ONLINE human handoff")
    p.add_argument("--data-dir", type=Path, help="data directory (default: CHAT_DATA_DIR or ./data)")
    sub = p.add_subparsers(dest="command", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)

    agents = sub.add_parser("agents", help="manage agent accounts")
    asub = agents.add_subparsers(dest="action", required=True)
    add = asub.add_parser("add", parents=[common], help="create an agent or supervisor")
    add.add_argument("--username", required=True)
    add.add_argument("--name", help="display name shown to visitors")
    add.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    add.add_argument("--queues", required=True, help="comma list of queue ids, or all (also *)")
    add.add_argument("--langs", required=True, help="comma list of zh, yue, en")
    add.add_argument("--max-chats", type=int, default=3)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    lst = asub.add_parser("list", parents=[common])
    lst.add_argument("--json", action="store_true")
    for name in ("disable", "enable", "unlock"):
        sp = asub.add_parser(name, parents=[common])
        sp.add_argument("username")
    pw = asub.add_parser("passwd", parents=[common], help="set a new password (clears a lockout)")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")

    audit = sub.add_parser("audit", parents=[common], help="read the audit log (oldest first)")
    audit.add_argument("--agent")
    audit.add_argument("--action")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--json", action="store_true")

    csat = sub.add_parser("csat", parents=[common], help="visitor ratings (1-5) per agent and queue")
    csat.add_argument("--json", action="store_true")

    rt = sub.add_parser("route", parents=[common], help="show where a chat would be routed")
    rt.add_argument("--lang", choices=("zh", "en"), required=True)
    rt.add_argument("--option", choices=BUSINESS_OPTIONS)
    rt.add_argument("--region")
    rt.add_argument("--overseas", action="store_true")

    sub.add_parser("queues", parents=[common], help="list the queues of the routing table")

    args = p.parse_args(argv)
    handler = {"agents": cmd_agents, "audit": cmd_audit, "csat": cmd_csat, "route": cmd_route,
               "queues": cmd_queues}
    return handler[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
