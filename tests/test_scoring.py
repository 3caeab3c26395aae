"""Scorers against values computed by hand."""
import pytest
from spacy.tokens import Doc
from spacy.training import Example
from spacy.vocab import Vocab

from spacy_mtl.scoring import score_tokenization, score_words

VOCAB = Vocab()


def doc(words, pos, heads, deps):
    return Doc(VOCAB, words=words, spaces=[False] * len(words), pos=pos, heads=heads, deps=deps)


# gold: 我 / 爱 / 北京 — 我 ←nsubj 爱 (root) →obj 北京
GOLD = doc(["我", "爱", "北京"], ["PRON", "VERB", "PROPN"], [1, 1, 1], ["nsubj", "root", "obj"])


def test_tokenization_prf_on_missegmented_words():
    pred = doc(["我", "爱北", "京"], ["PRON", "VERB", "NOUN"], [1, 1, 1], ["nsubj", "root", "obj"])
    scores = score_tokenization([Example(pred, GOLD)])
    # only 我 (chars 0-1) matches: P = 1/3, R = 1/3
    assert scores["token_p"] == pytest.approx(1 / 3)
    assert scores["token_r"] == pytest.approx(1 / 3)
    assert scores["token_f"] == pytest.approx(1 / 3)


def test_recall_split_by_words_seen_in_training():
    missegmented = doc(["我", "爱北", "京"], ["PRON", "VERB", "NOUN"], [1, 1, 1], ["nsubj", "root", "obj"])
    right = doc(["我", "爱", "北京"], ["PRON", "VERB", "PROPN"], [1, 1, 1], ["nsubj", "root", "obj"])
    scores = score_tokenization([Example(missegmented, GOLD), Example(right, GOLD)], known_words={"我", "爱"})
    # gold words seen in training: 我, 爱 twice each; recalled: 我 (ex. 1), 我 and 爱 (ex. 2) -> 3/4.
    # unseen: 北京 twice, recalled in ex. 2 only -> 1/2; unseen share 2 of 6 gold words.
    assert scores["token_iv_r"] == pytest.approx(3 / 4)
    assert scores["token_oov_r"] == pytest.approx(1 / 2)
    assert scores["token_oov_rate"] == pytest.approx(2 / 6)
    # the P/R/F are those without the split: 1 + 3 of 6 gold and 6 predicted words
    assert scores["token_r"] == pytest.approx(4 / 6) and scores["token_p"] == pytest.approx(4 / 6)


def test_recall_split_only_when_asked_and_none_without_such_words():
    assert "token_oov_r" not in score_tokenization([Example(GOLD, GOLD)])
    scores = score_tokenization([Example(GOLD, GOLD)], known_words={"我", "爱", "北京"})
    assert scores["token_iv_r"] == 1.0 and scores["token_oov_r"] is None and scores["token_oov_rate"] == 0.0


def test_word_attributes_and_attachment_on_predicted_segmentation():
    missegmented = doc(["我", "爱北", "京"], ["PRON", "VERB", "NOUN"], [1, 1, 1], ["nsubj", "root", "obj"])
    # same words; 北京 attached to 我 (wrong head), 我 labelled obj (wrong label), 爱 right
    wrong_tree = doc(["我", "爱", "北京"], ["PRON", "NOUN", "PROPN"], [1, 1, 0], ["obj", "root", "obj"])
    examples = [Example(missegmented, GOLD), Example(wrong_tree, GOLD)]
    scores = score_words(examples, ["pos"], deps=True)
    # 6 gold and 6 predicted words. POS right: 我 (ex. 1), 我 and 北京 (ex. 2) -> 3/6
    assert scores["pos_acc"] == pytest.approx(3 / 6)
    # ex. 1: 我's predicted head spans 爱北 (1-3), gold head 爱 (1-2): wrong; 爱北/京 unmatched.
    # ex. 2: 我 and 爱 have the right head, 北京 not -> UAS 2/6; LAS adds 我's label error -> 1/6
    assert scores["uas"] == pytest.approx(2 / 6)
    assert scores["las"] == pytest.approx(1 / 6)


def test_las_compares_universal_relation_only():
    gold = doc(["他", "被", "打"], ["PRON", "AUX", "VERB"], [2, 2, 2], ["nsubj:pass", "aux:pass", "root"])
    pred = doc(["他", "被", "打"], ["PRON", "AUX", "VERB"], [2, 2, 2], ["nsubj", "aux", "root"])
    assert score_words([Example(pred, gold)], deps=True)["las"] == pytest.approx(1.0)


def test_precision_and_recall_differ_when_word_counts_differ():
    pred = doc(["我", "爱", "北", "京"], ["PRON", "VERB", "PROPN", "PROPN"], [1, 1, 1, 2], ["nsubj", "root", "obj", "flat"])
    scores = score_tokenization([Example(pred, GOLD)])
    assert scores["token_p"] == pytest.approx(2 / 4)
    assert scores["token_r"] == pytest.approx(2 / 3)
    assert scores["token_f"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_empty_examples_give_none():
    empty = Doc(VOCAB, words=[])
    assert score_tokenization([Example(empty, empty)])["token_f"] is None
    assert score_words([Example(empty, empty)], ["pos"], deps=True) == {"pos_acc": None, "uas": None, "las": None}
