"""``python -m bot.nlu train|evaluate|parse|rasa-train|rasa-serve``.

train     train (or reuse) the built-in model for nlu_data/ or for --train FILE
evaluate  JSON report: --train FILE --test FILE, or a stratified 80/20 split of nlu_data/
parse     JSON Parse of one message with the configured engine
rasa-train / rasa-serve   the Rasa peer on the same nlu_data/ (cached under <data_dir>/rasa/)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.nlu.dataset import NLUDataError, TrainingData, load_training_data
from bot.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.nlu_data:
        overrides["nlu_data_dir"] = Path(args.nlu_data)
    return Settings(**overrides)


def _train_data(args: argparse.Namespace, settings: Settings) -> TrainingData:
    return load_training_data(getattr(args, "train", None) or settings.nlu_data_dir)


def cmd_train(args: argparse.Namespace) -> int:
    from bot.nlu.builtin import train_or_load, train_seconds

    settings = _settings(args)
    data = _train_data(args, settings)
    engine, trained = train_or_load(data, settings.data_dir / "nlu", settings.embedding_model, force=args.force,
                                    onnx_cache=settings.data_dir / "models",
                                    int8=settings.embedding_int8)
    art = engine.artifact
    folder = settings.data_dir / "nlu" / art.key
    print(json.dumps({"model": art.key, "trained_now": trained, "examples": art.n_examples,
                      "intents": len(art.intent_model.classes), "train_seconds": train_seconds(folder),
                      "oos_threshold": round(engine.threshold, 4), "cache": str(folder)}, ensure_ascii=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from bot.nlu.evaluation import evaluate, holdout_split

    settings = _settings(args)
    if bool(args.train) != bool(args.test):
        raise SystemExit("evaluate: give both --train and --test, or neither (80/20 split of nlu_data)")
    if args.train:
        train, test = load_training_data(args.train), load_training_data(args.test).examples
    else:
        train = load_training_data(settings.nlu_data_dir)
        train.examples, test = holdout_split(train.examples)
    if args.engine == "rasa":
        from bot.nlu.rasa_runtime import RasaEngine, serve_rasa, train_rasa

        model, _ = train_rasa(train, settings.data_dir / "rasa")
        with serve_rasa(model) as (url, _pid):
            engine = RasaEngine(url)
            report = evaluate(engine, test)
            engine.close()
    else:
        from bot.nlu.builtin import train_or_load

        builtin, _ = train_or_load(train, settings.data_dir / "nlu", settings.embedding_model,
                                   onnx_cache=settings.data_dir / "models",
                                   int8=settings.embedding_int8)
        report = evaluate(builtin, test)
        report["oos_threshold"] = builtin.threshold
    report["engine"] = args.engine
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    from bot.nlu import load_engine

    engine = load_engine(_settings(args))
    for text in args.text:
        print(json.dumps(engine.parse(text).to_dict(), ensure_ascii=False))
    return 0


def cmd_rasa_train(args: argparse.Namespace) -> int:
    from bot.nlu.rasa_runtime import train_rasa

    settings = _settings(args)
    model, seconds = train_rasa(_train_data(args, settings), settings.data_dir / "rasa")
    print(json.dumps({"model": str(model), "train_seconds": seconds}))
    return 0


def cmd_rasa_serve(args: argparse.Namespace) -> int:
    import time

    from bot.nlu.rasa_runtime import serve_rasa, train_rasa

    settings = _settings(args)
    model, _ = train_rasa(_train_data(args, settings), settings.data_dir / "rasa")
    with serve_rasa(model, port=args.port) as (url, _pid):
        print(f"Rasa serving {model} at {url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.nlu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", help="run-time data dir (models cached in <data-dir>/nlu/)")
        p.add_argument("--nlu-data", help="training data folder (default: nlu_data/)")
        return p

    p = common(sub.add_parser("train", help="train or reuse the built-in model"))
    p.add_argument("--train", help="Rasa YAML or JSONL file instead of nlu_data/")
    p.add_argument("--test", help="accepted for symmetry with evaluate; ignored by train")
    p.add_argument("--force", action="store_true", help="retrain even if cached")
    p.set_defaults(func=cmd_train)
    p = common(sub.add_parser("evaluate", help="JSON metrics on held-out data"))
    p.add_argument("--train")
    p.add_argument("--test")
    p.add_argument("--engine", choices=["builtin", "rasa"], default="builtin")
    p.set_defaults(func=cmd_evaluate)
    p = common(sub.add_parser("parse", help="parse messages with the configured engine"))
    p.add_argument("text", nargs="+")
    p.set_defaults(func=cmd_parse)
    p = common(sub.add_parser("rasa-train", help="train (or reuse) the Rasa model"))
    p.add_argument("--train")
    p.set_defaults(func=cmd_rasa_train)
    p = common(sub.add_parser("rasa-serve", help="serve the Rasa model over HTTP"))
    p.add_argument("--train")
    p.add_argument("--port", type=int, default=5005)
    p.set_defaults(func=cmd_rasa_serve)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except NLUDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
