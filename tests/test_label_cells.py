"""Training scores labels only at the gold cells: the same loss and gradients as the full label tensor."""
import numpy
import pytest
import spacy
import torch
from spacy.training import Example
from spacy.util import fix_random_seed
from thinc.api import SGD

from spacy_mtl.corpora.readers import gold_words_doc
from spacy_mtl.ml.models.biaffine import BiaffineScorer, CellLabels, NodeBiaffineScorer, sentence_chunks

BIAFFINE_HEADS = ("dep", "sdp", "con", "amr")


# cells (chunk, i, j): the first set has fewer distinct columns (W is applied per
# column), the second fewer distinct rows (W applied per row)
SHARED_COLUMNS = [(0, 1, 0), (0, 3, 2), (1, 2, 4), (1, 4, 4), (1, 1, 3)]
SHARED_ROWS = [(0, 1, 0), (0, 1, 2), (1, 2, 4), (1, 2, 1), (1, 2, 3)]


@pytest.mark.parametrize("cells", [SHARED_COLUMNS, SHARED_ROWS])
@pytest.mark.parametrize("scorer_class", [BiaffineScorer, NodeBiaffineScorer])
def test_scorer_cells_equal_the_full_label_tensor_forward_and_backward(scorer_class, cells):
    torch.manual_seed(0)
    args = (8, 6, 5, 4, 0.0) + ((3,) if scorer_class is NodeBiaffineScorer else ())
    scorer = scorer_class(*args)
    for p in scorer.parameters():
        torch.nn.init.normal_(p)
    words = torch.randn(2, 4, 8)
    batch, rows, cols = (torch.tensor(c) for c in zip(*cells))
    weights = torch.randn(len(cells), 4)

    full = scorer(words)[1][batch, rows, cols]
    (full * weights).sum().backward()
    full_grads = [None if p.grad is None else p.grad.clone() for p in scorer.parameters()]
    scorer.zero_grad()
    sparse = scorer(words, (batch, rows, cols))[1]
    (sparse * weights).sum().backward()

    assert sparse.shape == (len(cells), 4)
    torch.testing.assert_close(sparse, full)
    assert sum(g is not None for g in full_grads) >= 4  # the label layers and the root
    for grad, p in zip(full_grads, scorer.parameters()):
        assert (grad is None) == (p.grad is None)
        if grad is not None:
            torch.testing.assert_close(p.grad, grad)


def _examples(docs):
    return [Example(gold_words_doc(ref), ref) for ref in docs]


@pytest.mark.parametrize("head", BIAFFINE_HEADS)
def test_head_loss_on_cells_equals_the_loss_on_full_label_scores(trained_nlp, gsd_docs, sdp_docs, con_docs, amr_docs,
                                                                 head):
    nlp, _ = trained_nlp
    pipe = nlp.get_pipe(head)
    docs = {"dep": gsd_docs, "sdp": sdp_docs, "con": con_docs, "amr": amr_docs}[head][:6]
    examples = _examples(docs)
    chunks = sentence_chunks([eg.predicted for eg in examples], pipe.model.attrs["max_words"])
    rng = numpy.random.default_rng(0)
    n_labels = len(pipe.labels)
    arcs = [rng.normal(size=(e - s + 1, e - s + 1)).astype("f") for _, s, e in chunks]
    rels = [rng.normal(size=(e - s + 1, e - s + 1, n_labels)).astype("f") for _, s, e in chunks]
    extra = [[rng.normal(size=(e - s + 1, len(pipe.concepts))).astype("f") for _, s, e in chunks]] if head == "amr" else []
    cells = [sorted(pipe.label_gold(examples[d], s, e) or {}) for d, s, e in chunks]
    assert sum(map(len, cells)) > 0
    on_cells = [CellLabels(rel[tuple(zip(*c))] if c else rel[:0, 0], {cell: k for k, cell in enumerate(c)})
                for rel, c in zip(rels, cells)]

    loss, grads = pipe.get_loss(examples, (chunks, arcs, rels, *extra))
    cell_loss, cell_grads = pipe.get_loss(examples, (chunks, arcs, on_cells, *extra))

    assert cell_loss == pytest.approx(loss, rel=1e-6)
    for full, sparse in zip(grads[0], cell_grads[0]):  # arc gradients are untouched
        numpy.testing.assert_allclose(sparse, full)
    for full, sparse, c in zip(grads[1], cell_grads[1], cells):
        kept = numpy.zeros(full.shape[:2], dtype=bool)
        if c:
            kept[tuple(zip(*c))] = True
            numpy.testing.assert_allclose(sparse.scores, full[tuple(zip(*c))], rtol=1e-6)
        assert not full[~kept].any()  # the full tensor has no gradient outside the gold cells


def _torch_params(nlp):
    params = {}
    for name in ("transformer", *BIAFFINE_HEADS):
        module = nlp.get_pipe(name).model.layers[-1 if name != "transformer" else 0].shims[0]._model
        params.update({f"{name}.{k}": v.detach().clone() for k, v in module.state_dict().items()})
    return params


def test_an_update_on_cells_moves_the_weights_as_the_full_label_tensor_does(trained_nlp, corpus_files, monkeypatch):
    from spacy.pipeline import TrainablePipe
    from spacy.tokens import DocBin

    from spacy_mtl.pipeline._base import BiaffinePipe

    _, saved = trained_nlp
    moved = []
    for cells in (True, False):
        nlp = spacy.load(saved)
        refs = [d for path in corpus_files[:8:2] for d in list(DocBin().from_disk(path).get_docs(nlp.vocab))[:4]]
        if not cells:  # the plain TrainablePipe.update: no cells named, full label tensors
            monkeypatch.setattr(BiaffinePipe, "update", TrainablePipe.update)
        before = _torch_params(nlp)
        fix_random_seed(0)
        nlp.update(_examples(refs), sgd=SGD(1.0), losses={})
        after = _torch_params(nlp)
        moved.append({k: after[k] - before[k] for k in before})
    on_cells, on_full = moved
    assert any(v.abs().sum() > 0 for k, v in on_cells.items() if k.startswith("sdp.rel."))
    for key in on_full:
        torch.testing.assert_close(on_cells[key], on_full[key], rtol=1e-4, atol=1e-6, msg=key)


def test_sentence_bounds_are_doc_sents():
    """Read from the sentence-start array, the bounds are ``doc.sents``' for
    any mix of set, unset and missing starts, and from a parse's heads."""
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    from spacy_mtl.ml.models.biaffine import sentence_bounds

    vocab, rng = Vocab(), numpy.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        starts = [bool(rng.integers(0, 2)) if rng.random() < 0.8 else None for _ in range(n)]
        doc = Doc(vocab, words=[chr(0x4E00 + i) for i in range(n)], sent_starts=starts)
        expected = [(s.start, s.end) for s in doc.sents] if doc.has_annotation("SENT_START") else [(0, n)]
        assert sentence_bounds(doc) == expected
    parsed = Doc(vocab, words=list("abcde"), heads=[1, 1, 1, 4, 4], deps=["x"] * 5)
    assert sentence_bounds(parsed) == [(0, 3), (3, 5)]
    assert sentence_bounds(Doc(vocab, words=[])) == [(0, 0)]
