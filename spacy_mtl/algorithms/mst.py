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


# more root children than this in the unconstrained best tree (an untrained
# parser's): one penalised pass is cheaper than a pass per candidate
MAX_ROOT_CANDIDATES = 4


def tree_score(scores: numpy.ndarray, heads: numpy.ndarray) -> float:
    return float(sum(scores[d, heads[d]] for d in range(1, len(heads))))


def mst_one_root(scores: numpy.ndarray) -> numpy.ndarray:
    """Best tree in which exactly one word hangs from the root.

    scores: float array [n + 1, n + 1] of arc log-probabilities, scores[dep, head],
    row/column 0 being the root. Returns heads [n + 1] with heads[0] = -1.

    The best tree of all is the answer when it has one root child (the greedy
    heads often are that tree already). Otherwise the answer's root child is
    one of that tree's root children (Gabow & Tarjan 1984; Zmigrod et al.
    2020), so each of them is tried as the only one: a best tree where only
    r may hang from the root has exactly one root child. With more than
    MAX_ROOT_CANDIDATES of them, one root-penalised pass is cheaper.

    Why one of them: after the contractions, the best heads form a tree A
    (contraction keeps the one-root problem's answer: a cycle's arcs stay but
    the one entering it). Take any one-root tree T with root child r, and the
    path r -> ... -> k -> root in A. Give every node of that path its A head,
    and k the root: each changed node gets its best head, so no score drops;
    every other node's T heads still lead to the path, so there is no cycle;
    and k is the only root child.
    """
    scores = numpy.array(scores, dtype="float64")
    n = scores.shape[0]
    if n <= 2:
        return numpy.array([-1, 0][:n])
    greedy = numpy.where(numpy.eye(n, dtype=bool), -numpy.inf, scores).argmax(1)
    greedy[0] = -1
    if (greedy[1:] == 0).sum() == 1 and _find_cycle(greedy) is None:
        return greedy
    best = chu_liu_edmonds(scores)
    root_children = numpy.flatnonzero(best[1:] == 0) + 1
    if len(root_children) == 1:
        return best
    if len(root_children) > MAX_ROOT_CANDIDATES:
        return _root_penalised(scores)
    best_score, best_heads = -numpy.inf, best
    for r in root_children:
        only_r = scores.copy()
        only_r[1:, 0] = -numpy.inf
        only_r[r, 0] = scores[r, 0]
        heads = chu_liu_edmonds(only_r)
        score = tree_score(scores, heads)
        if score > best_score:
            best_score, best_heads = score, heads
    return best_heads


def _root_penalised(scores: numpy.ndarray) -> numpy.ndarray:
    """The one-root tree in one pass: lowering every root arc by more than the
    whole score range makes each extra root child cost more than any gain, so
    the unconstrained best has exactly one (and is the best such tree: all pay
    the penalty once). One deep contraction (about a level per word), so it
    beats trying candidates only when there are many."""
    finite = scores[numpy.isfinite(scores)]
    penalty = 1.0 + scores.shape[0] * (finite.max() - finite.min() + 1.0) if finite.size else 1.0
    penalised = scores.copy()
    penalised[1:, 0] -= penalty
    return chu_liu_edmonds(penalised)
