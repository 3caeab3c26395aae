"""Long texts in sentence groups (spacy_mtl.long_docs): same analysis as one pass, bounded work per pass."""
import pytest
from spacy.tokens import Doc

from spacy_mtl.extensions import shift_annotation
from spacy_mtl.long_docs import analyse_long, join_docs, pipe_long, sentence_groups

from .test_properties import check_doc

# sentences of several lengths, a line break, ". " and a closing quote after the final mark
TEXT = ("今天北京下雨了。他说：“我们明天去上海！”你觉得呢？\n"
        "iPhone售价很高. 他在2008年去了上海，然后回到北京。" * 12)


def full_analysis(doc):
    return {**doc._.to_dict(), "sents": [s.start for s in doc.sents], "srl_raw": doc._.srl, "sdp_raw": doc._.sdp,
            "con_raw": doc._.con, "amr_raw": doc._.amr,
            "spans": {k: [(s.start, s.end, s.label_) for s in g] for k, g in doc.spans.items()}}


def test_sentence_groups_cut_at_sentence_ends_and_keep_the_text(trained_nlp):
    nlp, _ = trained_nlp
    groups = sentence_groups(nlp, TEXT, max_chars=100)
    assert "".join(groups) == TEXT
    assert len(groups) > 5 and all(len(g) <= 100 for g in groups)
    for group in groups[:-1]:
        assert group[-1] in "。！？”"  # never at the line break or the ". " (the sentencizer goes on there)
    assert sentence_groups(nlp, TEXT, max_chars=len(TEXT)) == [TEXT]
    one_sentence = "啊" * 300  # no sentence end: one group, however long
    assert sentence_groups(nlp, one_sentence, max_chars=50) == [one_sentence]
    with pytest.raises(ValueError, match="max_chars"):
        sentence_groups(nlp, TEXT, max_chars=0)


def test_long_text_in_groups_gets_the_analysis_of_one_pass(trained_nlp):
    nlp, _ = trained_nlp
    whole = nlp(TEXT)
    joined = analyse_long(nlp, TEXT, max_chars=100)
    check_doc(joined, TEXT)
    assert joined._.trf_data is None  # the encoder output is what is not kept
    assert full_analysis(joined) == full_analysis(whole)


def test_each_group_is_its_own_encoder_pass(trained_nlp):
    nlp, _ = trained_nlp
    model = nlp.get_pipe("transformer").model
    before = model.attrs.get("forward_calls", 0)
    analyse_long(nlp, TEXT, max_chars=100)
    assert model.attrs["forward_calls"] - before == len(sentence_groups(nlp, TEXT, max_chars=100))


def test_pipe_long_keeps_order_and_passes_short_texts_and_docs_through(trained_nlp):
    nlp, _ = trained_nlp
    words = Doc(nlp.vocab, words=["我", "爱", "北京", "。"])
    inputs = ["我爱北京天安门。", TEXT, "", words, TEXT[:50], TEXT]
    disable = ["tok"]  # a Doc of words skips segmentation; the texts then stay characters
    docs = list(pipe_long(nlp, inputs, max_chars=100, batch_size=2, disable=disable))
    assert [d.text for d in docs] == [d if isinstance(d, str) else d.text for d in inputs]
    assert [t.text for t in docs[3]] == ["我", "爱", "北京", "。"]
    assert full_analysis(docs[1]) == full_analysis(nlp(TEXT, disable=disable))
    assert full_analysis(docs[5]) == full_analysis(docs[1])


def test_join_docs_shifts_every_graph_extension(trained_nlp):
    nlp, _ = trained_nlp
    parts = [nlp(t) for t in ("我爱北京天安门。", "他在2008年去了上海，然后回到北京。")]
    joined = join_docs(parts)
    offset = len(parts[0])
    assert joined._.sdp == parts[0]._.sdp + [shift_annotation("sdp", a, offset) for a in parts[1]._.sdp]
    for head, dep, _ in joined._.sdp[len(parts[0]._.sdp):]:
        assert dep >= offset and (head == -1 or head >= offset)
    assert len(joined._.con) == len(parts[0]._.con) + len(parts[1]._.con)
    assert len(joined._.amr) == len(parts[0]._.amr) + len(parts[1]._.amr)
    assert [t.text for t in joined] == [t.text for p in parts for t in p]


def test_shift_annotation_by_hand():
    assert shift_annotation("sdp", [-1, 0, "Root"], 5) == [-1, 5, "Root"]
    assert shift_annotation("sdp", [2, 0, "Agt"], 5) == [7, 5, "Agt"]
    assert shift_annotation("srl", {"predicate": 1, "sense": "go.01", "arguments": [[0, 1, "ARG0"]]}, 3) == \
        {"predicate": 4, "sense": "go.01", "arguments": [[3, 4, "ARG0"]]}
    assert shift_annotation("con", ["TOP", ["S", ["NP", 0], 1], 2], 10) == ["TOP", ["S", ["NP", 10], 11], 12]
    graph = {"penman": "(g / go-01)", "triples": [["g", ":instance", "go-01"]], "top": "g", "alignments": {"g": 1}}
    assert shift_annotation("amr", graph, 4) == {**graph, "alignments": {"g": 5}}
    with pytest.raises(ValueError):
        shift_annotation("mtl_layers", [], 1)
