"""CKY over span scores: the best binary bracketing of a sentence (Stern et al. 2017)."""
from typing import List, Tuple

import numpy


def cky(scores: numpy.ndarray) -> List[Tuple[int, int]]:
    """Spans of the highest-scoring binary tree over n words.

    scores: float array [n+1, n+1]; scores[i, j] (i < j) scores the span of
        fenceposts i..j, i.e. words i+1..j (1-based). Other cells are ignored.
    Returns: the 2n-1 spans (i, j) of the tree, outermost first; every binary
        tree contains (0, n) and every one-word span (i, i+1).
    """
    n = scores.shape[0] - 1
    if n <= 0:
        return []
    scores = numpy.asarray(scores, dtype="float64")
    best = numpy.zeros((n + 1, n + 1))
    split = numpy.zeros((n + 1, n + 1), dtype="int64")
    starts = numpy.arange(n)
    best[starts, starts + 1] = scores[starts, starts + 1]
    for length in range(2, n + 1):
        i = numpy.arange(n - length + 1)[:, None]
        k = i + numpy.arange(1, length)[None, :]  # [spans, splits]
        totals = best[i, k] + best[k, i + length]
        arg = totals.argmax(1)
        rows = i[:, 0]
        best[rows, rows + length] = totals[numpy.arange(len(rows)), arg] + scores[rows, rows + length]
        split[rows, rows + length] = k[numpy.arange(len(rows)), arg]
    spans, stack = [], [(0, n)]
    while stack:
        i, j = stack.pop()
        spans.append((i, j))
        if j - i > 1:
            k = int(split[i, j])
            stack.extend([(k, j), (i, k)])
    return spans
