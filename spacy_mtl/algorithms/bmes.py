"""Constrained decoding of B/M/E/S segmentation tags."""
from typing import List

import numpy

TAGS = ("B", "M", "E", "S")
B, M, E, S = range(4)
# ALLOWED[prev, cur]: a word that began (B, M) must continue (M, E); one that ended (E, S) must not.
ALLOWED = numpy.array(
    [
        [False, True, True, False],  # after B
        [False, True, True, False],  # after M
        [True, False, False, True],  # after E
        [True, False, False, True],  # after S
    ]
)


def bmes_viterbi(scores: numpy.ndarray) -> numpy.ndarray:
    """Best well-formed tag sequence.

    scores: float array [n, 4] of log-probabilities for B, M, E, S.
    Returns: int array [n]; starts with B or S and ends with E or S.
    """
    n = scores.shape[0]
    if n == 0:
        return numpy.zeros((0,), dtype="i")
    neg = -1e9
    trans = numpy.where(ALLOWED, 0.0, neg)
    best = scores[0] + numpy.array([0.0, neg, neg, 0.0])
    back = numpy.zeros((n, 4), dtype="i")
    for i in range(1, n):
        cand = best[:, None] + trans  # [prev, cur]
        back[i] = cand.argmax(0)
        best = cand.max(0) + scores[i]
    best = best + numpy.array([neg, neg, 0.0, 0.0])
    tags = numpy.zeros((n,), dtype="i")
    tags[-1] = int(best.argmax())
    for i in range(n - 1, 0, -1):
        tags[i - 1] = back[i, tags[i]]
    return tags


def bmes_viterbi_many(sequences: List[numpy.ndarray]) -> List[numpy.ndarray]:
    """``bmes_viterbi`` of every sequence, stepped together (the same numbers).

    sequences: float arrays [n_k, 4]. Returns: int arrays [n_k].

    One numpy step per position of the longest sequence, over all of them at
    once: a document has many short runs between punctuation, and stepping
    each alone cost one numpy call per character.
    """
    lengths = numpy.asarray([len(s) for s in sequences], dtype="int64")
    if not len(sequences) or lengths.max() == 0:
        return [numpy.zeros((n,), dtype="i") for n in lengths]
    n_max, neg = int(lengths.max()), -1e9
    scores = numpy.zeros((len(sequences), n_max, 4), dtype=numpy.result_type(*sequences))
    for k, s in enumerate(sequences):
        scores[k, : len(s)] = s
    trans = numpy.where(ALLOWED, 0.0, neg)
    best = scores[:, 0] + numpy.array([0.0, neg, neg, 0.0])  # [K, 4]
    final = best.copy()  # each sequence's scores at its own last position
    back = numpy.zeros((len(sequences), n_max, 4), dtype="i")
    for i in range(1, n_max):
        cand = best[:, :, None] + trans  # [K, prev, cur]
        back[:, i] = cand.argmax(1)
        best = cand.max(1) + scores[:, i]
        ends_here = lengths == i + 1
        final[ends_here] = best[ends_here]
    tags = numpy.zeros((len(sequences), n_max), dtype="i")
    rows = numpy.arange(len(sequences))
    tags[rows, numpy.maximum(lengths - 1, 0)] = (final + numpy.array([neg, neg, 0.0, 0.0])).argmax(1)
    for i in range(n_max - 1, 0, -1):
        inside = lengths > i
        tags[inside, i - 1] = back[inside, i, tags[inside, i]]
    return [tags[k, :n] for k, n in enumerate(lengths)]


def words_from_bmes(tags) -> List[int]:
    """Word lengths (in units) from a well-formed tag sequence."""
    lengths, current = [], 0
    for tag in tags:
        current += 1
        if tag in (E, S):
            lengths.append(current)
            current = 0
    if current:
        lengths.append(current)
    return lengths


def bmes_tags(word_lengths) -> List[int]:
    """Gold tags for words of the given lengths (in units)."""
    tags: List[int] = []
    for n in word_lengths:
        tags.extend([S] if n == 1 else [B] + [M] * (n - 2) + [E])
    return tags
