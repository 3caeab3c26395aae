"""NER converters, scorer and a second NER head with its own label set."""
import io
import sys

import pytest
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab
from thinc.api import Adam

from spacy_mtl.corpora.ner import add_entities, read_resume, read_uner, read_weibo
from spacy_mtl.corpora.ud import CorpusError, read_conllu
from spacy_mtl.extensions import set_layers
from spacy_mtl.pipeline.ner import score_entities

from .conftest import CORPORA, GSDSIMP

WEIBO = "李0\tB-PER.NAM\n开1\tI-PER.NAM\n复2\tI-PER.NAM\n说0\tO\n\n好0\tO\n"
RESUME = "高 B-NAME\n勇 E-NAME\n： O\n北 B-ORG\n大 E-ORG\n\n"


def test_weibo_and_resume_are_character_docs_with_entities(tmp_path):
    (tmp_path / "w.conll").write_text(WEIBO, encoding="utf8")
    (tmp_path / "r.bmes").write_text(RESUME, encoding="utf8")
    weibo = list(read_weibo(tmp_path / "w.conll"))
    assert [d.text for d in weibo] == ["李开复说", "好"]
    assert [(e.text, e.label_) for e in weibo[0].ents] == [("李开复", "PER.NAM")]
    (resume,) = read_resume(tmp_path / "r.bmes", layer="ner_resume")
    assert [(e.text, e.label_) for e in resume.ents] == [("高勇", "NAME"), ("北大", "ORG")]
    assert resume._.mtl_layers == ["ner_resume"]


def test_real_ner_corpora_read_completely():
    assert len(list(read_weibo(CORPORA / "WeiboNER" / "weiboNER_2nd_conll.dev"))) == 270
    assert len(list(read_resume(CORPORA / "ResumeNER" / "dev.char.bmes"))) == 463


def test_malformed_ner_line_reports_file_and_line(tmp_path):
    path = tmp_path / "bad.bmes"
    path.write_text("高 B-NAME\n勇 E-NAME\n\n坏行\n", encoding="utf8")
    with pytest.raises(CorpusError, match=r"bad\.bmes:4"):
        list(read_resume(path))


def test_uner_entities_land_on_the_ud_words():
    vocab = Vocab()
    ud = list(read_conllu(GSDSIMP / "zh_gsdsimp-ud-test.conllu", vocab))
    uner = list(read_uner(CORPORA / "UNER_Chinese-GSDSIMP" / "zh_gsdsimp-ud-test.iob2", vocab))
    assert add_entities(ud, uner) == 500
    assert sum(len(d.ents) for d in ud) == sum(len(d.ents) for d in uner) == 763
    assert "ner" in ud[0]._.mtl_layers and "dep" in ud[0]._.mtl_layers


def test_entity_scorer_by_hand():
    vocab = Vocab()
    gold = Doc(vocab, words=["张三", "在", "北京", "工作"], ents=["B-PER", "O", "B-LOC", "O"])
    pred = Doc(vocab, words=["张三", "在", "北京", "工作"], ents=["B-PER", "O", "B-ORG", "O"])
    set_layers(gold, ["ner"])
    scores = score_entities([Example(pred, gold)])
    # PER right, LOC predicted as ORG: P = 1/2, R = 1/2
    assert scores["ents_p"] == pytest.approx(0.5) and scores["ents_r"] == pytest.approx(0.5)
    assert scores["ents_per_type"]["PER"]["f"] == pytest.approx(1.0)
    assert scores["ents_per_type"]["LOC"]["r"] == pytest.approx(0.0)
    unlabelled = Doc(vocab, words=["张三"], ents=["B-PER"])
    set_layers(unlabelled, ["tok"])  # not an NER doc: ignored
    assert score_entities([Example(pred, gold), Example(unlabelled.copy(), unlabelled)])["ents_f"] == pytest.approx(0.5)


def test_further_ner_heads_learn_only_their_label_set_and_write_span_groups(trained_nlp, tmp_path):
    """The config's ner_weibo and ner_resume heads: own labels, own layer, own span group."""
    nlp = spacy.load(trained_nlp[1])  # a copy: updating the shared pipeline would change later tests
    assert set(nlp.get_pipe("ner_resume").labels) >= {"NAME", "ORG", "TITLE"}
    assert set(nlp.get_pipe("ner_weibo").labels) >= {"PER.NAM", "GPE.NAM"}
    assert "NAME" not in nlp.get_pipe("ner").labels and "PER.NAM" not in nlp.get_pipe("ner_resume").labels
    resume = list(read_resume(CORPORA / "ResumeNER" / "dev.char.bmes", nlp.vocab, layer="ner_resume"))[:20]
    from spacy_mtl.corpora.readers import gold_words_doc

    examples = [Example(gold_words_doc(d), d) for d in resume]
    optimizer = Adam(0.001)
    losses = [nlp.update(examples, sgd=optimizer, losses={}) for _ in range(3)]
    assert losses[-1]["ner_resume"] < losses[0]["ner_resume"]
    assert all(step["ner"] == 0.0 and step["ner_weibo"] == 0.0 for step in losses)  # no Resume gold for them
    doc = nlp("我叫高勇，在北京大学工作。")
    assert "ner_resume" in doc.spans and "ner_weibo" in doc.spans
    nlp.to_disk(tmp_path / "two_ner")
    again = spacy.load(tmp_path / "two_ner")
    doc2 = again("我叫高勇，在北京大学工作。")
    assert [(s.start, s.end, s.label_) for s in doc2.spans["ner_resume"]] == [(s.start, s.end, s.label_) for s in doc.spans["ner_resume"]]
    scores = again.evaluate([Example(again.make_doc(d.text), d) for d in resume[:5]])
    assert "spans_ner_resume_f" in scores


def test_add_heads_trains_new_heads_and_changes_nothing_else(trained_nlp, corpus_files, tiny_encoder, tmp_path):
    """project/scripts/add_heads.py: a pipeline without ner_resume gets one, trained on
    the frozen encoder; every other head predicts exactly what it did before."""

    from spacy.training.loop import train
    from spacy.training.initialize import init_nlp

    from .conftest import CONFIG, ROOT

    sys.path.insert(0, str(ROOT / "project" / "scripts"))
    from add_heads import build_config

    base = spacy.load(trained_nlp[1])
    base.remove_pipe("ner_resume")
    base.remove_pipe("ner_weibo")
    base.to_disk(tmp_path / "base")
    overrides = {"paths.encoder": str(tiny_encoder), "paths.train_resume": str(corpus_files[10]),
                 "paths.dev_resume": str(corpus_files[11])}
    config = build_config(tmp_path / "base", CONFIG, ["ner_resume"], max_steps=4, overrides=overrides)
    assert config["training"]["frozen_components"] == base.pipe_names
    nlp = init_nlp(config)
    (tmp_path / "out").mkdir()
    nlp, _ = train(nlp, tmp_path / "out", stdout=io.StringIO(), stderr=io.StringIO())
    added = spacy.load(tmp_path / "out" / "model-last")
    assert added.pipe_names == base.pipe_names + ["ner_resume"]
    assert set(added.get_pipe("ner_resume").labels) >= {"NAME", "ORG"}
    base = spacy.load(tmp_path / "base")
    for text in ("我叫高勇，在北京大学工作。", "他在2008年去了上海，然后回到北京。"):
        before, after = base(text)._.to_dict(), added(text)._.to_dict()
        assert "ner_resume" in after
        assert {k: v for k, v in after.items() if k != "ner_resume"} == before


def test_gold_unit_tags_by_hand():
    """Character units of the predicted words get BIOES from the reference's entities."""
    from spacy_mtl.pipeline.ner import gold_unit_tags

    vocab = Vocab()
    no_spaces = lambda words: [False] * len(words)  # noqa: E731
    chars = list("北京大学在海淀")
    reference = Doc(vocab, words=chars, spaces=no_spaces(chars), ents=["B-LOC", "I-LOC", "O", "O", "O", "B-LOC", "I-LOC"])
    predicted = Doc(vocab, words=["北京大学", "在", "海淀"], spaces=no_spaces("123"))
    assert gold_unit_tags(predicted, reference) == ["B-LOC", "E-LOC", "O", "O", "O", "B-LOC", "E-LOC"]
    # an entity that ends inside a unit (e + combining acute is one grapheme) leaves its units unknown,
    # and so do the characters of reference tokens without NER annotation
    reference = Doc(vocab, words=["e", "\u0301", "好", "人"], spaces=no_spaces("1234"), ents=["B-PER", "O", "O", None])
    predicted = Doc(vocab, words=["e\u0301", "好", "人"], spaces=no_spaces("123"))
    assert gold_unit_tags(predicted, reference) == [None, "O", None]


def test_character_spans_widen_to_the_words_they_touch():
    from spacy_mtl.ml.models.segmenter import doc_units
    from spacy_mtl.pipeline.ner import widen_to_tokens

    doc = Doc(Vocab(), words=["北京大学", "在", "海淀", "区"], spaces=[False] * 4)
    units = doc_units(doc)
    # 北京 (inside the first word) -> the whole word; 京大 then overlaps it and is dropped;
    # 海淀区 spans two words exactly
    spans = [(0, 2, "LOC"), (1, 3, "ORG"), (5, 8, "LOC")]
    assert widen_to_tokens(doc, spans, units) == [(0, 1, "LOC"), (2, 4, "LOC")]


def test_ner_head_reading_characters(trained_nlp):
    """units = "characters" (the config's ner_resume, trained so by `spacy train`):
    on one-character tokens it predicts what the word reader predicts (the same
    vectors), on segmented text its entities lie on word boundaries, and it
    learns from character units."""
    from spacy_mtl.corpora.readers import gold_words_doc

    chars = spacy.load(trained_nlp[1])  # the config's setting for ner_resume
    words = spacy.load(trained_nlp[1], config={"components.ner_resume.units": "words"})
    assert chars.get_pipe("ner_resume").units == "characters" and words.get_pipe("ner_resume").units == "words"
    texts = ["我叫高勇，在北京大学工作。", "他在2008年去了上海，然后回到北京。", "   ", ""]
    with chars.select_pipes(disable=["tok"]), words.select_pipes(disable=["tok"]):
        for text in ["我叫高勇，在北京大学工作。", "他去了上海，然后回到北京。", ""]:  # one character per token
            a, b = chars(text), words(text)
            assert [(s.start, s.end, s.label_) for s in a.spans["ner_resume"]] == \
                [(s.start, s.end, s.label_) for s in b.spans["ner_resume"]]
    found = 0
    for text in texts:
        doc = chars(text)
        assert doc.text == text
        found += len(doc.spans["ner_resume"])
        assert all(s.start_char == doc[s.start].idx for s in doc.spans["ner_resume"])
    assert found  # not vacuous: the tiny model finds some
    with pytest.raises(ValueError, match="units must be one of"):
        spacy.load(trained_nlp[1], config={"components.ner_resume.units": "chars"})
    resume = list(read_resume(CORPORA / "ResumeNER" / "dev.char.bmes", chars.vocab, layer="ner_resume"))[:20]
    examples = [Example(gold_words_doc(d), d) for d in resume]
    optimizer = Adam(0.001)
    losses = [chars.update(examples, sgd=optimizer, losses={}) for _ in range(3)]
    assert losses[-1]["ner_resume"] < losses[0]["ner_resume"]
