"""Linear-chain CRF over BIOES tags: marginals for training, Viterbi for decoding.

Scores are log-potentials: emissions [n, T] per position and tag, transitions
[T, T] from tag i to tag j, start [T] and end [T]. Forbidden moves are -inf,
so decoding always yields well-formed spans.
"""
from typing import List, Optional, Sequence, Tuple

import numpy
import torch


def _logsumexp(x: numpy.ndarray, axis: int) -> numpy.ndarray:
    top = numpy.max(x, axis=axis, keepdims=True)
    top = numpy.where(numpy.isfinite(top), top, 0.0)
    with numpy.errstate(divide="ignore"):
        return numpy.squeeze(top, axis) + numpy.log(numpy.sum(numpy.exp(x - top), axis=axis))


def crf_marginals(emissions, transitions, start, end) -> Tuple[float, numpy.ndarray, numpy.ndarray]:
    """log Z, unary marginals [n, T] and summed pairwise marginals [T, T]."""
    n, T = emissions.shape
    alpha = numpy.empty((n, T))
    beta = numpy.empty((n, T))
    alpha[0] = start + emissions[0]
    for i in range(1, n):
        alpha[i] = _logsumexp(alpha[i - 1][:, None] + transitions, axis=0) + emissions[i]
    beta[-1] = end
    for i in range(n - 2, -1, -1):
        beta[i] = _logsumexp(transitions + (emissions[i + 1] + beta[i + 1])[None, :], axis=1)
    log_z = float(_logsumexp(alpha[-1] + end, axis=0))
    with numpy.errstate(invalid="ignore"):
        unary = numpy.nan_to_num(numpy.exp(alpha + beta - log_z))
        pair = numpy.zeros((T, T))
        for i in range(n - 1):
            pair += numpy.nan_to_num(numpy.exp(
                alpha[i][:, None] + transitions + (emissions[i + 1] + beta[i + 1])[None, :] - log_z))
    return log_z, unary, pair


def sequence_score(emissions, transitions, start, end, tags: Sequence[int]) -> float:
    tags = numpy.asarray(tags)
    score = start[tags[0]] + end[tags[-1]] + emissions[numpy.arange(len(tags)), tags].sum()
    return float(score + transitions[tags[:-1], tags[1:]].sum())


def crf_viterbi(emissions, transitions, start, end) -> List[int]:
    """Best tag sequence [n]."""
    n, T = emissions.shape
    if n == 0:
        return []
    # [to, from]: every tag's candidate predecessors are one contiguous row, and
    # its best score is read at the argmax (one reduction per step, not two)
    into = numpy.ascontiguousarray(transitions.T)
    tags_range = numpy.arange(T)
    score = start + emissions[0]
    back = numpy.zeros((n, T), dtype="i")
    for i in range(1, n):
        cand = into + score  # cand[j, k]: reaching tag j from tag k
        back[i] = best_from = cand.argmax(1)
        score = cand[tags_range, best_from] + emissions[i]
    tags = [int((score + end).argmax())]
    for i in range(n - 1, 0, -1):
        tags.append(int(back[i, tags[-1]]))
    return tags[::-1]


def crf_viterbi_many(emissions: Sequence[numpy.ndarray], transitions, start, end) -> List[List[int]]:
    """``crf_viterbi`` of many sequences, stepped together (the same paths).

    emissions: float arrays [n_k, T]. Returns: a tag list [n_k] per sequence.

    A NER head decodes every sentence and SRL every predicate: one at a time,
    that was a few numpy calls per word. Here each step is one call over the
    sequences still running: they are sorted longest first, so those are a
    prefix, and a short sentence costs nothing after its end. The steps run in
    torch: ``max`` gives the best predecessor and its score in one pass (the
    first of equal ones, as numpy's argmax), on every core; numpy's [K, T, T]
    steps were slower than one sequence at a time for SRL's 105 tags.
    """
    lengths = [len(em) for em in emissions]
    order = sorted((k for k, n in enumerate(lengths) if n), key=lambda k: -lengths[k])
    paths: List[List[int]] = [[] for _ in lengths]
    if not order:
        return paths
    T = transitions.shape[0]
    longest = lengths[order[0]]
    padded = numpy.zeros((len(order), longest, T), dtype="float64")
    for row, k in enumerate(order):
        padded[row, : lengths[k]] = emissions[k]
    sorted_lengths = numpy.asarray([lengths[k] for k in order])
    running = (sorted_lengths[None, :] > numpy.arange(longest)[:, None]).sum(1).tolist()  # sequences at step i
    steps = torch.from_numpy(padded)
    into = torch.from_numpy(numpy.ascontiguousarray(transitions.T, dtype="float64"))  # [to, from], as in crf_viterbi
    score = torch.from_numpy(numpy.asarray(start, dtype="float64")) + steps[:, 0]  # [K, T]
    back = torch.zeros((len(order), longest, T), dtype=torch.int64)
    with torch.no_grad():
        for i in range(1, longest):
            m = running[i]
            best, back[:m, i] = (into + score[:m, None, :]).max(2)  # over [m, to, from]
            score[:m] = best + steps[:m, i]
    back_np, rows = back.numpy(), numpy.arange(len(order))
    tags = numpy.zeros((len(order), longest), dtype="int64")
    tags[rows, sorted_lengths - 1] = (score.numpy() + end).argmax(1)
    for i in range(longest - 1, 0, -1):
        m = running[i]
        tags[:m, i - 1] = back_np[rows[:m], i, tags[:m, i]]
    for row, k in enumerate(order):
        paths[k] = tags[row, : lengths[k]].tolist()
    return paths


def bioes_constraints(labels: Sequence[str]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Allowed (start [T], transition [T, T], end [T]) masks for tags "O", "B-X", "I-X", "E-X", "S-X"."""
    def split(tag):
        return ("O", None) if tag == "O" else (tag[0], tag[2:])

    parts = [split(t) for t in labels]
    T = len(labels)
    start = numpy.array([p in ("O", "B", "S") for p, _ in parts])
    end = numpy.array([p in ("O", "E", "S") for p, _ in parts])
    trans = numpy.zeros((T, T), dtype=bool)
    for i, (p1, t1) in enumerate(parts):
        for j, (p2, t2) in enumerate(parts):
            if p1 in ("O", "E", "S"):
                trans[i, j] = p2 in ("O", "B", "S")
            else:  # inside an entity of type t1
                trans[i, j] = p2 in ("I", "E") and t2 == t1
    return start, trans, end


def spans_to_bioes(n: int, spans: Sequence[Tuple[int, int, str]]) -> List[str]:
    """BIOES tags for n positions from (start, end, label) spans, end exclusive."""
    tags = ["O"] * n
    for s, e, label in spans:
        if e - s == 1:
            tags[s] = f"S-{label}"
        else:
            tags[s], tags[e - 1] = f"B-{label}", f"E-{label}"
            for k in range(s + 1, e - 1):
                tags[k] = f"I-{label}"
    return tags


def bioes_to_spans(tags: Sequence[str]) -> List[Tuple[int, int, str]]:
    """(start, end, label) spans from a well-formed BIOES sequence."""
    spans, begin = [], None
    for i, tag in enumerate(tags):
        if tag.startswith("S-"):
            spans.append((i, i + 1, tag[2:]))
        elif tag.startswith("B-"):
            begin = i
        elif tag.startswith("E-") and begin is not None:
            spans.append((begin, i + 1, tag[2:]))
            begin = None
    return spans


def crf_nll(emissions, transitions, start, end, gold: Sequence[Optional[int]], forbid: float = -1e4):
    """Negative log-likelihood of the gold tags and its gradients.

    gold: a tag index per position, or None where unknown (marginalised over).
    Returns (loss, d_emissions [n, T], d_transitions [T, T], d_start [T], d_end [T]).
    """
    clamped = numpy.array(emissions, dtype="float64", copy=True)
    for i, tag in enumerate(gold):
        if tag is not None:
            keep = clamped[i, tag]
            clamped[i] = forbid
            clamped[i, tag] = keep
    log_z, unary, pair = crf_marginals(emissions, transitions, start, end)
    log_z_gold, unary_gold, pair_gold = crf_marginals(clamped, transitions, start, end)
    return (log_z - log_z_gold, unary - unary_gold, pair - pair_gold,
            unary[0] - unary_gold[0], unary[-1] - unary_gold[-1])
