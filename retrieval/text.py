"""Text normalisation and tokenisation for the lexical signals, per language.

Chinese: Cantonese function words → Mandarin, Traditional/HK → Simplified (OpenCC), jieba
(search mode) with domain words; Latin words inside Chinese get their Chinese glossary term.
English: spaCy's blank "en" tokenizer, lowercase, synonyms, Snowball stemming (PyStemmer).
Both sides of the index go through the same analyser, so they stay consistent.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import jieba
import Stemmer

from retrieval import lexicon
from runtime.language import Lang, Script, converter, lang_of, to_script

_LATIN_WORD = re.compile(r"^[a-z0-9][a-z0-9'.+-]*$")
_WORD = re.compile(r"\w", re.UNICODE)
_SPACE = re.compile(r"\s+")
# spaCy's tokenizer takes punctuation off a run one character at a time, matching its suffix
# pattern against the whole rest of the run each time: quadratic in the run's length (2,000
# characters of "!?" took ~100 ms). Tokens without a word character are dropped below, so a run
# of punctuation or symbols is cut into pieces first: the words are the same.
_SYMBOL_RUN = re.compile(r"([^\w\s]{8})(?=[^\w\s])")


def _replace_all(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


class FreqOverlay(dict[str, int]):
    """Word frequencies: the domain words (and their prefixes) in this dict, the default
    dictionary behind it. What a ``ChainMap`` of the two does for jieba's lookups (``in``, ``[]``,
    ``get``), without its generator per lookup: a third of a Chinese query's segmentation."""

    def __init__(self, base: Mapping[str, int]) -> None:
        super().__init__()
        self.base = base

    def __missing__(self, word: str) -> int:
        return self.base[word]

    def __contains__(self, word: object) -> bool:
        return dict.__contains__(self, word) or word in self.base

    def get(self, word: str, default: int | None = None) -> int | None:  # type: ignore[override]
        found = dict.get(self, word)
        return found if found is not None else self.base.get(word, default)


def domain_jieba() -> jieba.Tokenizer:
    """jieba with the domain words, reading the default dictionary through an overlay: the NLU's
    spaCy Chinese tokenizer uses that dictionary (``jieba.dt``) as it is, and a second copy of its
    ~350k words would cost a model worker about 65 MiB and 0.6 s. The domain words and the
    prefixes jieba adds with them go into the overlay, so the default dictionary is unchanged."""
    jieba.initialize()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = FreqOverlay(jieba.dt.FREQ)
    tokenizer.total = jieba.dt.total
    tokenizer.initialized = True  # what initialize() would have loaded is in place
    for word in lexicon.JIEBA_WORDS:
        tokenizer.add_word(word, freq=20000)
    return tokenizer


@dataclass(frozen=True)
class Analyzed:
    lang: Lang
    normalized: str  # for the character n-gram signal
    tokens: list[str]  # for BM25


class TextAnalyzer:
    """Stateless after construction; safe to share between threads."""

    def __init__(self) -> None:
        # Imported here: spaCy and thinc (tens of MiB) are needed only by the processes that
        # tokenise, not by the server process that imports this module on its way.
        from runtime.spacy_light import blank

        self._en = blank("en").tokenizer
        self._en_lock = threading.Lock()  # spaCy's tokenizer updates its cache while tokenising
        self._stem_local = threading.local()  # PyStemmer objects are not thread-safe
        self._jieba = domain_jieba()
        self._before_t2s = [(re.compile(p), r) for p, r in lexicon.CANTONESE_BEFORE_T2S]
        self._zh_pairs = lexicon.CANTONESE_TO_MANDARIN + lexicon.MANDARIN_SYNONYMS

    # -- scripts -------------------------------------------------------------------------------
    def to_script(self, text: str, script: Script) -> str:
        return to_script(text, script)

    # -- analysis ------------------------------------------------------------------------------
    def analyze(self, text: str, lang: Lang | None = None) -> Analyzed:
        lang = lang or lang_of(text)
        if lang == "zh":
            norm = self.normalize_zh(text)
            return Analyzed("zh", norm, self._zh_tokens(norm))
        norm = self.normalize_en(text)
        return Analyzed("en", norm, self._en_tokens(norm))

    def normalize_zh(self, text: str) -> str:
        for pattern, repl in self._before_t2s:
            text = pattern.sub(repl, text)
        text = converter("hk2s").convert(text.lower())  # Hong Kong forms too
        text = _replace_all(text, self._zh_pairs)
        return _SPACE.sub(" ", text).strip()

    def normalize_en(self, text: str) -> str:
        text = _SPACE.sub(" ", text.lower()).strip()
        text = text.replace("’", "'")
        return _replace_all(text, lexicon.ENGLISH_PHRASES)

    def _stemmer(self) -> Stemmer.Stemmer:
        stemmer = getattr(self._stem_local, "stemmer", None)
        if stemmer is None:
            stemmer = self._stem_local.stemmer = Stemmer.Stemmer("english")
        return stemmer

    def _en_words(self, text: str) -> list[str]:
        with self._en_lock:
            raw = [tok.text for tok in self._en(_SYMBOL_RUN.sub(r"\1 ", text))]
        words = []
        for word in raw:
            if not _WORD.search(word) or word in lexicon.ENGLISH_STOPWORDS:
                continue
            word = lexicon.ENGLISH_SYNONYMS.get(word, word)
            words.append(word)
            if word in lexicon.DEMONYMS:
                words.append(lexicon.DEMONYMS[word])
        return words

    def _en_tokens(self, text: str) -> list[str]:
        return self._stemmer().stemWords(self._en_words(text))

    def _zh_tokens(self, text: str) -> list[str]:
        tokens: list[str] = []
        for tok in self._jieba.cut_for_search(text):
            tok = tok.strip()
            if not tok or not _WORD.search(tok) or tok in lexicon.CHINESE_STOPWORDS:
                continue
            if _LATIN_WORD.match(tok):
                tokens.extend(self._latin_in_zh(tok))
            else:
                tokens.append(tok)
        return tokens

    def _latin_in_zh(self, word: str) -> list[str]:
        out: list[str] = []
        for w in self._en_words(word):
            out.extend(lexicon.GLOSSARY_EN_ZH.get(w, ()))
            out.append(self._stemmer().stemWord(w))
        return out


class MemoAnalyzer(TextAnalyzer):
    """A TextAnalyzer that remembers its analyses: an index build analyses the same sample
    questions and entry lines many times (once per fold). Build-time only, one thread."""

    def __init__(self, base: TextAnalyzer) -> None:
        self.__dict__.update(base.__dict__)
        self._memo: dict[tuple[str, Lang | None], Analyzed] = {}

    def analyze(self, text: str, lang: Lang | None = None) -> Analyzed:
        key = (text, lang)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = super().analyze(text, lang)
        return found

    def analyze_lines(self, lines: list[str], lang: Lang) -> Analyzed:
        """A document of many lines, analysed line by line (each line is remembered)."""
        parts = [self.analyze(line, lang) for line in lines if line.strip()]
        return Analyzed(lang, " ".join(p.normalized for p in parts), [t for p in parts for t in p.tokens])
