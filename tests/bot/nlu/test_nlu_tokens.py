"""The NLU's Chinese words are spaCy's: they are read from jieba directly (bot/nlu/text.py), and
the model was trained on spaCy's tokens, so any difference would change its features."""

from __future__ import annotations

import random
import unicodedata

import pytest

from bot.nlu.dataset import TrainingData
from bot.nlu.text import Tokenizer, fold

# Whitespace of every kind, punctuation, symbols, runs of spaces, a Windows line end.
TRICKY = ["", " ", "  签证  延期 ", "签证\t延期\r\n怎么办\u3000？", "「护照」丢了……怎么办？！", "12367热线@几点#上班",
          "visa 签证 extension", "¥200，多少钱?", "—— 签证 ——", "\xa0签证\xa0", "签证。。。", "a.b.c 签证"]


def _spacy_words(tokenizer: Tokenizer, folded: str) -> list[str]:
    doc = tokenizer._zh.make_doc(folded)  # what words() returned before it read jieba itself
    return [t.text for t in doc if not (t.is_space or t.is_punct)]


def _random_texts(n: int) -> list[str]:
    rng = random.Random(0)
    marks = [chr(c) for c in range(0x20, 0x3100) if unicodedata.category(chr(c))[0] in "PSZ"] + ["\t", "\n", "\r\n"]
    base = "签证延期怎么办外国人护照丢了广州深圳12367abc"
    return ["".join(rng.choice(marks) if rng.random() < 0.4 else rng.choice(base) for _ in range(rng.randint(0, 14)))
            for _ in range(n)]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def test_chinese_words_are_spacy_tokens(tokenizer: Tokenizer, nlu_data: TrainingData) -> None:
    texts = [*TRICKY, *(e.text for e in nlu_data.examples), *_random_texts(3000)]
    for text in texts:
        folded = fold(text)
        assert tokenizer.words(folded, True) == _spacy_words(tokenizer, folded), repr(folded)
