"""SRL and SDP: readers, scorers by hand, serialisation of the Doc extensions."""
import json

import numpy
import pytest
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab

import spacy_mtl.pipeline.srl as srl_module
from spacy_mtl.algorithms.crf import bioes_to_spans, crf_viterbi
from spacy_mtl.corpora.sdp import fallback_split, read_semeval
from spacy_mtl.corpora.srl import add_frames, read_up
from spacy_mtl.corpora.ud import CorpusError
from spacy_mtl.extensions import set_layers
from spacy_mtl.ml.models.srl import pair_features
from spacy_mtl.pipeline.graph_parser import decode_graph, score_sdp
from spacy_mtl.pipeline.srl import score_srl

from .conftest import CORPORA

SEMEVAL = """1	制约	制约	VV	VV	_	3	rExp	_	_
2	吸引	吸引	VV	VV	_	1	dPat	_	_
3	建设	建设	NN	NN	_	0	Root	_	_
3	建设	建设	NN	NN	_	2	Exp	_	_

"""
UP = """# sent_id = dev-s9
# text = ...
1	_	_	_
2	give.01	A0:1|A1:3	A0:1-1|A1:3-4
3	_	_	_
4	_	_	_

"""


def test_semeval_words_with_several_heads(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(SEMEVAL, encoding="utf8")
    (doc,) = read_semeval(path)
    assert [t.text for t in doc] == ["制约", "吸引", "建设"]
    assert doc._.sdp == [[-1, 2, "Root"], [0, 1, "dPat"], [1, 2, "Exp"], [2, 0, "rExp"]]
    assert [(h.text if h else None, label) for h, label in doc[2]._.sdp_heads] == [(None, "Root"), ("吸引", "Exp")]
    assert doc._.mtl_layers == ["sdp"]


def test_semeval_bad_arc_reports_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text(SEMEVAL + "1	甲	甲	NN	NN	_	7	Exp	_	_\n\n", encoding="utf8")
    with pytest.raises(CorpusError, match=r"bad\.conll:6: an arc points outside"):
        list(read_semeval(path))
    assert len(list(read_semeval(path, on_error="skip"))) == 1


def test_semeval_fallback_split_sizes():
    split = fallback_split(CORPORA / "SemEval-2016")
    assert {k: len(v) for k, v in split.items()} == {"train": 4306, "dev": 1035, "test": 1034}


def test_up_frames_join_by_sentence_id(tmp_path):
    path = tmp_path / "a.conllup"
    path.write_text(UP, encoding="utf8")
    frames = read_up(path)
    assert frames == {"dev-s9": [{"predicate": 1, "sense": "give.01", "arguments": [[0, 1, "A0"], [2, 4, "A1"]],
                                  "heads": [[0, "A0"], [2, "A1"]]}]}
    doc = Doc(Vocab(), words=["他", "给", "我", "书"], spaces=[False] * 4)
    doc.user_data["sent_id"] = "dev-s9"
    assert add_frames([doc], frames) == 1
    frame = doc._.srl_frames[0]
    assert frame["predicate"].text == "给" and [(s.text, s.label_) for s in frame["arguments"]] == [("他", "A0"), ("我书", "A1")]


def test_sdp_scorer_by_hand():
    vocab = Vocab()
    gold = Doc(vocab, words=["甲", "乙", "丙"])
    gold._.sdp = [[-1, 1, "Root"], [1, 0, "Agt"], [1, 2, "Pat"], [0, 2, "Desc"]]
    pred = Doc(vocab, words=["甲", "乙", "丙"])
    pred._.sdp = [[-1, 1, "Root"], [1, 0, "Pat"], [1, 2, "Pat"]]
    set_layers(gold, ["sdp"])
    s = score_sdp([Example(pred, gold)])
    # labelled: Root and 乙→丙 Pat right (2 of 3 predicted, 2 of 4 gold): LF = 4/7; unlabelled 3 right: UF = 6/7
    assert s["sdp_lf"] == pytest.approx(4 / 7) and s["sdp_uf"] == pytest.approx(6 / 7)
    # non-local (words with two heads): gold 丙's two arcs; predicted none -> NUF = 0
    assert s["sdp_nuf"] == pytest.approx(0.0)


def test_srl_scorer_by_hand():
    vocab = Vocab()
    words = ["他", "给", "我", "书"]
    gold = Doc(vocab, words=words, heads=[1, 1, 1, 1], deps=["nsubj", "root", "iobj", "obj"])
    gold._.srl = [{"predicate": 1, "sense": "give.01", "arguments": [[0, 1, "A0"], [2, 4, "A1"]], "heads": [[0, "A0"], [3, "A1"]]}]
    set_layers(gold, ["srl"])
    pred = Doc(vocab, words=words, heads=[1, 1, 3, 1], deps=["nsubj", "root", "nmod", "obj"])
    pred._.srl = [{"predicate": 1, "sense": "give.02", "arguments": [[0, 1, "A0"], [2, 4, "A2"]]},
                  {"predicate": 3, "sense": "book.01", "arguments": []}]
    s = score_srl([Example(pred, gold)])
    assert s["srl_pred_p"] == pytest.approx(1 / 2) and s["srl_pred_r"] == pytest.approx(1.0)
    assert s["srl_sense_f"] == pytest.approx(0.0)
    # arguments: A0 right, A1 labelled A2: P = R = 1/2
    assert s["srl_arg_f"] == pytest.approx(0.5)
    # heads: predicted A0 root 他 right; A2 span root 书 vs gold A1 head 书 but label differs
    assert s["srl_arg_head_f"] == pytest.approx(0.5)


def test_graph_decoding_covers_every_word():
    import numpy

    scores = numpy.full((4, 4), -10.0)  # nothing above threshold: every word keeps its best head
    scores[1, 2], scores[2, 0], scores[3, 2] = 1.0 - 10, 2.0 - 10, 0.5 - 10
    arcs = decode_graph(scores, 0.5)
    assert sorted(d for d, _ in arcs) == [1, 2, 3]
    assert (2, 0) in arcs


def test_extensions_survive_docbin_bytes_and_two_processes(trained_nlp):
    nlp, _ = trained_nlp
    texts = ["我爱北京天安门。", "他在2008年去了上海。", "好", ""]
    docs = list(nlp.pipe(texts))
    views = [d._.to_dict() for d in docs]
    for doc in docs:
        n = len(doc)
        assert all(-1 <= h < n and 0 <= d < n for h, d, _ in doc._.sdp or [])
        assert all(0 <= f["predicate"] < n and all(0 <= s < e <= n for s, e, _ in f["arguments"]) for f in doc._.srl or [])
        if len(doc):
            assert {d for _, d, _ in doc._.sdp} == set(range(len(doc)))  # every word has a head
    restored = list(DocBin(docs=docs, store_user_data=True).get_docs(nlp.vocab))
    assert [d._.to_dict() for d in restored] == views
    assert [Doc(nlp.vocab).from_bytes(d.to_bytes())._.to_dict() for d in docs] == views
    in_two = [d._.to_dict() for d in nlp.pipe(texts, n_process=2, batch_size=2)]
    assert json.loads(json.dumps(in_two)) == json.loads(json.dumps(views))
    assert docs[-1]._.srl == [] and docs[-1]._.to_dict()["tok"] == []


def _one_call_per_predicate(srl, docs, is_predicate):
    """The frames of ``docs`` scored one predicate at a time (the reference)."""
    tok2vec, _, arguments = srl.model.layers
    trans, start, end = srl.crf_potentials()
    out = []
    for doc, X in zip(docs, tok2vec.predict(docs)):
        frames = []
        for sent in doc.sents if len(doc) else []:  # short sentences: each is one stretch
            for p in filter(is_predicate, range(sent.start, sent.end)):
                F, _ = pair_features(X[sent.start:sent.end], p - sent.start)
                path = crf_viterbi(numpy.asarray(arguments.predict(F), dtype="float64"), trans, start, end)
                frames.append({"predicate": p, "sense": srl.cfg["senses"][1], "arguments": [
                    [sent.start + s, sent.start + e, label] for s, e, label in bioes_to_spans([srl.tags[t] for t in path])]})
        out.append(frames)
    return out


def test_srl_scores_many_predicates_in_one_call_as_one_call_each(trained_nlp, monkeypatch):
    """Prediction stacks the pair features of many predicates into one call: the
    frames equal those of one call per predicate, whatever the block size."""
    nlp, _ = trained_nlp
    srl = nlp.get_pipe("srl")
    with nlp.select_pipes(disable=["srl"]):
        docs = list(nlp.pipe(["今天北京下雨了。他说：“我们明天去上海！”", "我爱北京天安门。", ""]))

    def every_even_word(predicates, X, no_predicate_penalty):  # predicate classes: sense 1 at even words, else none
        return (numpy.arange(len(X)) % 2 == 0).astype("int64")

    monkeypatch.setattr(srl_module, "predicate_classes", every_even_word)
    expected = _one_call_per_predicate(srl, docs, lambda p: p % 2 == 0)
    assert sum(len(f) for f in expected) > 5
    assert srl.predict(docs) == expected
    monkeypatch.setattr(srl_module, "MAX_ROWS", 7)  # many blocks, some of a single predicate
    assert srl.predict(docs) == expected


def test_argument_emissions_equal_the_stacked_pair_features():
    """The split first layer gives, row for row, what the argument layers give
    on [x; x_p; x * x_p] stacked for every predicate."""
    from thinc.api import Linear, Maxout, chain

    from spacy_mtl.ml.models.srl import argument_emissions

    rng = numpy.random.default_rng(7)
    d = 6
    arguments = chain(Maxout(nO=8, dropout=0.1, normalize=True), Linear(nO=5))
    arguments.initialize(X=rng.normal(size=(4, 3 * d)).astype("f"))
    stretches = [rng.normal(size=(n, d)).astype("f") for n in (4, 1, 7)]
    pairs = [(0, 3), (2, 0), (0, 1), (1, 0), (2, 6)]
    expected = arguments.predict(numpy.vstack([pair_features(stretches[s], p)[0] for s, p in pairs]))
    numpy.testing.assert_allclose(argument_emissions(arguments, stretches, pairs), expected, rtol=1e-4, atol=1e-5)


def test_predicate_classes_are_the_softmax_argmax():
    from thinc.api import Softmax_v2

    from spacy_mtl.ml.models.srl import predicate_classes

    rng = numpy.random.default_rng(3)
    predicates = Softmax_v2(nO=40)
    predicates.initialize(X=rng.normal(size=(5, 12)).astype("f"))
    predicates.set_param("W", rng.normal(size=(40, 12)).astype("f"))
    X = rng.normal(size=(300, 12)).astype("f")
    assert predicate_classes(predicates, X).tolist() == predicates.predict(X).argmax(1).tolist()


def test_single_threaded_blas_limits_numpy_blas_and_restores_it():
    from threadpoolctl import threadpool_info

    from spacy_mtl.ml.inference import single_threaded_blas

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas_threads()
    assert before, "numpy has a BLAS library to limit"
    with single_threaded_blas():
        assert set(blas_threads()) == {1}
    assert blas_threads() == before


def _update_one_predicate_at_a_time(self, examples, *, drop=0.0, sgd=None, losses=None):
    """The SRL update as it was: the argument layers and the CRF loss of each
    gold predicate on their own (the reference for the batched update)."""
    from thinc.api import set_dropout_rate

    from spacy_mtl.algorithms.crf import crf_nll, spans_to_bioes

    losses = {} if losses is None else losses
    losses.setdefault(self.name, 0.0)
    set_dropout_rate(self.model, drop)
    tok2vec, predicates, arguments = self.model.layers
    vectors, bp_vectors = tok2vec.begin_update([eg.predicted for eg in examples])
    d_vectors = [numpy.zeros_like(X) for X in vectors]
    trans, start, end = self.crf_potentials()
    d_trans, d_start, d_end = numpy.zeros_like(trans), numpy.zeros_like(start), numpy.zeros_like(end)
    senses = {s: i for i, s in enumerate(self.cfg["senses"])}
    tags = {t: i for i, t in enumerate(self.tags)}
    for i, (eg, X) in enumerate(zip(examples, vectors)):
        ref = eg.reference
        if not len(X) or ref._.srl is None or not srl_module._words_match(eg.predicted, ref):
            continue
        probs, bp_pred = predicates.begin_update(X)
        gold = numpy.zeros(len(X), dtype="i")
        for f in ref._.srl:
            gold[f["predicate"]] = senses.get(f["sense"], 1)
        d_probs = probs.copy()
        d_probs[numpy.arange(len(X)), gold] -= 1.0
        losses[self.name] -= float(numpy.log(probs[numpy.arange(len(X)), gold] + 1e-9).sum())
        d_vectors[i] += bp_pred(d_probs)
        for f in ref._.srl:
            F, bp_F = pair_features(X, f["predicate"])
            emissions, bp_args = arguments.begin_update(F)
            gold_tags = [tags.get(t, 0) for t in spans_to_bioes(len(X), srl_module._non_overlapping(f["arguments"]))]
            nll, d_em, d_t, d_s, d_e = crf_nll(numpy.asarray(emissions, dtype="float64"), trans, start, end, gold_tags)
            losses[self.name] += nll
            d_trans, d_start, d_end = d_trans + d_t, d_start + d_s, d_end + d_e
            d_vectors[i] += bp_F(bp_args(d_em.astype("f")))
    self.add_crf_gradients(d_trans, d_start, d_end)
    bp_vectors(d_vectors)
    return losses


def test_srl_update_of_all_predicates_at_once_equals_one_at_a_time(trained_nlp, corpus_files, monkeypatch):
    """Training stacks every gold predicate's pair features into one pass of the
    argument layers and one CRF call: without dropout, the loss and every
    gradient of the SRL head are those of one predicate at a time."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.util import fix_random_seed

    _, path = trained_nlp
    nlp = spacy.load(path)
    refs = [d for d in DocBin().from_disk(corpus_files[0]).get_docs(nlp.vocab) if d._.srl][:6]
    assert sum(len(d._.srl) for d in refs) > 6
    examples = [Example(Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]), d)
                for d in refs]
    srl = nlp.get_pipe("srl")
    tok2vec = srl.model.layers[0]
    to_encoder = []  # the word-vector gradients the head hands back to the encoder
    forward = tok2vec._func

    def recording_forward(model, docs, is_train):
        vectors, backprop = forward(model, docs, is_train)
        return vectors, lambda d_vectors: backprop(to_encoder.append([d.copy() for d in d_vectors]) or d_vectors)

    monkeypatch.setattr(tok2vec, "_func", recording_forward)

    def srl_gradients_and_loss():
        for node in srl.model.walk():
            for name in node.grad_names:
                node.set_grad(name, numpy.zeros_like(node.get_grad(name)))
        losses = {}
        fix_random_seed(0)  # the encoder's own dropout (torch's) draws the same masks in both runs
        nlp.update(examples, drop=0.0, sgd=False, losses=losses, exclude=["tok"])  # gradients only
        grads = {(node.id, name): node.get_grad(name).copy() for node in srl.model.walk() for name in node.grad_names}
        grads.update({("to encoder", i): d for i, d in enumerate(to_encoder.pop())})
        return losses["srl"], grads

    batched_loss, batched = srl_gradients_and_loss()
    monkeypatch.setattr(srl_module.SemanticRoleLabeler, "update", _update_one_predicate_at_a_time)
    one_loss, one_at_a_time = srl_gradients_and_loss()
    assert batched_loss == pytest.approx(one_loss, rel=1e-5)
    assert batched.keys() == one_at_a_time.keys() and len(batched) > 6 + len(examples)
    for key, grad in one_at_a_time.items():
        numpy.testing.assert_allclose(batched[key], grad, rtol=1e-4, atol=1e-6)
