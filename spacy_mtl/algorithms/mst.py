"""Maximum spanning arborescence (Chu-Liu/Edmonds) with exactly one root child."""
from typing import List, Optional

import numpy


def _find_cycle(heads: numpy.ndarray) -> Optional[List[int]]:
    n = len(heads)
    color = numpy.zeros(n, dtype="i")  # 0 unseen, 1 on current path, 2 done
    for start in range(1, n):
        path, node = [], start
        while node > 0 and color[node] == 0:
            color[node] = 1
            path.append(node)
            node = heads[node]
        if node > 0 and color[node] == 1:
            return path[path.index(node):]
        for p in path:
            color[p] = 2
    return None


def chu_liu_edmonds(scores: numpy.ndarray) -> numpy.ndarray:
    """Highest-scoring tree rooted at node 0.

    scores: float array [n, n], scores[dep, head]; node 0 is the artificial root.
    Returns: int array [n] of heads, heads[0] = -1.
    """
    n = scores.shape[0]
    scores = scores.astype("float64").copy()
    numpy.fill_diagonal(scores, -numpy.inf)
    scores[0, :] = -numpy.inf
    heads = scores.argmax(1)
    heads[0] = -1
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    # Contract the cycle into one node c and solve the smaller problem.
    in_cycle = numpy.zeros(n, dtype=bool)
    in_cycle[cycle] = True
    rest = [i for i in range(n) if not in_cycle[i]]
    c = len(rest)
    cycle_score = sum(scores[d, heads[d]] for d in cycle)
    sub = numpy.full((c + 1, c + 1), -numpy.inf)
    enter_from = {}  # outside head -> best cycle dependent it would enter through
    leave_to = {}  # outside dependent -> best cycle head it hangs from
    for a, dep in enumerate(rest):
        for b, head in enumerate(rest):
            sub[a, b] = scores[dep, head]
        cyc = numpy.array(cycle)
        best = cyc[scores[dep, cyc].argmax()]
        sub[a, c] = scores[dep, best]
        leave_to[a] = best
    for b, head in enumerate(rest):
        cyc = numpy.array(cycle)
        gains = scores[cyc, head] - scores[cyc, heads[cyc]]
        k = int(gains.argmax())
        sub[c, b] = cycle_score + gains[k]
        enter_from[b] = int(cyc[k])
    sub_heads = chu_liu_edmonds(sub)
    result = heads.copy()
    for a, dep in enumerate(rest):
        if a == 0:
            continue
        h = sub_heads[a]
        result[dep] = leave_to[a] if h == c else rest[h]
    entry_head = rest[sub_heads[c]]
    result[enter_from[sub_heads[c]]] = entry_head
    result[0] = -1
    return result


def tree_score(scores: numpy.ndarray, heads: numpy.ndarray) -> float:
    return float(sum(scores[d, heads[d]] for d in range(1, len(heads))))


def mst_one_root(scores: numpy.ndarray) -> numpy.ndarray:
    """Best tree in which exactly one word hangs from the root.

    scores: float array [n + 1, n + 1] of arc log-probabilities, scores[dep, head],
    row/column 0 being the root. Returns heads [n + 1] with heads[0] = -1.
    If the unconstrained tree has several root children, each of them is tried
    as the only one (the others may not attach to the root) and the best kept.
    """
    scores = numpy.asarray(scores, dtype="float64")
    heads = chu_liu_edmonds(scores)
    roots = [d for d in range(1, len(heads)) if heads[d] == 0]
    if len(roots) <= 1:
        return heads
    best, best_score = heads, -numpy.inf
    for root in roots:
        constrained = scores.copy()
        constrained[1:, 0] = -numpy.inf
        constrained[root, 0] = scores[root, 0]
        candidate = chu_liu_edmonds(constrained)
        score = tree_score(scores, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best
