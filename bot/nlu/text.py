"""Text normalisation and tokenisation shared by features and entity matching.

``fold`` keeps the string length so entity offsets found in the folded text are valid in the
original: full-width -> half-width, Traditional -> Simplified (OpenCC t2s), lower case.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

from runtime.language import RECENT_CONVERSIONS, to_simplified

# spaCy's tokenizer takes a run without spaces apart one suffix at a time, matching its suffix
# pattern against the whole rest of the run each time: quadratic in the run's length (2,000
# characters of "!?" or of emoji took 0.6 s, a hundred ordinary messages' worth). No word or
# address a visitor writes is this long, so a longer run is cut into pieces of this length first.
LONGEST_RUN = 64
_OVERLONG_RUN = re.compile(rf"(\S{{{LONGEST_RUN}}})(?=\S)")


def _is_punct(word: str) -> bool:
    """spaCy's ``is_punct`` lexical attribute (spacy/lang/lex_attrs.py)."""
    return all(unicodedata.category(ch).startswith("P") for ch in word)


def _nfkc_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


@lru_cache(maxsize=RECENT_CONVERSIONS)  # the pipeline's readers fold one message ~16 times
def fold(text: str) -> str:
    # ASCII is its own NFKC form: most English messages skip the per-character pass.
    narrowed = text if text.isascii() else "".join(map(_nfkc_char, text))
    simplified = to_simplified(narrowed)
    if len(simplified) != len(narrowed):  # a phrase conversion changed length: go char by char
        simplified = "".join(c if len(c := to_simplified(ch)) == 1 else ch for ch in narrowed)
    return simplified.lower()


class Tokenizer:
    """spaCy blank ``zh`` (jieba segmenter) for Chinese text, blank ``en`` otherwise.

    spaCy tokenizers keep internal caches, so calls are serialised by a lock (they take ~0.1 ms);
    Chinese is segmented by spaCy's jieba directly, with the same words (``_zh_words``).
    """

    def __init__(self) -> None:
        # Imported here: spaCy and thinc (tens of MiB) are needed only by the model workers; the
        # server process imports this module for ``fold`` alone.
        from runtime.spacy_light import blank

        self._zh = blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self._en = blank("en")
        self._lock = threading.Lock()

    def words(self, folded: str, has_han: bool) -> list[str]:
        if has_han:
            return self._zh_words(folded)
        with self._lock:
            doc = self._en.make_doc(_OVERLONG_RUN.sub(r"\1 ", folded))
        return [t.text for t in doc if not (t.is_space or t.is_punct)]

    def _zh_words(self, folded: str) -> list[str]:
        """The words of spaCy's jieba tokenizer, read from jieba itself: spaCy's tokens are
        jieba's words, with the whitespace between them as tokens of their own (jieba never
        puts whitespace inside a word), and building its ``Doc`` cost a Chinese message more
        than the segmentation. spaCy's ``is_space`` and ``is_punct`` are ``str.isspace`` and
        "every character is punctuation"."""
        segmenter = self._zh.tokenizer.jieba_seg  # the jieba spaCy set up, and its dictionary
        return [w for w in segmenter.cut(folded, cut_all=False) if w and not w.isspace() and not _is_punct(w)]
