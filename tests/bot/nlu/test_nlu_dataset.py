import json
import re

import pytest

from bot.nlu import ENTITY_TYPES, INTENTS, Example, NLUDataError, TrainingData, load_training_data
from bot.nlu.dataset import parse_annotated
from bot.nlu.rasa_runtime import to_rasa_yaml
from runtime.language_id import detect_language


def test_nlu_data_has_every_fixed_intent_in_every_script(nlu_data):
    assert set(nlu_data.intents) == set(INTENTS)
    for intent in INTENTS:
        examples = [e for e in nlu_data.examples if e.intent == intent]
        assert len(examples) >= 35, intent
        scripts = {detect_language(e.text).script for e in examples}
        assert {"zh-Hans", "zh-Hant", "en", "yue", "mixed"} <= scripts, (intent, scripts)


def test_nlu_data_uses_only_fixed_entity_names_and_normalised_values(nlu_data):
    for example in nlu_data.examples:
        for ent in example.entities:
            assert ent.type in ENTITY_TYPES, example
            assert example.text[ent.start:ent.end] == ent.text
            if ent.type == "visa_type":
                assert re.fullmatch(r"[A-Z]\d?", ent.value), example
            if ent.type == "language":
                assert ent.value in ("zh", "en"), example
    assert nlu_data.synonyms["guangzhou"] == "广州"
    assert nlu_data.synonyms["廣州"] == "广州"
    assert "上海" in nlu_data.lookups["city"]


def test_annotations():
    text, ents = parse_annotated('去[廣州]{"entity": "city", "value": "广州"}办[Z签证](visa_type:Z)')
    assert text == "去廣州办Z签证"
    assert [(e.type, e.value, e.start, e.end) for e in ents] == [("city", "广州", 1, 3), ("visa_type", "Z", 4, 7)]


def _write(tmp_path, body):
    path = tmp_path / "bad.yml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ('version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n    - bad: [\n', 6, "invalid YAML"),
        ('version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n      hello\n', 6, "must start with '- '"),
        ('version: "3.1"\nnlu:\n  - intent: greet\n', 3, "no 'examples'"),
        ('version: "3.1"\nnlu:\n  - examples: |\n      - hi\n', 3, "exactly one of"),
        ('version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n      - hi\n      - go to [Beijing(city)\n', 6, "unbalanced"),
        ('version: "3.1"\nnlu:\n  - regex: passport_number\n    examples: |\n      - ([A-Z\n', 5, "regex"),
        ('version: "3.1"\nnlu: {intent: greet}\n', 2, "must be a list"),
    ],
)
def test_malformed_yaml_names_file_and_line(tmp_path, body, line, words):
    path = _write(tmp_path, body)
    with pytest.raises(NLUDataError) as err:
        load_training_data(path)
    assert str(err.value).startswith(f"{path}:{line}:"), str(err.value)
    assert words in str(err.value)


def test_jsonl_with_oos_and_bad_line(tmp_path):
    good = tmp_path / "d.jsonl"
    good.write_text('{"text": "hi", "intent": "greet"}\n\n{"text": "weather?", "intent": "oos"}\n', encoding="utf-8")
    assert [e.intent for e in load_training_data(good).examples] == ["greet", "out_of_scope"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "intent": "greet"}\n{"text": "no intent"}\n', encoding="utf-8")
    with pytest.raises(NLUDataError, match=r"bad\.jsonl:2:"):
        load_training_data(bad)


def test_rasa_yaml_round_trip(nlu_data, tmp_path):
    path = tmp_path / "round.yml"
    path.write_text(to_rasa_yaml(nlu_data), encoding="utf-8")
    again = load_training_data(path)
    assert again.examples == nlu_data.examples
    assert again.synonyms == nlu_data.synonyms
    json.dumps(again.regexes)


def test_intent_names_with_a_slash_survive_the_round_trip_through_rasa():
    # Rasa would read "alarm/set_alarm" as retrieval intent "alarm" and never predict the full name.
    from bot.nlu.rasa_runtime import RasaEngine

    data = TrainingData(examples=[Example("wake me up at 7", "alarm/set_alarm"), Example("hi", "greet")])
    text = to_rasa_yaml(data)
    assert "alarm/set_alarm" not in text and "- intent: greet" in text
    rasa_name = next(line.split(": ", 1)[1] for line in text.splitlines() if "alarm" in line and "intent" in line)
    body = {"intent": {"name": rasa_name, "confidence": 0.9}, "intent_ranking": [{"name": rasa_name, "confidence": 0.9}]}
    parse = RasaEngine.to_parse("wake me up", body)
    assert parse.intent == "alarm/set_alarm" and parse.ranking == [("alarm/set_alarm", 0.9)]
