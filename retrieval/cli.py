"""python -m retrieval check | build | search | evaluate"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from retrieval.settings import RetrievalSettings

# The embedding model is always loaded from disk: never reach for the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _settings(args: argparse.Namespace) -> RetrievalSettings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "knowledge_dir", None):
        overrides["knowledge_dir"] = Path(args.knowledge_dir)
    if getattr(args, "model", None):
        overrides["embedding_model"] = args.model
    return RetrievalSettings(**overrides)


def _load(args: argparse.Namespace, force: bool = False):  # noqa: ANN202
    from retrieval.retriever import Retriever

    return Retriever.load(_settings(args), force_rebuild=force)


def cmd_check(args: argparse.Namespace) -> int:
    from retrieval.checks import SELF_RETRIEVAL_MIN, due_for_review, format_issues, self_retrieval
    from retrieval.corpus import CorpusError, load_corpus

    settings = _settings(args)
    corpus = load_corpus(Path(settings.knowledge_dir))
    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    due = due_for_review(corpus, today)
    if args.due:
        for line in due:
            print(line)
        print(f"{len(due)} of {len(corpus.entries)} entries past their review date ({today})")
        return 1 if due else 0
    lines = format_issues(corpus)
    for line in lines:
        print(line)
    errors = len(corpus.errors)
    print(f"{len(corpus.entries)} entries loaded, {errors} error(s), {len(lines) - errors} warning(s)")
    if due:
        print(f"{len(due)} entries past their review date: `check --due` lists them")
    if errors or not corpus.entries:
        print("check FAILED: fix the errors above (file:line)")
        return 1
    try:
        retriever = _load(args)
    except CorpusError as exc:
        print(exc)
        return 1
    result = self_retrieval(retriever)
    for miss in result.misses:
        print(f"{miss.where}: self-retrieval miss: {miss.question!r} ({miss.entry_id}) -> {miss.got} came first")
    print(
        f"self-retrieval: {result.total - len(result.misses)}/{result.total} = {result.rate:.1%} "
        f"(gate {SELF_RETRIEVAL_MIN:.0%}); held out from the index: {result.heldout_rate:.1%} "
        f"of {result.heldout_total}"
    )
    report = retriever.ranker.report
    if report:
        print("confidence model, cross-validated: " + ", ".join(f"{k}={v:.3f}" for k, v in report.items()))
    if result.rate < SELF_RETRIEVAL_MIN:
        print("check FAILED: self-retrieval below the gate")
        return 1
    print("check OK")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    retriever = _load(args, force=args.force)
    what = "built" if retriever.built_now else "cached"
    print(
        f"index {what}: {retriever.index_dir} ({len(retriever.index.entry_ids)} entries, "
        f"{len(retriever.index.units)} units; build {retriever.build_seconds:.1f} s, "
        f"this run {time.perf_counter() - start:.1f} s)"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    retriever = _load(args)
    start = time.perf_counter()
    res = retriever.search(args.query, k=args.k)
    ms = (time.perf_counter() - start) * 1000
    if args.json:
        data = {
            "query": args.query,
            "decision": res.decision,
            "confidence": res.confidence,
            "reason": res.reason,
            "ms": ms,
            "hits": [vars(h) for h in res.hits],
        }
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(f"decision: {res.decision}  confidence: {res.confidence:.3f}  ({ms:.1f} ms)")
    if res.reason:
        print(f"reason: {res.reason}")
    for rank, hit in enumerate(res.hits, 1):
        signals = "  ".join(f"{k}={v:.3f}" for k, v in hit.signals.items())
        print(f"{rank}. {hit.entry_id:<40} score={hit.score:.3f}  {signals}")
        print(f"   {hit.title['zh']} / {hit.title['en']}")
    return 0


def _pct(row: dict[str, float], name: str) -> str:
    return f"{row[name]:.1%}" if name in row else "-"


def cmd_evaluate(args: argparse.Namespace) -> int:
    from retrieval.evaluate import DEV_DIR, evaluate, load_dev

    retriever = _load(args)
    rows = load_dev(Path(args.dev_dir) if args.dev_dir else DEV_DIR)
    report = evaluate(retriever, rows)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    print(f"dev rows: {report['rows']}")
    if report["skipped_unknown_expected"]:
        print(f"skipped rows whose expected entry does not exist: {report['skipped_unknown_expected']}")
    header = (
        f"{'variant':<8} {'slice':<16} {'n':>4} {'R@1':>6} {'R@3':>6} {'MRR':>6} {'f.decl':>7} "
        f"{'answ':>6} {'prec':>6} {'OOS n':>6} {'OOS rej':>8}"
    )
    print(header)
    print("(f.decl: in-scope declined; answ: in-scope answered outright, prec: of those, right; the rest are clarify)")
    for variant, slices in report["variants"].items():
        for key, s in slices.items():
            print(
                f"{variant:<8} {key:<16} {s.get('n', 0):>4} {_pct(s, 'recall@1'):>6} {_pct(s, 'recall@3'):>6} "
                f"{s.get('mrr', 0):>6.3f} {_pct(s, 'false_decline'):>7} {_pct(s, 'answered'):>6} "
                f"{_pct(s, 'answer_precision'):>6} {s.get('oos_n', 0):>6} {_pct(s, 'oos_rejection'):>8}"
            )
    if args.misses:
        for miss in report["hybrid_misses"]:
            print(f"miss: {miss['q']!r} expected {miss['expected']} got {miss['got']} ({miss['decision']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval", description=__doc__)
    parser.add_argument("--knowledge-dir", help="corpus folder (default: Settings.knowledge_dir)")
    parser.add_argument("--data-dir", help="where the index cache lives (default: Settings.data_dir)")
    parser.add_argument("--model", help="sentence-transformers model name or folder")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate the corpus and test self-retrieval")
    p.add_argument("--due", action="store_true", help="only list entries past their review_by date (exit 1 if any)")
    p.add_argument("--today", help="YYYY-MM-DD to compare review dates with (default: today)")
    p = sub.add_parser("build", help="build (or load the cached) index")
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    p = sub.add_parser("search", help="search the corpus")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("evaluate", help="recall@1/@3, MRR and declines on the dev set")
    p.add_argument("--dev-dir", help="folder of *.jsonl dev rows")
    p.add_argument("--json", action="store_true")
    p.add_argument("--misses", action="store_true", help="list the hybrid misses")
    # Options are accepted after the subcommand too (`build --data-dir D`).
    for action in list(sub.choices.values()):
        action.add_argument("--knowledge-dir", default=argparse.SUPPRESS)
        action.add_argument("--data-dir", default=argparse.SUPPRESS)
        action.add_argument("--model", default=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("jieba", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from retrieval.corpus import CorpusError

    commands = {"check": cmd_check, "build": cmd_build, "search": cmd_search, "evaluate": cmd_evaluate}
    try:
        return commands[args.command](args)
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
