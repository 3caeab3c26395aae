"""Maximum spanning arborescence (Chu-Liu/Edmonds) with exactly one root child."""
from typing import List, Optional

import numpy


def _find_cycle(heads) -> Optional[List[int]]:
    """Nodes of one cycle in a head array (heads[0] = -1), or None."""
    heads = numpy.asarray(heads).tolist()  # plain ints: the walk is scalar reads, slow on a numpy array
    n = len(heads)
    state = [0] * n  # 0 unseen, 1 on the current path, 2 finished
    state[0] = 2
    for start in range(1, n):
        path, node = [], start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:
            return path[path.index(node):]
        for node in path:
            state[node] = 2
    return None


def chu_liu_edmonds(scores: numpy.ndarray) -> numpy.ndarray:
    """Highest-scoring tree rooted at node 0.

    scores: float array [n, n], scores[dep, head]; node 0 is the artificial root.
    Returns: int array [n] of heads, heads[0] = -1.
    """
    scores = numpy.array(scores, dtype="float64")
    n = scores.shape[0]
    numpy.fill_diagonal(scores, -numpy.inf)
    scores[0, :] = -numpy.inf
    heads = scores.argmax(1)
    heads[0] = -1
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    # Contract the cycle into one node (index c of the smaller problem) and recurse.
    cycle = numpy.asarray(cycle)
    in_cycle = numpy.zeros(n, dtype=bool)
    in_cycle[cycle] = True
    rest = numpy.flatnonzero(~in_cycle)  # rest[0] == 0, the root
    c = len(rest)
    sub = numpy.full((c + 1, c + 1), -numpy.inf)
    sub[:c, :c] = scores[rest][:, rest]
    # a word outside hanging from the cycle: from its best cycle member
    out_scores = scores[rest][:, cycle]  # [c, |cycle|]
    leave_to = cycle[out_scores.argmax(1)]
    sub[:c, c] = out_scores.max(1)
    # the cycle hanging from an outside head: break it where entering gains most
    kept = scores[cycle, heads[cycle]]  # [|cycle|]
    gains = scores[cycle][:, rest] - kept[:, None]  # [|cycle|, c]
    enter_at = cycle[gains.argmax(0)]
    sub[c, :c] = kept.sum() + gains.max(0)
    sub_heads = chu_liu_edmonds(sub)
    result = heads.copy()
    for a in range(1, c):
        h = sub_heads[a]
        result[rest[a]] = leave_to[a] if h == c else rest[h]
    entry_head = rest[sub_heads[c]]
    result[enter_at[sub_heads[c]]] = entry_head
    result[0] = -1
    return result


def tree_score(scores: numpy.ndarray, heads: numpy.ndarray) -> float:
    return float(sum(scores[d, heads[d]] for d in range(1, len(heads))))


def mst_one_root(scores: numpy.ndarray) -> numpy.ndarray:
    """Best tree in which exactly one word hangs from the root.

    scores: float array [n + 1, n + 1] of arc log-probabilities, scores[dep, head],
    row/column 0 being the root. Returns heads [n + 1] with heads[0] = -1.

    Every tree has at least one root arc; lowering all root arcs by more than
    the whole score range makes each extra one cost more than any gain, so the
    unconstrained maximum has exactly one, and among such trees it is the best
    (the penalty is paid once by all of them).
    """
    scores = numpy.array(scores, dtype="float64")
    n = scores.shape[0]
    if n <= 2:
        return numpy.array([-1, 0][:n])
    # most trained parsers' best heads already form a one-root tree: then it is the answer
    greedy = numpy.where(numpy.eye(n, dtype=bool), -numpy.inf, scores).argmax(1)
    greedy[0] = -1
    if (greedy[1:] == 0).sum() == 1 and _find_cycle(greedy) is None:
        return greedy
    best = chu_liu_edmonds(scores)
    if (best[1:] == 0).sum() == 1:
        return best
    finite = scores[numpy.isfinite(scores)]
    penalty = 1.0 + n * (finite.max() - finite.min() + 1.0) if finite.size else 1.0
    penalised = scores.copy()
    penalised[1:, 0] -= penalty
    return chu_liu_edmonds(penalised)
