"""Real predictions from a real model trained on nlu_data/ (no mocks)."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.nlu import OUT_OF_SCOPE, Parse, load_engine
from bot.nlu.builtin import train_or_load
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
NLU_DATA = ROOT / "nlu_data"


@pytest.mark.parametrize(
    ("text", "intent", "script"),
    [
        ("你好", "greet", "zh-Hans"),
        ("hello there", "greet", "en"),
        ("我想转人工", "request_human", "zh-Hans"),
        ("I want to talk to a real person", "request_human", "en"),
        ("我想同真人傾偈", "request_human", "yue"),
        ("我要預約辦理護照", "service_appointment", "zh-Hant"),
        ("can I book an appointment for next week", "service_appointment", "en"),
        ("我的签证过期了怎么办", "immigration_question", "zh-Hans"),
        ("我個簽證過咗期點算", "immigration_question", "yue"),
        ("can I stay longer on visa-free transit", "immigration_question", "en"),
        ("我的passport丢了怎么办", "immigration_question", "mixed"),
        ("谢谢你", "thanks", "zh-Hans"),
        ("English please", "choose_language", "en"),
        ("广州出入境办证大厅在哪里", "service_office_directory", "zh-Hans"),
        ("查询受理编号310115202405120001的办理进度", "service_progress", "zh-Hans"),
    ],
)
def test_intents_across_languages_and_scripts(engine, text, intent, script):
    parse = engine.parse(text)
    assert isinstance(parse, Parse)
    assert (parse.intent, parse.lang.script) == (intent, script), parse.ranking
    assert not parse.is_oos
    assert parse.ranking[0][0] == intent and 0 < parse.confidence <= 1


@pytest.mark.parametrize(
    "text",
    ["明天北京会下雨吗", "what's the price of bitcoin today", "怎么交个人所得税", "how do I renew my driving licence",
     "推荐一家好吃的火锅店", "今日天氣點呀"],
)
def test_unrelated_messages_are_out_of_scope(engine, text):
    parse = engine.parse(text)
    assert parse.is_oos and parse.intent == OUT_OF_SCOPE, parse.ranking


@pytest.mark.parametrize("text", ["广东", "廣東", "Guangdong", "广东省", "湖南", "Yunnan", "我在广东"])
def test_a_place_named_alone_is_a_region_answer_not_a_language_choice(engine, text):
    # 广东 shares its characters with 广东话 (Cantonese, a language choice); the region alone asks
    # about the offices there, and the dialogue keeps it as the visitor's region.
    parse = engine.parse(text)
    assert parse.intent == "service_office_directory", parse.ranking
    assert {e.type for e in parse.entities} & {"province", "city"}


@pytest.mark.parametrize("text", ["广东话", "講廣東話", "用粤语"])
def test_cantonese_is_still_a_language_choice(engine, text):
    assert engine.parse(text).intent == "choose_language", engine.parse(text).ranking


def _entities(engine, text):
    return {(e.type, e.value) for e in engine.parse(text).entities}


def test_entities(engine):
    assert ("city", "广州") in _entities(engine, "廣州出入境喺邊度")
    assert ("city", "上海") in _entities(engine, "exit-entry office in Shanghai")
    assert ("province", "广东") in _entities(engine, "广东省有哪些办证点")
    assert ("visa_type", "Z") in _entities(engine, "我想办Z字签证")
    assert ("visa_type", "Q2") in _entities(engine, "can I extend a q2 visa")
    assert ("passport_number", "E12345678") in _entities(engine, "我的护照号码是E12345678")
    assert ("passport_number", "EA1234567") in _entities(engine, "passport no. EA1234567")
    assert ("application_number", "310115202405120001") in _entities(engine, "受理编号：310115202405120001")
    assert ("date", "2025-03-05") in _entities(engine, "预约2025年3月5日")
    assert ("date", "2025-03-05") in _entities(engine, "book for 5 March 2025")
    assert ("nationality", "美国") in _entities(engine, "Can Americans use visa-free transit?")
    assert ("document_type", "回乡证") in _entities(engine, "回鄉證過期咗點辦")
    assert ("language", "en") in _entities(engine, "English please")
    spans = engine.parse("我在廣州").entities
    assert [(e.text, e.start, e.end) for e in spans] == [("廣州", 2, 4)]


def test_lookup_forms_longest_first_and_whole_words(engine):
    spans = [(e.text, e.start, e.end) for e in engine.parse("乌鲁木齐市和Urumqi的出入境").entities]
    assert spans == [("乌鲁木齐市", 0, 5), ("Urumqi", 6, 12)]  # not 乌鲁木齐 alone
    assert not _entities(engine, "shanghaied in ukraine")  # no "shanghai", no "uk" inside words
    assert ("city", "上海") in _entities(engine, "to shanghai, then beijing.")


@pytest.mark.parametrize("text", ["Which cities are covered by the 240-hour visa-free transit?",
                                  "240小时过境免签适用哪些城市", "240小時過境免簽可以去邊度"])
def test_visa_free_transit_is_not_a_visa_letter(engine, text):
    # "240-hour" once taught the extractor that the whole phrase was a G visa.
    assert not [e for e in engine.parse(text).entities if e.type == "visa_type"]


def test_oos_threshold_is_calibrated_and_stored(engine):
    cal = engine.artifact.intent_model.calibration
    assert 0 < cal.threshold < 1 and "macro-F1" in cal.criterion


def test_cache_is_reused_and_parse_is_thread_safe(engine, nlu_data, tmp_path):
    first, trained = train_or_load(nlu_data, tmp_path, None)
    assert trained
    second, trained_again = train_or_load(nlu_data, tmp_path, None)
    assert not trained_again and second.artifact.key == first.artifact.key
    texts = ["我想转人工", "book an appointment", "簽證過期點算", "what's the weather"] * 25
    expected = [engine.parse(t).intent for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda t: engine.parse(t).intent, texts)) == expected


def test_load_engine_trains_into_data_dir(tmp_path):
    engine = load_engine(Settings(data_dir=tmp_path, nlu_data_dir=NLU_DATA))
    assert engine.parse("转人工").intent == "request_human"
    assert list((tmp_path / "nlu").glob("*/model.joblib"))


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "bot.nlu", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_parse_and_evaluate_on_own_files(tmp_path):
    train = tmp_path / "train.jsonl"
    test = tmp_path / "test.jsonl"
    rows = [("hi", "greet"), ("hello", "greet"), ("hey there", "greet"), ("good morning", "greet"),
            ("bye", "goodbye"), ("goodbye", "goodbye"), ("see you", "goodbye"), ("see you later", "goodbye"),
            ("weather today", "oos"), ("stock price", "oos"), ("play music", "oos"), ("tell a joke", "oos")]
    train.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows), encoding="utf-8")
    test.write_text('{"text": "hello!", "intent": "greet"}\n{"text": "bye bye", "intent": "goodbye"}\n'
                    '{"text": "weather tomorrow", "intent": "oos"}\n', encoding="utf-8")
    out = _cli("evaluate", "--data-dir", str(tmp_path), "--train", str(train), "--test", str(test))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert {"accuracy", "macro_f1", "per_intent", "oos_recall", "oos_precision", "latency_ms"} <= set(report)
    out = _cli("parse", "--data-dir", str(tmp_path), "我想转人工")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["intent"] == "request_human"
    bad = tmp_path / "bad.yml"
    bad.write_text("nlu:\n  - intent: x\n    examples: [\n", encoding="utf-8")
    out = _cli("train", "--data-dir", str(tmp_path), "--train", str(bad))
    assert out.returncode == 2 and f"{bad}:" in out.stderr
