"""Text normalisation and tokenisation shared by features and entity matching.

``fold`` keeps the string length so entity offsets found in the folded text are valid in the
original: full-width -> half-width, Traditional -> Simplified (OpenCC t2s), lower case.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

from runtime.language import RECENT_CONVERSIONS, to_simplified


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

    spaCy tokenizers keep internal caches, so calls are serialised by a lock (they take ~0.1 ms).
    """

    def __init__(self) -> None:
        # Imported here: spaCy and thinc (tens of MiB) are needed only by the model workers; the
        # server process imports this module for ``fold`` alone.
        from runtime.spacy_light import blank

        self._zh = blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        self._en = blank("en")
        self._lock = threading.Lock()

    def words(self, folded: str, has_han: bool) -> list[str]:
        nlp = self._zh if has_han else self._en
        with self._lock:
            doc = nlp.make_doc(folded)
        return [t.text for t in doc if not (t.is_space or t.is_punct)]
