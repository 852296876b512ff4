"""Fusion of the signals into one ranking, and a calibrated confidence with a decision.

Both are logistic regressions with separate weights per query language (the dense model may be
English-only, so Chinese leans on the lexical signals). They are fitted at build time on sample
questions held out from the index (each scored against the rest of the corpus) plus out-of-scope
questions from ``out_of_scope_train.yaml``: never on the dev set.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from retrieval.index import HybridIndex
from runtime.language import Lang

N_CANDIDATES = 10  # negatives per training query for the fusion model
ANSWER_AT = 0.5  # lowest answer threshold on P(top hit is right); raised at build time until
TARGET_PRECISION = 0.9  # ... answers given to held-out questions are right this often
IN_SCOPE_AT = 0.5  # calibrated probability that the corpus covers the question


def _lang_block(x: np.ndarray, lang: Lang) -> np.ndarray:
    """Put features in the block of their language so each language gets its own weights."""
    zeros = np.zeros_like(x)
    return np.concatenate([x, zeros], axis=-1) if lang == "en" else np.concatenate([zeros, x], axis=-1)


CLF_FLOOR = 1e-6


def candidate_features(scores: np.ndarray, lang: Lang) -> np.ndarray:
    """[entry, feature]: each signal x view score and its ratio to the best entry's, and the
    classifier's log share (a softmax output: its log is what adds up across candidates)."""
    best = scores.max(axis=1, keepdims=True)
    rel = np.divide(scores, best, out=np.zeros_like(scores), where=best > 1e-6)
    log_clf = np.log(np.maximum(scores[-1:], CLF_FLOOR)) - np.log(CLF_FLOOR)  # >= 0
    return _lang_block(np.concatenate([scores, rel, log_clf], axis=0).T, lang)


def query_features(features: np.ndarray, fused: np.ndarray, coverage: float, n_tokens: int, lang: Lang) -> np.ndarray:
    scores = HybridIndex.per_signal(features)
    order = np.argsort(-fused)
    top, second = order[0], order[1] if len(order) > 1 else order[0]
    agreement = float(sum(int(np.argmax(s) == top) for s in scores))
    base = np.array(
        [
            fused[top],
            fused[top] - fused[second],
            *scores[:, top],
            *scores.max(axis=1),
            agreement,
            coverage,
            np.log1p(n_tokens),
            1.0,
        ],
        dtype=np.float64,
    )
    return _lang_block(base, lang)


@dataclass
class Linear:
    """A fitted linear model kept as plain numbers (JSON in the index cache, fast to apply)."""

    coef: list[float]
    intercept: float = 0.0
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)

    def logit(self, x: np.ndarray) -> np.ndarray:
        if self.mean:
            x = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return x @ np.asarray(self.coef) + self.intercept

    def proba(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(x)))


def fit_linear(x: np.ndarray, y: np.ndarray, standardize: bool, balanced: bool) -> Linear:
    from sklearn.linear_model import LogisticRegression  # build time only: a worker never fits

    mean = x.mean(axis=0) if standardize else np.zeros(x.shape[1])
    scale = x.std(axis=0) if standardize else np.ones(x.shape[1])
    scale[scale < 1e-9] = 1.0
    if len(set(y.tolist())) < 2:  # degenerate tiny corpus: constant model
        return Linear([0.0] * x.shape[1], 4.0 if y.all() else -4.0)
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced" if balanced else None)
    model.fit((x - mean) / scale, y)
    return Linear(
        coef=model.coef_[0].tolist(),
        intercept=float(model.intercept_[0]),
        mean=mean.tolist() if standardize else [],
        scale=scale.tolist() if standardize else [],
    )


@dataclass(frozen=True)
class TrainingQuery:
    scores: np.ndarray  # [signal, entry]
    lang: Lang
    coverage: float
    n_tokens: int
    target: int | None  # entry position, None = out of scope


@dataclass
class Ranker:
    fusion: Linear
    top1: Linear  # P(top hit is the right entry)
    scope: Linear  # P(the question is about something the corpus covers)
    report: dict[str, float] = field(default_factory=dict)
    answer_at: float = ANSWER_AT

    def fuse(self, scores: np.ndarray, lang: Lang) -> np.ndarray:
        return self.fusion.logit(candidate_features(scores, lang))

    def confidence(self, qf: np.ndarray) -> tuple[float, float]:
        """(P(top hit is right), P(in scope))."""
        return float(self.top1.proba(qf)), float(self.scope.proba(qf))


def _fit_fusion(queries: list[TrainingQuery], l2: float = 1e-3) -> Linear:
    """Listwise fit: softmax over each query's candidates, maximising the right entry's share
    (directly what recall@1 needs). Weights are kept >= 0: a higher similarity never counts
    against an entry, so an exact match of a sample question always wins."""
    from scipy.optimize import minimize
    labelled = [(q, q.target) for q in queries if q.target is not None]
    if not labelled:
        return Linear([1.0] * candidate_features(queries[0].scores, "en").shape[1])
    blocks = []
    for q, target in labelled:
        feats = candidate_features(q.scores, q.lang)
        rough = HybridIndex.per_signal(q.scores).sum(axis=0)
        cands = [target] + [int(i) for i in np.argsort(-rough)[: N_CANDIDATES + 1] if i != target]
        blocks.append(feats[cands[: N_CANDIDATES + 1]])
    width = max(len(b) for b in blocks)
    d = blocks[0].shape[1]
    x = np.zeros((len(blocks), width, d))
    valid = np.zeros((len(blocks), width), dtype=bool)
    for i, block in enumerate(blocks):
        x[i, : len(block)] = block
        valid[i, : len(block)] = True

    flat = x.reshape(-1, d)  # matrix-vector products (BLAS) instead of a 3-d einsum

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = np.where(valid, (flat @ w).reshape(valid.shape), -np.inf)
        top = z.max(axis=1, keepdims=True)
        p = np.exp(z - top)
        p /= p.sum(axis=1, keepdims=True)
        lse = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
        value = float((lse - z[:, 0]).mean() + 0.5 * l2 * w @ w)
        grad_z = p.copy()
        grad_z[:, 0] -= 1.0
        grad = grad_z.reshape(-1) @ flat / len(blocks) + l2 * w
        return value, grad

    res = minimize(loss, np.full(d, 0.1), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * d)
    return Linear(coef=res.x.tolist())


def _labels(fused: np.ndarray, target: int | None) -> tuple[int, int]:
    """(top hit is right, question is in scope)."""
    if target is None:
        return 0, 0
    return int(int(np.argmax(fused)) == target), 1


def fit_ranker(queries: list[TrainingQuery], folds: int = 5, seed: int = 0) -> Ranker:
    """Fusion weights on all sample questions; calibration on out-of-fold fused scores."""
    from sklearn.model_selection import StratifiedKFold
    in_scope = [i for i, q in enumerate(queries) if q.target is not None]
    fused_oof: dict[int, np.ndarray] = {}
    k = max(2, min(folds, len(in_scope) // 2))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    splits = list(splitter.split(in_scope, [queries[i].lang for i in in_scope]))
    # numpy releases the GIL in the heavy products: the fits run side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        full = pool.submit(_fit_fusion, queries)
        models = pool.map(lambda split: _fit_fusion([queries[in_scope[i]] for i in split[0]]), splits)
        for (_, test), model in zip(splits, models, strict=True):
            for i in test:
                q = queries[in_scope[i]]
                fused_oof[in_scope[i]] = model.logit(candidate_features(q.scores, q.lang))
        fusion = full.result()
    feats, y1, y2 = [], [], []
    for i, q in enumerate(queries):
        fused = fused_oof.get(i)
        if fused is None:
            fused = fusion.logit(candidate_features(q.scores, q.lang))
        feats.append(query_features(q.scores, fused, q.coverage, q.n_tokens, q.lang))
        a, b = _labels(fused, q.target)
        y1.append(a)
        y2.append(b)
    x = np.stack(feats)
    # P(top hit right) is calibrated on the natural mix; P(in scope) is balanced because the
    # number of out-of-scope training questions is our choice, not a rate seen in traffic.
    top1 = fit_linear(x, np.array(y1), standardize=True, balanced=False)
    scope = fit_linear(x, np.array(y2), standardize=True, balanced=True)
    report = _cv_report(x, np.array(y1), np.array(y2), queries)
    return Ranker(fusion, top1, scope, report, answer_at=report.get("answer_at", ANSWER_AT))


def _cv_report(x: np.ndarray, y1: np.ndarray, y2: np.ndarray, queries: list[TrainingQuery]) -> dict[str, float]:
    """Held-out quality of the confidence models themselves (for `check` and the build log)."""
    from sklearn.model_selection import StratifiedKFold
    is_oos = y2 == 0
    p1, p2 = np.zeros(len(queries)), np.zeros(len(queries))
    strata = is_oos.astype(int) * 2 + y1
    k = min(5, int(np.bincount(strata).max(initial=0)), int(np.bincount(strata)[np.bincount(strata) > 0].min()))
    if k < 2:
        return {}
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=1).split(x, strata))
    for train, test in splits:
        p1[test] = fit_linear(x[train], y1[train], standardize=True, balanced=False).proba(x[test])
        p2[test] = fit_linear(x[train], y2[train], standardize=True, balanced=True).proba(x[test])
    declined = p2 < IN_SCOPE_AT
    answer_at = ANSWER_AT
    for t in np.arange(ANSWER_AT, 0.951, 0.05):
        answer_at = float(t)
        chosen = ~declined & (p1 >= t)
        if not chosen.any() or y1[chosen].mean() >= TARGET_PRECISION:
            break
    answered = ~declined & (p1 >= answer_at)
    in_scope = ~is_oos
    return {
        "answer_at": round(answer_at, 2),
        "heldout_top1_accuracy": float(y1[in_scope].mean()) if in_scope.any() else 0.0,
        "heldout_oos_declined": float(declined[is_oos].mean()) if is_oos.any() else 0.0,
        "heldout_in_scope_declined": float(declined[in_scope].mean()) if in_scope.any() else 0.0,
        "heldout_answer_precision": float(y1[answered].mean()) if answered.any() else 0.0,
        "heldout_answered": float(answered[in_scope].mean()) if in_scope.any() else 0.0,
    }
