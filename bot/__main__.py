"""Command line: ``python -m bot serve | ask | chat | purge | documents revoke CODE``."""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.frames import Reply
from bot.settings import Settings
from runtime.language import output_script


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k, v in {
        "host": getattr(args, "host", None), "port": getattr(args, "port", None),
        "data_dir": getattr(args, "data_dir", None),
    }.items() if v is not None}
    return Settings(**overrides)


def _pipeline(settings: Settings):
    from bot.worker import load_pipeline
    from handoff.routing import load_table

    regions = [region.zh for region in load_table(settings.routing_file).regions]
    return load_pipeline(settings, regions)


def serve(args: argparse.Namespace) -> int:
    from bot import logs
    from bot.server import ChatServer
    from services.holiday_calendar import CalendarError

    settings = _settings(args)
    logs.configure(settings.log_level)
    # Every visitor holds a socket: allow as many as the system's hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        server = ChatServer(settings)
    except CalendarError as error:  # an operator's entry: say which, rather than a traceback
        print(f"cannot start: {error}", file=sys.stderr)
        return 2
    asyncio.run(server.run())
    return 0


def ask(args: argparse.Namespace) -> int:
    """Print the reply frames the widget would get for one message, from the same pipeline."""
    from bot.dialogue import Context

    pipeline = _pipeline(_settings(args))
    ctx = Context(lang=args.lang or "zh", lang_locked=args.lang is not None,
                  script=output_script(args.lang or "zh", None))
    outcome = pipeline.respond(ctx, args.text)
    result = {"nlu": outcome.nlu, "replies": [reply.to_wire() for reply in outcome.replies],
              "escalate": outcome.escalate.__dict__ if outcome.escalate else None}
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def chat(args: argparse.Namespace) -> int:
    """An interactive terminal chat with the bot (no server needed)."""
    from bot.dialogue import Context
    from bot.pipeline import greet

    pipeline = _pipeline(_settings(args))
    ctx = Context()
    for reply in greet(ctx):
        _show(reply)
    piped = not sys.stdin.isatty()  # a script or a pipe: echo each line so the output reads as a transcript
    while True:
        try:
            line = input("" if piped else "> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if line in ("/quit", "/exit"):
            return 0
        if not line:
            continue
        if piped:
            print(f"you: {line}")
        outcome = pipeline.respond(ctx, line)
        ctx = outcome.context
        for reply in outcome.replies:
            _show(reply)
        if outcome.escalate:
            print(f"[handoff to a person: {outcome.escalate.reason}, "
                  f"option={outcome.escalate.business_option}, region={outcome.escalate.region}]")


def purge(args: argparse.Namespace) -> int:
    """Remove personal data past its retention now (beside a running server too) and print how
    many rows of each kind were, or in a dry run would be, purged."""
    from bot import retention

    settings = _settings(args)
    policy = retention.Policy.from_settings(settings)
    now = args.as_of if args.as_of is not None else time.time()
    report = retention.purge(settings.database, policy, now=now, dry_run=args.dry_run)
    print(retention.describe(report, policy, now=now, dry_run=args.dry_run))
    if args.vacuum and not args.dry_run:
        retention.rebuild(settings.database)
        print("tables rebuilt (VACUUM; on PostgreSQL VACUUM FULL)")
    return 0


def documents(args: argparse.Namespace) -> int:
    """An operator revokes a passport e-document by its verification code: its verify page and
    a check of the file say "revoked" from then on. Not an HTTP route: nothing authenticates one."""
    from services.documents import Documents
    from services.signing import signing_key
    from storage.backends import open_database

    settings = _settings(args)
    code = args.code.strip().upper()
    db = open_database(settings.database)
    try:
        docs = Documents(db, signing_key(settings.data_dir))
        if docs.verify_code(code).status == "unknown":
            print(f"no e-document with the code {code}", file=sys.stderr)
            return 1
        if not docs.revoke(code, time.time()):
            print(f"{code} was already revoked")
            return 0
    finally:
        db.close()
    print(f"{code} revoked")
    return 0


def _moment(text: str) -> float:
    """An ISO 8601 date or time (UTC unless it says otherwise) as a Unix time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _show(reply: Reply) -> None:
    print(f"bot: {reply.text}")
    for source in reply.sources:
        print(f"     source: {source.get('title')} {source.get('url') or ''}")
    if reply.quick_replies:
        print("     [" + " | ".join(q["label"] for q in reply.quick_replies) + "]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="12367 ONLINE chat server")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, helptext in (("serve", serve, "run the websocket/HTTP server"),
                                 ("ask", ask, "answer one message and print the reply JSON"),
                                 ("chat", chat, "chat with the bot in the terminal"),
                                 ("purge", purge, "remove personal data past its retention"),
                                 ("documents", documents, "revoke a passport e-document")):
        sub = commands.add_parser(name, help=helptext)
        sub.set_defaults(func=func)
        sub.add_argument("--data-dir", type=Path, help="store and caches (default ./data)")
        if name == "serve":
            sub.add_argument("--host", help="address to bind (default 127.0.0.1)")
            sub.add_argument("--port", type=int, help="port (default 8367)")
        if name == "ask":
            sub.add_argument("text")
            sub.add_argument("--lang", choices=("zh", "en"))
        if name == "purge":
            sub.add_argument("--dry-run", action="store_true",
                             help="count what would be purged, change nothing")
            sub.add_argument("--as-of", type=_moment, metavar="WHEN",
                             help="purge as if it were this ISO 8601 time (default: now)")
            sub.add_argument("--vacuum", action="store_true",
                             help="then rebuild the tables (holds their locks while it runs)")
        if name == "documents":
            sub.add_argument("action", choices=("revoke",))
            sub.add_argument("code", help="the verification code printed on the document")
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
