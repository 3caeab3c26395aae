import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_mtl.corpora.readers import analyse_gold_words, create_mtl_corpus, gold_words_doc, sample_sizes
from spacy_mtl.corpora.ud import CorpusError, convert_conllu, read_conllu

from .conftest import GSDSIMP

GOOD = """# sent_id = s1
# text = 我爱 Python。
1	我	我	PRON	PN	Person=1	2	nsubj	_	SpaceAfter=No
2	爱	爱	VERB	VV	_	0	root	_	_
3	Python	Python	X	NN	_	2	obj	_	SpaceAfter=No
4	。	。	PUNCT	.	_	2	punct	_	SpaceAfter=No

"""
CYCLE = """# sent_id = bad
# text = 甲乙
1	甲	甲	X	X	_	2	dep	_	SpaceAfter=No
2	乙	乙	X	X	_	1	dep	_	SpaceAfter=No

"""


def test_conllu_keeps_text_and_annotation(tmp_path):
    path = tmp_path / "a.conllu"
    path.write_text(GOOD, encoding="utf8")
    (doc,) = read_conllu(path, Vocab())
    assert doc.text == "我爱 Python。"
    assert [t.tag_ for t in doc] == ["PN", "VV", "NN", "."]
    assert [t.head.i for t in doc] == [1, 1, 1, 1]
    assert str(doc[0].morph) == "Person=1"
    assert doc._.mtl_layers == sorted(["tok", "tag", "pos", "morph", "lemma", "dep"])


def test_malformed_sentence_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "b.conllu"
    path.write_text(GOOD + CYCLE, encoding="utf8")
    with pytest.raises(CorpusError, match=r"b\.conllu:8 \(sent_id bad\): the heads contain a cycle"):
        list(read_conllu(path, Vocab()))
    assert len(list(read_conllu(path, Vocab(), on_error="skip"))) == 1


def test_gsdsimp_test_converts_with_exact_text(tmp_path):
    out = tmp_path / "test.spacy"
    assert convert_conllu(GSDSIMP / "zh_gsdsimp-ud-test.conllu", out) == 500
    docs = list(DocBin().from_disk(out).get_docs(Vocab()))
    texts = [line[len("# text = "):] for line in (GSDSIMP / "zh_gsdsimp-ud-test.conllu").read_text(encoding="utf8").splitlines() if line.startswith("# text = ")]
    assert [d.text for d in docs] == texts
    assert docs[0]._.mtl_layers  # user data survives the DocBin


def test_sampling_by_size_power():
    # 100 and 10 docs, exponent 0.8: weights 100**0.8=39.81, 10**0.8=6.31; the big corpus
    # gives all 100 docs, the small one 100 * 6.31 / 39.81 = 15.85 → 16 (10 docs, 6 repeated)
    quota = sample_sizes({"big": 100, "small": 10}, 0.8)
    assert quota == {"big": 100, "small": 16}
    assert sample_sizes({"a": 5, "b": 5}, 0.8) == {"a": 5, "b": 5}


def test_sampling_weights_scale_a_corpus_share():
    # small x3: 3 * 6.31 = 18.93; big still gives its 100 docs, small 100 * 18.93 / 39.81 = 47.55 → 48
    assert sample_sizes({"big": 100, "small": 10}, 0.8, {"small": 3.0}) == {"big": 100, "small": 48}
    # big x0.5 cannot cut big under its 100 docs: small gets more, 100 * 6.31 / 19.91 = 31.70 → 32
    assert sample_sizes({"big": 100, "small": 10}, 0.8, {"big": 0.5}) == {"big": 100, "small": 32}
    with pytest.raises(ValueError, match="corpus weight for 'smal', but the corpora are"):
        sample_sizes({"big": 100, "small": 10}, 0.8, {"smal": 2.0})
    with pytest.raises(ValueError, match="must be a number > 0"):
        create_mtl_corpus({"a": "a.spacy"}, weights={"a": 0})


def test_reader_weights_repeat_a_corpus(tmp_path):
    import spacy

    path = tmp_path / "a.conllu"
    path.write_text(GOOD, encoding="utf8")
    convert_conllu(path, tmp_path / "a.spacy")
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_mtl.CharTokenizer.v1"}}})
    # one doc in each: weights 3 and 1 give 3 copies of a's and 1 of b's per epoch
    corpus = create_mtl_corpus({"a": str(tmp_path / "a.spacy"), "b": str(tmp_path / "a.spacy")}, weights={"a": 3.0})
    assert len(list(corpus(nlp))) == 4


def test_reader_mixes_corpora_and_gives_gold_words(tmp_path):
    import spacy

    path = tmp_path / "a.conllu"
    path.write_text(GOOD, encoding="utf8")
    convert_conllu(path, tmp_path / "a.spacy")
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy_mtl.CharTokenizer.v1"}}})
    train = list(create_mtl_corpus({"a": str(tmp_path / "a.spacy"), "b": str(tmp_path / "a.spacy")})(nlp))
    assert len(train) == 2
    assert [t.text for t in train[0].predicted] == ["我", "爱", "Python", "。"]
    assert not train[0].predicted.has_annotation("DEP")
    dev = list(create_mtl_corpus({"a": str(tmp_path / "a.spacy")}, gold_words=False)(nlp))
    assert [t.text for t in dev[0].predicted][:3] == ["我", "爱", "P"]


def test_gold_words_are_analysed_as_given_though_tok_would_merge_them(trained_nlp):
    """evaluate.py scores sdp, con and amr on their corpora's words: tok must
    not run on them (before, it merged words wherever its model joined them)."""
    from spacy.tokens import Doc

    nlp, _ = trained_nlp
    words = ["我", "爱", "北京", "天安门", "。", "他", "来", "了", "。"]
    reference = Doc(nlp.vocab, words=words, spaces=[False] * len(words),
                    sent_starts=[True, False, False, False, False, True, False, False, False])
    tok = nlp.get_pipe("tok")
    saved = tok.dict_force
    tok.dict_force = ["北京天安门"]  # tok now surely merges two of the given words
    try:
        merged = next(nlp.pipe([gold_words_doc(reference)]))
        assert "北京天安门" in [t.text for t in merged]
        doc, = analyse_gold_words(nlp, [reference])
        assert [t.text for t in doc] == words and doc.text == reference.text
        assert doc.has_annotation("DEP") and [s.start for s in doc.sents] == [0, 5]
        tagged, = analyse_gold_words(nlp, [reference], enable=["transformer", "tok", "tag"])
        assert [t.text for t in tagged] == words
        assert tagged.has_annotation("TAG") and not tagged.has_annotation("DEP")
    finally:
        tok.dict_force = saved
    assert analyse_gold_words(nlp, []) == []
