import pytest
from spacy.tokens import Doc

from spacy_mtl.tasks import disabled_components


def test_tasks_keep_what_they_need(trained_nlp):
    nlp, _ = trained_nlp
    ner_heads = ["ner", "ner_weibo", "ner_resume"]
    assert disabled_components(nlp, tasks=["dep"]) == ["tag", "morph", "lemma", "ner", "srl", "sdp", "con", "amr",
                                                       "ner_weibo", "ner_resume"]
    assert disabled_components(nlp, tasks=["pos", "ner*"]) == ["sentencizer", "morph", "lemma", "dep", "srl", "sdp",
                                                               "con", "amr"]
    # "ner" is every NER head (as HanLP's ner/msra, ner/ontonotes…); a component name picks one
    assert disabled_components(nlp, tasks=["ner"]) == disabled_components(nlp, tasks=ner_heads)
    assert "ner" in disabled_components(nlp, tasks=["ner_resume"])
    assert disabled_components(nlp, tasks=["con"]) == ["tag", "morph", "lemma", "dep", "ner", "srl", "sdp", "amr",
                                                       "ner_weibo", "ner_resume"]
    assert disabled_components(nlp, skip_tasks=["srl", "sdp"]) == ["srl", "sdp"]
    assert disabled_components(nlp) == []
    with pytest.raises(ValueError, match="no component or task matches 'coref'"):
        disabled_components(nlp, tasks=["coref"])


def test_disabled_heads_cost_nothing_and_encoder_runs_once(trained_nlp):
    nlp, _ = trained_nlp
    model = nlp.get_pipe("transformer").model
    before = model.attrs.get("forward_calls", 0)
    doc = next(nlp.pipe(["我爱北京天安门。"], disable=disabled_components(nlp, tasks=["pos"])))
    assert model.attrs["forward_calls"] - before == 1
    assert doc.has_annotation("TAG") and not doc.has_annotation("DEP") and doc._.srl is None


def test_pretokenised_input_keeps_the_words(trained_nlp):
    nlp, _ = trained_nlp
    words = ["我", "爱", "北京天安门", "。"]
    doc = Doc(nlp.vocab, words=words, spaces=[False] * 4)
    doc = nlp(doc, disable=disabled_components(nlp, skip_tasks=["tok"]))
    assert [t.text for t in doc] == words
    assert doc.has_annotation("DEP") and doc.text == "我爱北京天安门。"
