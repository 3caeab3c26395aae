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


def crf_marginals_many(emissions: Sequence[numpy.ndarray], transitions, start, end,
                       weights: Optional[Sequence[float]] = None) -> Tuple[numpy.ndarray, List[numpy.ndarray], numpy.ndarray]:
    """``crf_marginals`` of many sequences at once.

    emissions: float arrays [n_k, T]; weights: one per sequence (default 1).
    Returns log Z [K], unary marginals [n_k, T] per sequence and the weighted
    sum over sequences of their pairwise marginals [T, T].

    One sequence at a time in log space, a CRF loss was a few numpy calls per
    word and per tag pair (with srl's argument layers run per predicate, a
    training step took 3.00 s against 2.29 s now: project/metrics/
    train_speed_crf.md). Here the sequences step
    together (sorted longest first, as in ``crf_viterbi_many``) in probability
    space: forward and backward vectors are rescaled to sum to one at every
    position (the scales go into log Z), so a step is one [m, T] x [T, T]
    product instead of T² exps, and every potential is shifted by its maximum
    first, so nothing overflows. A sequence that no path can take at finite
    weight there (its scale hits 0: gold tags the forbidden moves rule out) is
    done by ``crf_marginals`` in log space, so the results are the same.
    """
    K, T = len(emissions), transitions.shape[0]
    weights = numpy.ones(K) if weights is None else numpy.asarray(weights, dtype="float64")
    lengths = [len(em) for em in emissions]
    log_z = numpy.zeros(K)
    unary = [numpy.zeros((n, T)) for n in lengths]
    order = sorted((k for k, n in enumerate(lengths) if n), key=lambda k: -lengths[k])
    if not order:
        return log_z, unary, numpy.zeros((T, T))
    N, L = len(order), lengths[order[0]]
    n_sorted = numpy.asarray([lengths[k] for k in order])
    rows = numpy.arange(N)
    running = (n_sorted[None, :] > numpy.arange(L)[:, None]).sum(1).tolist()  # sequences still going at step i
    t_top, s_top, e_top = float(transitions.max()), float(numpy.max(start)), float(numpy.max(end))
    E = numpy.exp(transitions - t_top)
    s_hat, e_hat = numpy.exp(start - s_top), numpy.exp(end - e_top)
    P = numpy.zeros((N, L, T))  # exp(emissions - their row maximum), zero past a sequence's end
    shift = numpy.zeros((N, L))
    for row, k in enumerate(order):
        em = numpy.asarray(emissions[k], dtype="float64")
        shift[row, : lengths[k]] = em.max(1)
        P[row, : lengths[k]] = numpy.exp(em - shift[row, : lengths[k], None])
    alpha, beta = numpy.zeros((N, L, T)), numpy.zeros((N, L, T))
    scale = numpy.ones((N, L))  # past a sequence's end: 1, so its logs add nothing
    with numpy.errstate(divide="ignore", invalid="ignore"):
        a = s_hat * P[:, 0]
        scale[:, 0] = a.sum(1)
        alpha[:, 0] = a / scale[:, 0, None]
        for i in range(1, L):
            m = running[i]
            a = (alpha[:m, i - 1] @ E) * P[:m, i]
            scale[:m, i] = a.sum(1)
            alpha[:m, i] = a / scale[:m, i, None]
        end_scale = alpha[rows, n_sorted - 1] @ e_hat
        feasible = (scale > 0).all(1) & (end_scale > 0)
        beta[rows, n_sorted - 1] = e_hat[None, :] / end_scale[:, None]
        for i in range(L - 2, -1, -1):
            m = running[i + 1]
            beta[:m, i] = ((P[:m, i + 1] * beta[:m, i + 1]) @ E.T) / scale[:m, i + 1, None]
        sorted_log_z = (numpy.log(scale).sum(1) + numpy.log(end_scale) + shift.sum(1)
                        + (n_sorted - 1) * t_top + s_top + e_top)
        # pairwise (i, i+1): alpha_i[a] E[a, b] P_i+1[b] beta_i+1[b] / scale_i+1, summed over i and sequences
        following = P[:, 1:] * beta[:, 1:] / scale[:, 1:, None] * weights[order][:, None, None]
    for array in (alpha, beta, following):
        array[~feasible] = 0.0
    marginals = alpha * beta
    pair = E * (alpha[:, :-1].reshape(-1, T).T @ following.reshape(-1, T))
    for row, k in enumerate(order):
        if feasible[row]:
            log_z[k], unary[k] = sorted_log_z[row], marginals[row, : lengths[k]]
        else:
            log_z[k], unary[k], own_pair = crf_marginals(numpy.asarray(emissions[k], dtype="float64"),
                                                          transitions, start, end)
            pair += weights[k] * own_pair
    return log_z, unary, pair


def crf_nll_many(emissions: Sequence[numpy.ndarray], transitions, start, end,
                 golds: Sequence[Sequence[Optional[int]]], forbid: float = -1e4):
    """``crf_nll`` of many sequences in one ``crf_marginals_many`` call.

    Returns (losses [K], d_emissions [n_k, T] per sequence, and d_transitions
    [T, T], d_start [T], d_end [T] summed over the sequences).
    """
    clamped = [clamp_to_gold(em, gold, forbid) for em, gold in zip(emissions, golds)]
    K, T = len(emissions), transitions.shape[0]
    log_z, unary, d_trans = crf_marginals_many(list(emissions) + clamped, transitions, start, end,
                                               weights=[1.0] * K + [-1.0] * K)
    d_emissions = [unary[k] - unary[K + k] for k in range(K)]
    d_start, d_end = numpy.zeros(T), numpy.zeros(T)
    for d in d_emissions:
        if len(d):
            d_start += d[0]
            d_end += d[-1]
    return [float(log_z[k] - log_z[K + k]) for k in range(K)], d_emissions, d_trans, d_start, d_end


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


def clamp_to_gold(emissions, gold: Sequence[Optional[int]], forbid: float = -1e4) -> numpy.ndarray:
    """A float64 copy of emissions [n, T] where every known gold tag (not None)
    is the only tag its position allows: the others score ``forbid``."""
    clamped = numpy.array(emissions, dtype="float64", copy=True)
    known = [(i, tag) for i, tag in enumerate(gold) if tag is not None]
    if known:
        at, tags = (numpy.asarray(x) for x in zip(*known))
        keep = clamped[at, tags]
        clamped[at] = forbid
        clamped[at, tags] = keep
    return clamped


def crf_nll(emissions, transitions, start, end, gold: Sequence[Optional[int]], forbid: float = -1e4):
    """Negative log-likelihood of the gold tags and its gradients.

    gold: a tag index per position, or None where unknown (marginalised over).
    Returns (loss, d_emissions [n, T], d_transitions [T, T], d_start [T], d_end [T]).
    """
    clamped = clamp_to_gold(emissions, gold, forbid)
    log_z, unary, pair = crf_marginals(emissions, transitions, start, end)
    log_z_gold, unary_gold, pair_gold = crf_marginals(clamped, transitions, start, end)
    return (log_z - log_z_gold, unary - unary_gold, pair - pair_gold,
            unary[0] - unary_gold[0], unary[-1] - unary_gold[-1])
