"""A character tokenizer: every grapheme is a token, so `tok` can merge them into words.

Whitespace follows spaCy's convention: one space after a token is its
``whitespace_``; any other whitespace run is a token of its own. ``doc.text``
always equals the input.
"""
from typing import List, Tuple

import regex
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

UNIT_RE = regex.compile(r"\s+|\X", regex.V1)


def char_units(text: str) -> Tuple[List[str], List[bool]]:
    words: List[str] = []
    spaces: List[bool] = []
    for match in UNIT_RE.finditer(text):
        unit = match.group()
        if not unit.isspace():
            words.append(unit)
            spaces.append(False)
            continue
        if words and not spaces[-1] and not words[-1].isspace() and unit[0] == " ":
            spaces[-1] = True
            unit = unit[1:]
        if unit:
            words.append(unit)
            spaces.append(False)
    return words, spaces


SURROGATE_RE = regex.compile(r"[\ud800-\udfff]")


def check_text(text) -> None:
    """A clear error for input no Doc can hold (instead of a UnicodeEncodeError deep in spaCy)."""
    if not isinstance(text, str):
        raise TypeError(f"spacy_mtl expects text as str, got {type(text).__name__}")
    bad = SURROGATE_RE.search(text)
    if bad:
        raise ValueError(f"the text has a lone surrogate (U+{ord(bad.group()):04X}) at character {bad.start()}: "
                         "it is not valid Unicode text; decode the input with errors='replace' or fix its source")


def graphemes(text: str) -> List[str]:
    return [m.group() for m in UNIT_RE.finditer(text)]


class CharTokenizer:
    def __init__(self, vocab: Vocab):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        check_text(text)
        words, spaces = char_units(text)
        return Doc(self.vocab, words=words, spaces=spaces)

    # The tokenizer has no state, but spaCy serialises every tokenizer.
    def to_bytes(self, **kwargs) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs) -> "CharTokenizer":
        return self

    def to_disk(self, path, **kwargs) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def from_disk(self, path, **kwargs) -> "CharTokenizer":
        return self


@registry.tokenizers("spacy_mtl.CharTokenizer.v1")
def create_char_tokenizer():
    def make_tokenizer(nlp):
        return CharTokenizer(nlp.vocab)

    return make_tokenizer
