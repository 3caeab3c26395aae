"""NER converters, scorer and a second NER head with its own label set."""
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


def test_second_ner_head_writes_its_own_span_group(trained_nlp, tmp_path):
    nlp, saved = trained_nlp
    nlp = spacy.load(saved)
    resume = list(read_resume(CORPORA / "ResumeNER" / "dev.char.bmes", nlp.vocab, layer="ner_resume"))[:20]
    nlp.add_pipe("mtl_ner", name="ner_resume", config={"spans_key": "ner_resume", "layer": "ner_resume",
                                                         "model": {"tok2vec": {"upstream": "transformer"}}})
    from spacy_mtl.corpora.readers import gold_words_doc

    examples = [Example(gold_words_doc(d), d) for d in resume]
    nlp.get_pipe("ner_resume").initialize(lambda: examples, nlp=nlp)
    nlp.get_pipe("transformer").find_listeners(nlp.get_pipe("ner_resume"))
    assert set(nlp.get_pipe("ner_resume").labels) >= {"NAME", "ORG", "TITLE"}
    optimizer = Adam(0.001)
    losses = [nlp.update(examples, sgd=optimizer, losses={})["ner_resume"] for _ in range(3)]
    assert losses[-1] < losses[0]
    doc = nlp("我叫高勇，在北京大学工作。")
    assert "ner_resume" in doc.spans
    nlp.to_disk(tmp_path / "two_ner")
    again = spacy.load(tmp_path / "two_ner")
    doc2 = again("我叫高勇，在北京大学工作。")
    assert [(s.start, s.end, s.label_) for s in doc2.spans["ner_resume"]] == [(s.start, s.end, s.label_) for s in doc.spans["ner_resume"]]
    scores = again.evaluate([Example(again.make_doc(d.text), d) for d in resume[:5]])
    assert "spans_ner_resume_f" in scores
