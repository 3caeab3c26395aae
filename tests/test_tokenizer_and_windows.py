import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_mtl.ml.models.char_transformer import pass_groups, piece_count, piece_windows, sentence_cuts, sentence_windows
from spacy_mtl.tokenizer import CharTokenizer, char_units

BAD_INPUTS = [
    "", " ", "   \n\t ", "。，！？", "😀👍🏽👨‍👩‍👧", "𠀀𠀁𪚥", "a\u0000b\u0007c\x1b", "iPhone 15 Pro售价7999元",
    "繁體中文與簡體中文", "e\u0301te\u0301", "\u200b\u200d", "مرحبا بالعالم", "  leading and trailing  ",
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_char_tokenizer_keeps_text(text):
    doc = CharTokenizer(Vocab())(text)
    assert doc.text == text
    assert all(t.text for t in doc)


def test_char_units_split_graphemes_and_keep_single_spaces():
    words, spaces = char_units("我 爱  e\u0301!")
    assert words == ["我", "爱", " ", "e\u0301", "!"]
    assert spaces == [True, True, False, False, False]


def test_tokenizer_rejects_non_text():
    with pytest.raises(TypeError):
        CharTokenizer(Vocab())(b"bytes")


def test_piece_windows_cover_every_token_within_the_limit():
    doc = CharTokenizer(Vocab())("一二三四五六七八九十" * 30 + " end")
    window, overlap = 40, 10
    spans = piece_windows([doc], window, overlap)[0]
    covered = set()
    for span in spans:
        assert sum(piece_count(t) for t in span) <= window
        covered.update(t.i for t in span)
    assert covered == set(range(len(doc)))
    for a, b in zip(spans, spans[1:]):
        assert b.start > a.start and b.start <= a.end
        assert sum(piece_count(t) for t in doc[b.start : a.end]) <= overlap


def test_piece_windows_oversized_token_gets_its_own_window():
    doc = Doc(Vocab(), words=["短", "很" * 100, "短"])
    spans = piece_windows([doc], 10, 2)[0]
    assert [(s.start, s.end) for s in spans] == [(0, 1), (1, 2), (2, 3)]
    assert piece_windows([Doc(Vocab(), words=[])], 10, 2) == [[]]


def test_sentence_cuts_follow_final_punctuation_quotes_and_line_breaks():
    doc = CharTokenizer(Vocab())("他说：“好！”我走了……3.14 很大. Next\n下")
    starts = [doc[i].text for i in sentence_cuts(doc)]
    # after ！” (the quote stays with its sentence), after …… (one cut), after ". ", after
    # the line break; "3.14" has no whitespace after its ".", so it is no cut
    assert starts == ["我", "3", "N", "下"]
    assert sentence_cuts(CharTokenizer(Vocab())("没有标点的一句话")) == []


def test_sentence_windows_give_every_sentence_a_window_of_its_own():
    sentences = ["今天天气很好。", "“我们去公园吧！”", "他说完就走了，没有回头……", "嗯？！"]
    doc = CharTokenizer(Vocab())("".join(sentences * 5))
    spans = sentence_windows([doc], 40, 10)[0]
    assert [s.text for s in spans] == sentences * 5


def test_sentence_windows_cut_a_long_sentence_like_piece_windows():
    long_sentence = "一二三四五六七八九十" * 10 + "。"
    doc = CharTokenizer(Vocab())("短句。" + long_sentence + "又一句。")
    spans = sentence_windows([doc], 40, 10)[0]
    inner = CharTokenizer(Vocab())(long_sentence)
    assert spans[0].text == "短句。" and spans[-1].text == "又一句。"
    assert [s.text for s in spans[1:-1]] == [s.text for s in piece_windows([inner], 40, 10)[0]]
    assert {t.i for s in spans for t in s} == set(range(len(doc)))
    assert all(sum(piece_count(t) for t in s) <= 40 for s in spans)


def _partitions(n):
    """Every way to cut range(n) into consecutive non-empty runs."""
    if n == 0:
        yield []
        return
    for first in range(1, n + 1):
        for rest in _partitions(n - first):
            yield [(0, first)] + [(s + first, e + first) for s, e in rest]


@pytest.mark.parametrize("lengths,max_windows,overhead", [
    ([3, 4, 4, 9, 30, 31, 33, 100], 32, 48), ([3, 4, 4, 9, 30, 31, 33, 100], 3, 48),
    ([5, 5, 5, 5, 5, 5], 32, 48), ([2, 50, 51, 52, 200], 32, 0), ([7], 32, 48), ([], 32, 48),
])
def test_pass_groups_cover_every_window_once_at_least_cost(lengths, max_windows, overhead):
    """The encoder's passes cover the sorted windows in order, none over max_windows,
    at the least padded pieces plus overhead of all ways to cut them (brute force)."""
    def cost(passes):
        return sum(overhead + (e - s) * lengths[e - 1] for s, e in passes)

    passes = pass_groups(lengths, max_windows, overhead)
    assert [i for s, e in passes for i in range(s, e)] == list(range(len(lengths)))
    assert all(0 < e - s <= max_windows for s, e in passes)
    allowed = [p for p in _partitions(len(lengths)) if all(e - s <= max_windows for s, e in p)]
    assert cost(passes) == min(cost(p) for p in allowed)


def test_pass_groups_join_alike_lengths_and_split_unlike_ones():
    """With alike lengths one pass is cheapest; with no overhead every distinct length gets its own."""
    assert pass_groups([5] * 6, 32) == [(0, 6)]
    assert pass_groups([2, 50, 200], 32, overhead=0) == [(0, 1), (1, 2), (2, 3)]


def test_sum_rows_by_group_is_add_at():
    """The segmenter's unit pooling: the same numbers as numpy.add.at, empty groups zero."""
    import numpy

    from spacy_mtl.ml.models.segmenter import sum_rows_by_group

    rng = numpy.random.default_rng(1)
    rows, groups = rng.normal(size=(500, 7)).astype("f"), rng.integers(0, 90, size=500)
    expected = numpy.zeros((100, 7), dtype="f")
    numpy.add.at(expected, groups, rows)
    assert numpy.array_equal(sum_rows_by_group(rows, groups, 100), expected)
    assert not sum_rows_by_group(rows, groups, 100)[90:].any()
    assert sum_rows_by_group(rows[:0], groups[:0], 3).tolist() == [[0.0] * 7] * 3
