import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

from spacy_mtl.ml.models.char_transformer import piece_count, piece_windows
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
