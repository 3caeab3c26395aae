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
    # the best score of span (i, i + w) is kept twice, by its start and by its
    # end: from_start[i, w] and from_end[i + w, w]. The splits of every span of
    # one length are then two slices (no index arrays), one numpy step per length.
    from_start = numpy.zeros((n + 1, n + 1))
    from_end = numpy.zeros((n + 1, n + 1))
    split = numpy.zeros((n + 1, n + 1), dtype="int64")  # split[i, w]: where span (i, i + w) splits
    from_start[:n, 1] = from_end[1:, 1] = numpy.diagonal(scores, 1)
    for w in range(2, n + 1):
        # totals[i, m - 1]: span (i, i + w) split at i + m, m = 1 .. w - 1
        totals = from_start[: n - w + 1, 1:w] + from_end[w:, w - 1 : 0 : -1]
        arg = totals.argmax(1)
        best = totals[numpy.arange(n - w + 1), arg] + numpy.diagonal(scores, w)
        from_start[: n - w + 1, w] = from_end[w:, w] = best
        split[: n - w + 1, w] = numpy.arange(n - w + 1) + arg + 1
    spans, stack = [], [(0, n)]
    while stack:
        i, j = stack.pop()
        spans.append((i, j))
        if j - i > 1:
            k = int(split[i, j - i])
            stack.extend([(k, j), (i, k)])
    return spans
