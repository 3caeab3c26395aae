import spacy

from spacy_mtl.dictionary import Dictionary


def test_longest_leftmost_non_overlapping_matches():
    d = Dictionary(["北京", "北京大学", "大学生", "生活"])
    assert d.longest_matches("北京大学生活") == [(0, 4, None), (4, 6, None)]
    assert d.longest_matches("北京大学生活", starts={0, 2}, ends={2, 5}) == [(0, 2, None), (2, 5, None)]
    assert d.longest_matches("北京大学生活", starts={0}, ends={2, 6}) == [(0, 2, None)]
    assert Dictionary().longest_matches("任何") == []


def test_forced_words_survive_into_pos_and_dep(trained_nlp, tmp_path):
    _, saved = trained_nlp
    nlp = spacy.load(saved)
    text = "他在北京大学学习语言学。"
    tok = nlp.get_pipe("tok")
    tok.dict_force = ["北京大学", "语言学"]
    doc = nlp(text)
    words = [t.text for t in doc]
    assert "北京大学" in words and "语言学" in words and doc.text == text
    forced = doc[words.index("北京大学")]
    assert forced.tag_ and forced.dep_ and doc.has_annotation("DEP")
    # saved with the pipeline
    nlp.to_disk(tmp_path / "with_dict")
    again = spacy.load(tmp_path / "with_dict")
    assert again.get_pipe("tok").dict_force == ["北京大学", "语言学"]
    assert [t.text for t in again(text)] == words


def test_combine_merges_adjacent_predicted_words(trained_nlp):
    _, saved = trained_nlp
    nlp = spacy.load(saved)
    text = "我们今天在北京开会。"
    base = [t.text for t in nlp(text)]
    tok = nlp.get_pipe("tok")
    # force a split, then ask combine to glue exactly those two words back
    tok.dict_force = ["今", "天"]
    assert "今" in [t.text for t in nlp(text)]
    tok.dict_combine = ["今天"]
    merged = [t.text for t in nlp(text)]
    assert "今天" in merged and "今" not in merged
    tok.dict_force, tok.dict_combine = [], []
    assert [t.text for t in nlp(text)] == base


def test_entity_whitelist(trained_nlp):
    _, saved = trained_nlp
    nlp = spacy.load(saved)
    nlp.get_pipe("tok").dict_force = ["北京大学"]
    nlp.get_pipe("ner").dict_entities = {"北京大学": "ORG"}
    doc = nlp("他在北京大学学习。")
    assert ("北京大学", "ORG") in [(e.text, e.label_) for e in doc.ents]


def test_forced_entry_across_punctuation_is_ignored(trained_nlp):
    _, saved = trained_nlp
    nlp = spacy.load(saved)
    nlp.get_pipe("tok").dict_force = ["好。你"]
    doc = nlp("你好。你好")
    assert doc.text == "你好。你好" and "。" in [t.text for t in doc]
