import itertools

import numpy
import pytest

from spacy_mtl.algorithms.bmes import B, E, M, S, bmes_tags, bmes_viterbi, words_from_bmes
from spacy_mtl.algorithms.mst import chu_liu_edmonds, mst_one_root, tree_score


def brute_force_best(scores, one_root=True):
    n = scores.shape[0]
    best = -numpy.inf
    for heads in itertools.product(range(n), repeat=n - 1):
        heads = (-1,) + heads
        if any(heads[d] == d for d in range(1, n)):
            continue
        if one_root and sum(h == 0 for h in heads[1:]) != 1:
            continue
        if any(_has_cycle(heads, d) for d in range(1, n)):
            continue
        best = max(best, tree_score(scores, numpy.array(heads)))
    return best


def _has_cycle(heads, start):
    seen, node = set(), start
    while node != 0:
        if node in seen:
            return True
        seen.add(node)
        node = heads[node]
    return False


@pytest.mark.parametrize("seed", range(60))
def test_mst_one_root_is_optimal(seed):
    rng = numpy.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    scores = rng.normal(size=(n, n))
    heads = mst_one_root(scores)
    assert heads[0] == -1
    assert sum(h == 0 for h in heads[1:]) == 1
    assert not any(_has_cycle(heads, d) for d in range(1, n))
    assert tree_score(scores, heads) == pytest.approx(brute_force_best(scores))


@pytest.mark.parametrize("seed", range(20))
def test_chu_liu_edmonds_is_optimal_without_root_constraint(seed):
    rng = numpy.random.default_rng(100 + seed)
    n = int(rng.integers(2, 7))
    scores = rng.normal(size=(n, n))
    assert tree_score(scores, chu_liu_edmonds(scores)) == pytest.approx(brute_force_best(scores, one_root=False))


def test_mst_single_word_and_long_sentence():
    assert list(mst_one_root(numpy.zeros((2, 2)))) == [-1, 0]
    rng = numpy.random.default_rng(0)
    heads = mst_one_root(rng.normal(size=(201, 201)))
    assert sum(h == 0 for h in heads[1:]) == 1
    assert not any(_has_cycle(heads, d) for d in range(1, 201))


def _well_formed(tags):
    return all(
        (prev in (B, M)) == (cur in (M, E)) for prev, cur in zip((S,) + tuple(tags), tuple(tags) + (B,))
    )


def test_bmes_viterbi_is_best_well_formed_sequence():
    rng = numpy.random.default_rng(0)
    for _ in range(30):
        scores = numpy.log(rng.dirichlet(numpy.ones(4), size=4))
        tags = tuple(bmes_viterbi(scores))
        assert _well_formed(tags)
        best = max(
            (seq for seq in itertools.product(range(4), repeat=4) if _well_formed(seq)),
            key=lambda seq: scores[numpy.arange(4), seq].sum(),
        )
        assert scores[numpy.arange(4), tags].sum() == pytest.approx(scores[numpy.arange(4), best].sum())


def test_bmes_roundtrip():
    lengths = [1, 2, 3, 1, 4]
    tags = bmes_tags(lengths)
    assert tags[:3] == [S, B, E] and tags[3:6] == [B, M, E]
    one_hot = numpy.log(numpy.eye(4)[tags] + 1e-6)
    assert words_from_bmes(bmes_viterbi(one_hot)) == lengths
    assert len(bmes_viterbi(numpy.zeros((0, 4)))) == 0
