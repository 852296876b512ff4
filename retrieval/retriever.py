"""The public face of retrieval: load (or build) the index, search, and render answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.answers import Answer, Decision, render_answer
from retrieval.build import Built, build_or_load, load_training, resolve_model
from retrieval.corpus import Corpus, CorpusError, Issue, load_corpus
from retrieval.encoder import SentenceEncoder
from retrieval.index import SIGNALS
from retrieval.particulars import Particular, asked, entry_particulars
from retrieval.ranking import ANSWER_AT, IN_SCOPE_AT, Ranker, query_features
from retrieval.schema import Entry
from retrieval.settings import RetrievalSettings
from retrieval.text import TextAnalyzer
from runtime.jieba_dict import serve_dictionary
from runtime.language import Lang, Script, lang_of

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 500  # longer messages are cut: the question is at the start
KNOWN_QUESTION_BOOST = 5.0  # logit margin that puts a verbatim sample question's entry first
KNOWN_QUESTION_CONFIDENCE = 0.99
# A runner-up that states the particular a question asks for (a fee, a length of time, a count)
# leads instead of a leader that states none, when it is among the first this many and has at
# least this share of the leader's.
PARTICULAR_WITHIN = 3
PARTICULAR_SHARE_AT = 0.2


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float  # the fusion model's share for this entry among all entries (sums to 1)
    signals: dict[str, float]  # per-signal score of this entry: dense, bm25, char
    title: dict[str, str]  # {"zh": ..., "en": ...}


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    confidence: float  # calibrated probability that hits[0] is the right entry
    decision: Decision  # answer | clarify (ask which of the top two) | decline (out of scope)
    reason: str | None
    in_scope: float = 0.0  # calibrated probability that the corpus covers the question


def decide(
    p_top: float, p_scope: float, hits: Sequence[Hit], answer_at: float = ANSWER_AT
) -> tuple[Decision, str | None]:
    """Decline what the corpus does not cover; answer when the top hit is probably right;
    otherwise ask the visitor which of the two best entries they mean."""
    if not hits:
        return "decline", "no entries to search"
    if p_scope < IN_SCOPE_AT:
        return "decline", f"out of scope: no entry covers this question (in-scope probability {p_scope:.2f})"
    if p_top >= answer_at or len(hits) < 2:
        return "answer", None
    return "clarify", f"not sure which entry fits: {hits[0].entry_id} or {hits[1].entry_id}"


class Retriever:
    """Thread-safe for search/answer/entry: all state is read-only after load (but for the
    rendered answers it remembers, each the same whoever renders it)."""

    def __init__(self, corpus: Corpus, built: Built, analyzer: TextAnalyzer, embedder: SentenceEncoder) -> None:
        self.corpus = corpus
        self.index = built.index
        self.ranker = built.ranker
        self.index_dir: Path = built.folder
        self.built_now = built.built_now
        self.build_seconds = built.build_seconds
        self.build_cpu_seconds = built.build_cpu_seconds
        self._training = built.training
        self.analyzer = analyzer
        self.embedder = embedder
        self._entries = [corpus.entries[i] for i in self.index.entry_ids]
        self._known = built.known
        self._states = [entry_particulars(e) for e in self._entries]
        # Rendered answers by (entry, language, script): an entry's answer never changes after
        # load, and rendering it (script conversion of the whole text, sentence splitting) took
        # about half a millisecond of every answered message. At most entries x 4 scripts.
        self._answers: dict[tuple[str, Lang, Script | None], Answer] = {}

    @property
    def training(self) -> dict[str, np.ndarray]:
        """The ranker's training queries (evaluation and checks), read on first use."""
        if self._training is None:
            self._training = load_training(self.index_dir)
        return self._training

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, settings: RetrievalSettings, force_rebuild: bool = False, *, build: bool = True) -> Retriever:
        """Load the cached index for this corpus and model, building it (and exporting the encoder,
        and writing jieba's dictionary as a trie: runtime/jieba_dict.py) first if needed, once
        under the build lock; ``build=False`` raises ``NotBuilt`` instead.

        Raises ``CorpusError`` (every problem with file and line) if an entry file is invalid.
        Unresolved ``related`` links are only logged here; ``python -m retrieval check`` fails on them.
        """
        corpus = load_corpus(Path(settings.knowledge_dir))
        file_errors = [i for i in corpus.errors if not i.message.startswith("related ")]
        if not corpus.entries and not file_errors:
            file_errors = [Issue(Path(settings.knowledge_dir), None, "no knowledge entries found")]
        if file_errors:
            raise CorpusError(file_errors)
        for issue in corpus.errors:
            log.warning("%s", issue)
        models = Path(settings.data_dir) / "models"
        serve_dictionary(models, build=build)  # before the analyser's jieba loads it as a dict
        analyzer = TextAnalyzer()
        embedder = SentenceEncoder.load(resolve_model(settings.embedding_model), models,
                                        int8=settings.embedding_int8, build=build)
        built = build_or_load(corpus, Path(settings.data_dir), analyzer, embedder,
                              tuple(settings.embedding_languages), force_rebuild, build=build)
        return cls(corpus, built, analyzer, embedder)

    # -- queries -------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> SearchResult:
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query:
            return SearchResult([], 0.0, "decline", "empty question")
        return self._rank(query, self.query_vectors([query])[0], k, self.ranker)

    def query_vectors(self, queries: list[str]) -> np.ndarray:
        """Embeddings of queries in the model's languages; zeros for the others (not computed)."""
        out = np.zeros((len(queries), self.index.dense.dim), dtype=np.float32)
        rows = [i for i, q in enumerate(queries) if lang_of(q) in self.index.dense_langs]
        if rows:
            out[rows] = self.embedder.encode([queries[i] for i in rows])
        return out

    def _rank(
        self, query: str, vec: np.ndarray, k: int, ranker: Ranker, lang: Lang | None = None,
        held_out: int | None = None, feature_mask: np.ndarray | None = None, use_known: bool = True,
    ) -> SearchResult:
        """Rank with a given ranker; ``feature_mask`` switches signals off (evaluation)."""
        qs = self.index.query_signals(query, self.analyzer, vec, lang)
        scores = self.index.entry_scores(qs, held_out)
        if feature_mask is not None:
            scores = scores * feature_mask
        fused = ranker.fuse(scores, qs.lang)
        qf = query_features(scores, fused, qs.coverage, len(qs.analyzed.tokens), qs.lang)
        p1, p2 = ranker.confidence(qf)
        known = self._known.get(qs.analyzed.normalized) if held_out is None and use_known else None
        if known is not None:
            fused = fused.copy()
            fused[known] = fused.max() + KNOWN_QUESTION_BOOST
            p1, p2 = max(p1, KNOWN_QUESTION_CONFIDENCE), 1.0
        order = np.argsort(-fused)[: max(1, k)]
        signals = self.index.per_signal(scores)
        share = np.exp(fused - fused.max())
        share /= share.sum()
        if known is None:
            order = self._particular_first(order, share, asked(qs.analyzed.normalized))
        hits = [self._hit(int(i), float(share[i]), signals[:, i]) for i in order]
        decision, reason = decide(p1, p2, hits, ranker.answer_at)
        return SearchResult(hits, p1, decision, reason, p2)

    def _particular_first(self, order: np.ndarray, share: np.ndarray, wants: tuple[Particular, ...]
                          ) -> np.ndarray:
        """The first entries, with a close runner-up that states what the question asks for
        ahead of a leader that states none of it (retrieval/particulars.py). The two swap their
        shares too, so that the order of the shares stays the order of the entries."""
        if not wants or len(order) < 2:
            return order
        lead = int(order[0])
        if any(p in self._states[lead] for p in wants):
            return order
        for pos in range(1, min(PARTICULAR_WITHIN, len(order))):
            i = int(order[pos])
            if share[i] >= PARTICULAR_SHARE_AT * share[lead] and any(p in self._states[i] for p in wants):
                order = order.copy()
                order[0], order[pos] = i, lead
                share[lead], share[i] = share[i], share[lead]
                return order
        return order

    def _hit(self, i: int, share: float, signal_scores: np.ndarray) -> Hit:
        entry = self._entries[i]
        return Hit(
            entry_id=entry.id,
            score=share,
            signals={name: round(float(v), 4) for name, v in zip(SIGNALS, signal_scores, strict=True)},
            title={"zh": entry.title.zh, "en": entry.title.en},
        )

    def entry(self, entry_id: str) -> Entry:
        try:
            return self.corpus.entries[entry_id]
        except KeyError:
            raise KeyError(f"no knowledge entry with id {entry_id!r}") from None

    def answer(self, entry_id: str, lang: Lang = "zh", script: Script | None = None) -> Answer:
        """The entry's answer in ``lang``; Chinese in ``script`` (Simplified, Traditional, or HK
        Traditional for Cantonese readers). ``script`` defaults to zh-Hans / en. The same
        ``Answer`` object is returned each time: callers read it, never change it."""
        key = (entry_id, lang, script)
        found = self._answers.get(key)
        if found is None:  # two threads may both render it: the same answer, stored twice
            found = self._answers[key] = render_answer(self.entry(entry_id), self.corpus.entries, self.analyzer,
                                                       lang, script)
        return found
