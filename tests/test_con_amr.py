"""Constituency (`con`) and AMR (`amr`): algorithms, readers, scorers by hand, the trained heads."""
import numpy
import penman
import pytest
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_mtl.algorithms.cky import cky, cky_many
from spacy_mtl.algorithms.trees import leaves, tree_from_spans, tree_spans
from spacy_mtl.corpora.amr import read_amr, read_graphs
from spacy_mtl.corpora.trees import read_ptb, read_sinica, sinica_split
from spacy_mtl.corpora.ud import CorpusError
from spacy_mtl.extensions import set_layers
from spacy_mtl.pipeline.amr import graph_from_parts, multi_sentence, score_amr, smatch_counts
from spacy_mtl.pipeline.constituency import evalb_brackets, score_con

from .conftest import CORPORA, tiny_config


def _binary_trees(i, j):
    if j - i == 1:
        yield [(i, j)]
        return
    for k in range(i + 1, j):
        for left in _binary_trees(i, k):
            for right in _binary_trees(k, j):
                yield [(i, j)] + left + right


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
def test_cky_finds_the_best_binary_tree(n):
    rng = numpy.random.default_rng(n)
    for _ in range(5):
        scores = rng.normal(size=(n + 1, n + 1))
        best = max(sum(scores[s] for s in tree) for tree in _binary_trees(0, n))
        spans = cky(scores)
        assert len(spans) == 2 * n - 1 and (0, n) in spans
        assert sum(scores[s] for s in spans) == pytest.approx(best)


def test_cky_many_finds_each_sentences_best_tree():
    """Charts filled together over padded sentences of different lengths (0 to 7
    words): each sentence still gets its own best tree."""
    rng = numpy.random.default_rng(11)
    sentences = [rng.normal(size=(n + 1, n + 1)) for n in (3, 0, 7, 1, 5, 2)]
    trees = cky_many(sentences)
    for scores, spans in zip(sentences, trees):
        n = scores.shape[0] - 1
        assert spans == cky(scores)
        if n:
            best = max(sum(scores[s] for s in tree) for tree in _binary_trees(0, n))
            assert len(spans) == 2 * n - 1 and sum(scores[s] for s in spans) == pytest.approx(best)
        else:
            assert spans == []
    assert cky_many([]) == []


def test_tree_spans_round_trip_with_unary_chains():
    tree = ["TOP", ["S", ["VP", ["NP", 0, 1], 2]], 3]
    spans = tree_spans(tree)
    assert spans == {(0, 2): ["NP"], (0, 3): ["S", "VP"]}
    assert tree_from_spans(0, 4, spans) == tree


def test_tree_from_spans_drops_crossing_spans_and_keeps_every_token():
    tree = tree_from_spans(0, 5, {(0, 3): ["A"], (2, 5): ["B"], (3, 4): ["C"], (1, 1): ["D"]})
    assert tree == ["TOP", ["A", 0, 1, 2], ["C", 3], 4]
    assert sorted(leaves(tree)) == list(range(5))


def _con_doc(words, tree, spaces=False):
    doc = Doc(Vocab(), words=words, spaces=[spaces] * len(words))
    doc._.con = [tree]
    set_layers(doc, ["con"])
    return doc


def test_evalb_scorer_by_hand():
    words = ["我", "爱", "北京", "天安门", "。"]
    gold = _con_doc(words, ["TOP", ["S", ["NP", 0], ["VP", 1, ["NP", 2, 3]]], 4])
    # predicted: NP over 北京 alone instead of 北京天安门, and S covers the full stop
    pred = _con_doc(words, ["TOP", ["S", ["NP", 0], ["VP", 1, ["NP", 2], 3], 4]])
    # gold brackets: S(0-4) NP(0-1) VP(1-4) NP(2-4); the "。" is punctuation, so S in pred is S(0-4) too
    assert sorted(evalb_brackets(gold)) == sorted([("S", 0, 7), ("NP", 0, 1), ("VP", 1, 7), ("NP", 2, 7)])
    scores = score_con([Example(pred, gold)])
    # pred brackets: S NP VP NP(北京) → 3 of 4 match both ways
    assert scores["con_p"] == pytest.approx(3 / 4) and scores["con_r"] == pytest.approx(3 / 4)
    assert scores["con_f"] == pytest.approx(3 / 4)


def test_evalb_counts_unary_chains_once_per_label():
    gold = _con_doc(["a", "b"], ["TOP", ["S", ["VP", 0, 1]]], spaces=True)
    pred = _con_doc(["a", "b"], ["TOP", ["S", 0, 1]], spaces=True)
    scores = score_con([Example(pred, gold)])
    assert scores["con_p"] == 1.0 and scores["con_r"] == 0.5


def test_sinica_reader_keeps_punctuation_and_converts_to_simplified():
    docs = [doc for _, doc in zip(range(3), (d for _, d in read_sinica(CORPORA / "sinica_treebank" / "sinica_treebank.zip")))]
    third = docs[2]
    assert third.text == "嘉珍和我住在同一条巷子，"  # 條 → 条, final comma kept
    assert third._.con == [["TOP", ["S", ["NP", ["N", 0, 1, 2]], 3, ["NP", 4, 5]], 6]]


def test_sinica_split_is_fixed_and_documented():
    split = sinica_split(CORPORA / "sinica_treebank" / "sinica_treebank.zip")
    assert {k: len(v) for k, v in split.items()} == {"train": 7974, "dev": 1010, "test": 1016}


def test_ptb_reader_strips_empty_elements_and_function_tags(tmp_path):
    path = tmp_path / "x.mrg"
    path.write_text("( (S (NP-SBJ-1 (-NONE- *T*-1)) (NP-SBJ (PRP It)) (VP (VBZ is) (ADJP-PRD (JJ fine))) (. .)) )\n")
    (doc,) = read_ptb(path)
    assert doc.text == "It is fine ."
    assert doc._.con == [["TOP", ["S", ["NP", 0], ["VP", 1, ["ADJP", 2]], 3]]]
    assert doc._.con_strings == ["(TOP (S (NP (_ It)) (VP (_ is) (ADJP (_ fine))) (_ .)))"]
    assert doc._.con_trees[0].leaves() == ["It", "is", "fine", "."]
    path.write_text("( (S (NP (NN a)) )\n")
    with pytest.raises(CorpusError, match="x.mrg"):
        list(read_ptb(path))


SMALL_AMR = "(w / want-01 :ARG0 (b / boy) :ARG1 (g / go-01 :ARG0 b))"


def test_smatch_by_hand():
    # gold: 3 instances + 3 relations + the TOP attribute smatch adds = 7 triples
    assert smatch_counts(SMALL_AMR, SMALL_AMR) == (7, 7, 7)
    # predicted drops the re-entrant :ARG0 of go-01: 6 of its 6 match, 6 of gold's 7
    pred = "(w / want-01 :ARG0 (b / boy) :ARG1 (g / go-01))"
    assert smatch_counts(pred, SMALL_AMR) == (6, 6, 7)
    gold_doc = Doc(Vocab(), words=["男孩", "想", "去"])
    gold_doc._.amr = [{"penman": SMALL_AMR, "triples": [], "top": "w", "alignments": {}}]
    pred_doc = Doc(Vocab(), words=["男孩", "想", "去"])
    pred_doc._.amr = [{"penman": pred, "triples": [], "top": "w", "alignments": {}}]
    scores = score_amr([Example(pred_doc, gold_doc)])
    assert scores["amr_smatch_p"] == 1.0 and scores["amr_smatch_r"] == pytest.approx(6 / 7)


def test_amr_reader_aligns_and_reports_bad_graphs(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("# ::snt The boy wants to go .\n" + SMALL_AMR + "\n\n# ::snt bad\n(w / want-01 :ARG0 (b / boy)\n")
    with pytest.raises(CorpusError, match=r"a.txt:4"):
        read_amr(path)
    (doc,) = read_amr(path, on_error="skip")
    record = doc._.amr[0]
    assert doc.text == "The boy wants to go ."
    assert {v: doc[i].text for v, i in record["alignments"].items()} == {"w": "wants", "b": "boy", "g": "go"}
    assert penman.decode(record["penman"]).triples == penman.decode(SMALL_AMR).triples


def test_little_prince_zh_has_every_graph():
    docs = read_amr(CORPORA / "AMR-LittlePrince" / "amr-bank-struct-v1.6-test.txt", text_field="zh")
    assert len(docs) == 143 and all(d._.amr and d.text for d in docs)
    assert sum(len(d._.amr[0]["alignments"]) for d in docs) > 0


def test_graph_builders_give_valid_penman():
    record = graph_from_parts({0: "boy", 1: "want-01", 2: "go-01"}, [(1, 0, ":ARG0"), (1, 2, ":ARG1"), (2, 0, ":ARG0")], 1)
    assert smatch_counts(record["penman"], SMALL_AMR) == (7, 7, 7)
    merged = multi_sentence([record, graph_from_parts({3: "boy"}, [], 3)])
    graph = penman.decode(merged["penman"])
    assert graph.top == merged["top"] and ("m", ":instance", "multi-sentence") in graph.triples
    assert len(graph.instances()) == 5


def _check_outputs(doc):
    has_sents = doc.has_annotation("SENT_START") or doc.has_annotation("DEP")
    n_sents = len(list(doc.sents)) if has_sents else int(len(doc) > 0)
    assert len(doc._.con) == len(doc._.amr) == n_sents
    covered = sorted(i for tree in doc._.con for i in leaves(tree))
    assert covered == list(range(len(doc)))
    assert all(tree[0] == "TOP" for tree in doc._.con)
    for graph in doc._.amr:
        decoded = penman.decode(graph["penman"])  # valid PENMAN, one top, connected
        assert decoded.top == graph["top"]
        assert all(0 <= i < len(doc) for i in graph["alignments"].values())
        variables = {v for v, _, _ in decoded.instances()}
        assert all(s in variables and t in variables for s, _, t in decoded.edges())


@pytest.mark.parametrize("text", ["", "好", "我爱北京天安门。今天天气很好！", "我" * 300, "他说" + "很好" * 150])
def test_trained_heads_always_give_valid_trees_and_graphs(trained_nlp, text):
    nlp, _ = trained_nlp
    doc = nlp(text)
    assert doc.text == text
    _check_outputs(doc)
    if text:
        assert doc._.amr and doc._.con
        assert set(doc._.to_dict()) >= {"con", "amr"}


def test_pretokenised_300_word_sentence(trained_nlp):
    """One 300-word sentence is scored in two windows (max_words 200) and still
    gives one tree and one (multi-sentence) graph."""
    nlp, _ = trained_nlp
    doc = Doc(nlp.vocab, words=["词"] * 300, spaces=[False] * 300)
    for name in ("transformer", "con", "amr"):
        doc = nlp.get_pipe(name)(doc)
    _check_outputs(doc)
    assert len(doc._.amr) == 1 and len(doc._.con) == 1
    assert sorted(leaves(doc._.con[0])) == list(range(300))


def test_con_and_amr_learn_and_reload(trained_nlp, corpus_files, tmp_path):
    """Losses fall as the heads train on their corpora; saved and reloaded, they predict the same."""
    import spacy
    from thinc.api import Adam

    from spacy_mtl.corpora.readers import gold_words_doc

    nlp = spacy.load(trained_nlp[1])  # a copy: the shared pipeline stays as it is
    refs = list(DocBin().from_disk(corpus_files[4]).get_docs(nlp.vocab)) + list(DocBin().from_disk(corpus_files[6]).get_docs(nlp.vocab))
    examples = [Example(gold_words_doc(d), d) for d in refs]
    optimizer = Adam(0.001)
    losses = [nlp.update(examples, sgd=optimizer, losses={}) for _ in range(4)]
    assert losses[-1]["con"] < losses[0]["con"] and losses[-1]["amr"] < losses[0]["amr"]
    scores = nlp.evaluate(examples)
    assert 0.0 <= scores["con_f"] <= 1.0 and 0.0 <= scores["amr_smatch_f"] <= 1.0
    text = "我爱北京天安门。"
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    assert again(text)._.con == nlp(text)._.con and again(text)._.amr == nlp(text)._.amr


def test_renderers_draw_every_word_phrase_and_concept():
    from spacy_mtl.visualize import render_amr, render_con

    doc = _con_doc(["我", "爱", "北京", "。"], ["TOP", ["S", ["NP", 0], ["VP", 1, ["NP", 2]]], 3])
    svg = render_con(doc)
    assert svg.count('class="word"') == 4 and svg.count('class="phrase"') == 5  # TOP S NP VP NP
    doc._.amr = [graph_from_parts({0: "i", 1: "love-01", 2: "city"}, [(1, 0, ":ARG0"), (1, 2, ":ARG1")], 1)]
    view = render_amr(doc)
    svg, penman_text = view.split("<pre>")
    assert all(f"/{c}<" in svg for c in ("i", "love-01", "city")) and svg.count(":ARG") == 2
    assert "(北京)" in svg and penman_text.startswith("(l / love-01 :ARG0 (i / i) :ARG1 (c / city))")


def test_decoding_knobs_change_what_is_kept_and_are_saved(trained_nlp, tmp_path):
    """con's span_threshold, amr's no_concept_penalty and srl's no_predicate_penalty:
    0 decodes as before; a lower threshold or a higher penalty keeps at least as
    much (more spans, concepts, predicates); the values are saved with the pipeline."""
    import spacy

    from spacy_mtl.algorithms.trees import tree_spans

    nlp = spacy.load(trained_nlp[1])  # a copy: the shared pipeline stays as it is
    texts = ["我爱北京天安门。今天天气很好！", "他说我们明天去上海，然后回到北京。"]
    with nlp.select_pipes(disable=["con", "amr", "srl"]):
        docs = list(nlp.pipe(texts))
    con, amr, srl = (nlp.get_pipe(n) for n in ("con", "amr", "srl"))

    def counts():
        out = [list(p.pipe(docs)) for p in (con, amr, srl)]
        spans = sum(len(tree_spans(t)) for d in out[0] for t in d._.con)
        concepts = sum(sum(1 for t in g["triples"] if t[1] == ":instance") for d in out[1] for g in d._.amr)
        predicates = sum(len(d._.srl) for d in out[2])
        return spans, concepts, predicates, [d._.to_dict() for d in out[2]]

    assert (con.cfg["span_threshold"], amr.cfg["no_concept_penalty"], srl.cfg["no_predicate_penalty"]) == (0.0, 0.0, 0.0)
    base = counts()
    assert base[3] == [d._.to_dict() for d in nlp.pipe(texts)]  # 0: the pipeline's own output
    con.cfg["span_threshold"], amr.cfg["no_concept_penalty"], srl.cfg["no_predicate_penalty"] = -30.0, 30.0, 30.0
    loose = counts()
    assert all(a >= b for a, b in zip(loose[:3], base[:3])) and loose[2] == sum(len(d) for d in docs)
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")
    assert again.get_pipe("con").cfg["span_threshold"] == -30.0
    assert again.get_pipe("amr").cfg["no_concept_penalty"] == 30.0
    assert again.get_pipe("srl").cfg["no_predicate_penalty"] == 30.0
