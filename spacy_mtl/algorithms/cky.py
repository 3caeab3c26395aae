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
    return cky_many([scores])[0]


def cky_many(sentences: List[numpy.ndarray]) -> List[List[Tuple[int, int]]]:
    """``cky`` of every sentence (scores [n_k+1, n_k+1] each), computed together.

    The sentences are padded to the longest, [B, N+1, N+1], and every span length
    is one numpy step over all of them: a span within a sentence only ever reads
    spans within it, so the padding changes nothing (the same numbers as one at a time).
    """
    lengths = [s.shape[0] - 1 for s in sentences]
    if not sentences or max(lengths) <= 0:
        return [[] for _ in sentences]
    B, n = len(sentences), max(lengths)
    scores = numpy.zeros((B, n + 1, n + 1))
    for b, s in enumerate(sentences):
        scores[b, : len(s), : len(s)] = s
    # the best score of span (i, i + w) is kept twice, by its start and by its
    # end: from_start[:, i, w] and from_end[:, i + w, w]. The splits of every span of
    # one length are then two slices (no index arrays), one numpy step per length.
    from_start = numpy.zeros((B, n + 1, n + 1))
    from_end = numpy.zeros((B, n + 1, n + 1))
    split = numpy.zeros((B, n + 1, n + 1), dtype="int64")  # split[:, i, w]: where span (i, i + w) splits
    from_start[:, :n, 1] = from_end[:, 1:, 1] = numpy.diagonal(scores, 1, axis1=1, axis2=2)
    for w in range(2, n + 1):
        # totals[:, i, m - 1]: span (i, i + w) split at i + m, m = 1 .. w - 1
        totals = from_start[:, : n - w + 1, 1:w] + from_end[:, w:, w - 1 : 0 : -1]
        arg = totals.argmax(2)
        best = numpy.take_along_axis(totals, arg[:, :, None], 2)[:, :, 0] + numpy.diagonal(scores, w, axis1=1, axis2=2)
        from_start[:, : n - w + 1, w] = from_end[:, w:, w] = best
        split[:, : n - w + 1, w] = numpy.arange(n - w + 1) + arg + 1
    trees = []
    for b, length in enumerate(lengths):
        spans, stack, splits = [], [(0, length)] if length > 0 else [], split[b].tolist()
        while stack:
            i, j = stack.pop()
            spans.append((i, j))
            if j - i > 1:
                k = splits[i][j - i]
                stack.extend([(k, j), (i, k)])
        trees.append(spans)
    return trees
