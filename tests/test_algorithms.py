import itertools

import numpy
import pytest

from spacy_mtl.algorithms.bmes import B, E, M, S, bmes_tags, bmes_viterbi, bmes_viterbi_many, words_from_bmes
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


def test_mst_one_root_is_optimal_when_the_best_tree_has_several_root_children():
    """Root arcs raised so that the unconstrained best tree mostly hangs several
    words from the root: the one-root answer (one of them tried as the only
    root child, or one root-penalised pass when there are many) is still the
    brute-force best."""
    several = 0
    for seed in range(40):
        rng = numpy.random.default_rng(300 + seed)
        n = int(rng.integers(4, 8))
        scores = rng.normal(size=(n, n))
        scores[1:, 0] += 2.0 if seed % 2 else 6.0  # 6: more root children than MAX_ROOT_CANDIDATES, often
        several += sum(h == 0 for h in chu_liu_edmonds(scores)[1:]) >= 2
        heads = mst_one_root(scores)
        assert sum(h == 0 for h in heads[1:]) == 1
        assert not any(_has_cycle(heads, d) for d in range(1, n))
        assert tree_score(scores, heads) == pytest.approx(brute_force_best(scores))
    assert several >= 30  # the case this test is for


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


def test_bmes_viterbi_many_equals_one_at_a_time():
    """Stepping many runs together (padded) gives each run's own best tags,
    also with runs of length 0 and 1 and with forced (-1e9) scores."""
    rng = numpy.random.default_rng(7)
    runs = [numpy.log(rng.dirichlet(numpy.ones(4), size=n) + 1e-9).astype("f") for n in (5, 0, 1, 12, 3, 1, 30)]
    runs[3][2:5] = -1e9
    runs[3][2:5, [B, M, E]] = 0.0
    together = bmes_viterbi_many(runs)
    assert [len(t) for t in together] == [len(r) for r in runs]
    for run, tags in zip(runs, together):
        assert tags.tolist() == bmes_viterbi(run).tolist()
        assert _well_formed(tuple(tags))
    assert bmes_viterbi_many([]) == []


@pytest.mark.parametrize("seed", range(15))
def test_crf_marginals_and_viterbi_against_enumeration(seed):
    from spacy_mtl.algorithms.crf import crf_marginals, crf_viterbi, sequence_score

    rng = numpy.random.default_rng(200 + seed)
    n, T = int(rng.integers(1, 5)), 3
    em, tr, st, en = rng.normal(size=(n, T)), rng.normal(size=(T, T)), rng.normal(size=T), rng.normal(size=T)
    seqs = list(itertools.product(range(T), repeat=n))
    scores = numpy.array([sequence_score(em, tr, st, en, s) for s in seqs])
    probs = numpy.exp(scores - numpy.log(numpy.exp(scores).sum()))
    log_z, unary, pair = crf_marginals(em, tr, st, en)
    expected_unary, expected_pair = numpy.zeros((n, T)), numpy.zeros((T, T))
    for seq, p in zip(seqs, probs):
        for i, t in enumerate(seq):
            expected_unary[i, t] += p
        for a, b in zip(seq, seq[1:]):
            expected_pair[a, b] += p
    assert log_z == pytest.approx(numpy.log(numpy.exp(scores).sum()))
    numpy.testing.assert_allclose(unary, expected_unary, atol=1e-9)
    numpy.testing.assert_allclose(pair, expected_pair, atol=1e-9)
    assert tuple(crf_viterbi(em, tr, st, en)) == seqs[int(scores.argmax())]


def test_crf_viterbi_many_equals_one_at_a_time():
    """Stepped together, longest first, each sequence gets crf_viterbi's own
    path: lengths 0 and 1, ties (integer scores) and forbidden moves included."""
    from spacy_mtl.algorithms.crf import crf_viterbi, crf_viterbi_many

    rng = numpy.random.default_rng(11)
    T = 5
    trans, start, end = rng.normal(size=(T, T)), rng.normal(size=T), rng.normal(size=T)
    trans[1, 2] = start[3] = end[0] = -1e4
    seqs = [rng.normal(size=(n, T)) for n in (4, 0, 1, 17, 3, 1, 9, 0)]
    seqs += [rng.integers(-2, 2, size=(n, T)).astype("float64") for n in (6, 2, 11)]
    together = crf_viterbi_many(seqs, trans, start, end)
    assert together == [crf_viterbi(em, trans, start, end) for em in seqs]
    # integer potentials: many equal candidates, where both take the first best predecessor
    int_trans, int_start, int_end = (numpy.round(a) for a in (trans, start, end))
    assert crf_viterbi_many(seqs, int_trans, int_start, int_end) == [crf_viterbi(em, int_trans, int_start, int_end) for em in seqs]
    assert crf_viterbi_many([], trans, start, end) == []
    assert crf_viterbi_many([numpy.zeros((0, T))], trans, start, end) == [[]]


def test_bioes_constraints_and_spans():
    from spacy_mtl.algorithms.crf import bioes_constraints, bioes_to_spans, crf_viterbi, spans_to_bioes

    tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    start, trans, end = bioes_constraints(tags)
    assert start.tolist() == [True, True, False, False, True, True, False, False, True]
    assert trans[1, 2] and trans[1, 3] and not trans[1, 7] and not trans[0, 2] and trans[3, 5]
    # emissions that prefer an ill-formed I-PER start; the constrained decoder must not produce it
    em = numpy.full((3, 9), -5.0)
    em[0, 2], em[1, 3], em[2, 0] = 5.0, 5.0, 5.0
    path = crf_viterbi(em, numpy.where(trans, 0.0, -1e4), numpy.where(start, 0.0, -1e4), numpy.where(end, 0.0, -1e4))
    decoded = [tags[t] for t in path]
    assert decoded[0] in ("O", "B-PER", "S-PER", "B-LOC", "S-LOC")
    assert spans_to_bioes(5, [(0, 2, "PER"), (3, 4, "LOC")]) == ["B-PER", "E-PER", "O", "S-LOC", "O"]
    assert bioes_to_spans(["B-PER", "E-PER", "O", "S-LOC", "O"]) == [(0, 2, "PER"), (3, 4, "LOC")]


@pytest.mark.parametrize("T", [5, 13])
def test_crf_nll_many_equals_one_at_a_time(T):
    """Stepped together in probability space, every sequence gets crf_nll's own
    loss and gradients (log space, one at a time), and the potentials' gradients
    are their sum: lengths 0 and 1, unknown gold tags, forbidden moves, large
    emissions and a gold no path fits (done in log space) included."""
    from spacy_mtl.algorithms.crf import crf_nll, crf_nll_many, crf_viterbi

    rng = numpy.random.default_rng(T)
    trans, start, end = rng.normal(size=(T, T)), rng.normal(size=T), rng.normal(size=T)
    trans[rng.random((T, T)) < 0.3] = start[0] = end[1] = -1e4
    seqs = [rng.normal(scale=scale, size=(n, T)) for n, scale in zip((7, 0, 1, 30, 2, 12, 1, 5), (1, 1, 1, 8, 40, 3, 2, 1))]
    golds = [[None if rng.random() < 0.3 else tag for tag in crf_viterbi(rng.normal(size=em.shape), trans, start, end)]
             for em in seqs]
    golds[5] = [None] * len(seqs[5])  # nothing known: loss 0
    golds[7] = [int(trans.argmin(1)[0]), None, None, None, 0]
    golds[7][1] = int(numpy.flatnonzero(trans[golds[7][0]] == -1e4)[0])  # a forbidden move: log space fallback
    losses, d_ems, d_trans, d_start, d_end = crf_nll_many(seqs, trans, start, end, golds)
    expected = [crf_nll(em, trans, start, end, gold) for em, gold in zip(seqs, golds) if len(em)]
    assert losses[1] == 0.0 and d_ems[1].shape == (0, T)
    kept = [k for k, em in enumerate(seqs) if len(em)]
    assert losses[7] > 1e3  # the forbidden move's price, as crf_nll gives it
    for k, (loss, d_em, *_) in zip(kept, expected):
        assert losses[k] == pytest.approx(loss, rel=1e-9, abs=1e-9)
        numpy.testing.assert_allclose(d_ems[k], d_em, atol=1e-9)
    for got, index in ((d_trans, 2), (d_start, 3), (d_end, 4)):
        numpy.testing.assert_allclose(got, sum(e[index] for e in expected), atol=1e-8)
    assert crf_nll_many([], trans, start, end, [])[0] == []
