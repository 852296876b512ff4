"""The analyser's jieba reads the default dictionary through an overlay: the same words as a
private copy with the domain words added, and the default dictionary (the NLU's) untouched."""

from __future__ import annotations

from pathlib import Path

import jieba

from retrieval import lexicon
from retrieval.corpus import load_corpus
from retrieval.text import domain_jieba

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def _private_copy() -> jieba.Tokenizer:
    """How the analyser made its tokenizer before sharing the dictionary."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in lexicon.JIEBA_WORDS:
        tokenizer.add_word(word, freq=20000)
    return tokenizer


def test_shared_dictionary_cuts_like_a_private_copy() -> None:
    corpus = load_corpus(KNOWLEDGE)
    texts = [q for entry in corpus.entries.values() for q in entry.questions.zh]
    texts += [entry.answer.zh.short + entry.answer.zh.details for entry in corpus.entries.values()]
    shared, private = domain_jieba(), _private_copy()
    assert len(texts) > 500
    for text in texts:
        assert list(shared.cut_for_search(text)) == list(private.cut_for_search(text)), text


def test_default_dictionary_is_untouched() -> None:
    jieba.initialize()
    before = (jieba.dt.total, len(jieba.dt.FREQ), [jieba.dt.FREQ.get(w) for w in lexicon.JIEBA_WORDS])
    domain_jieba()
    assert (jieba.dt.total, len(jieba.dt.FREQ), [jieba.dt.FREQ.get(w) for w in lexicon.JIEBA_WORDS]) == before


def test_a_separated_expiry_word_is_read_as_the_word() -> None:
    """超咗期 / 過咗期 / 到了期 split 超期, 过期, 到期 with 了; the analyser joins them again so
    that a Cantonese overstay meets the entries' 超期 rather than an unknown word."""
    from retrieval.text import TextAnalyzer

    analyzer = TextAnalyzer()
    assert "超期" in analyzer.analyze("超咗期留喺大陆会唔会俾人拉？", "zh").tokens
    assert "过期" in analyzer.analyze("簽證過咗期五日", "zh").tokens
    assert "到期" in analyzer.analyze("签证到了期怎么办", "zh").tokens
