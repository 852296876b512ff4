"""Softmax over the last axis, as scipy.special.softmax computes it, without importing SciPy.

The linear models' confidences are a softmax of their decision values; a model worker computes
one per message and has no other use for SciPy (about 30 MiB imported)."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)
