"""Softmax cross-entropy, computed without overflow."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """``z - logsumexp(z)`` along the last axis, shifted by the row maximum first.

    log softmax(z)_k = (z_k - m) - log sum_j exp(z_j - m) for any m; with
    m = max_j z_j every exponent is <= 0 (no overflow) and one term is 1
    (no log of 0).
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean over the batch of ``-log softmax(logits)[label]``, and its gradient dL/dlogits.

    ``logits`` is (N, classes), ``labels`` (N,) integers in [0, classes).
    The gradient is ``(softmax(logits) - onehot(labels)) / N``.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must be a 2-D array (N, classes); got shape {logits.shape}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"labels must have shape ({logits.shape[0]},) to match logits {logits.shape}; "
            f"got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers; got dtype {labels.dtype}")
    classes = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"labels must lie in [0, {classes}); got values from {labels.min()} to {labels.max()}"
        )
    rows = np.arange(len(labels))
    log_probabilities = log_softmax(logits)
    loss = -float(log_probabilities[rows, labels].mean(dtype=np.float64))
    gradient = np.exp(log_probabilities)
    gradient[rows, labels] -= 1
    return loss, gradient / len(labels)
