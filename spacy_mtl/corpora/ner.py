"""NER corpora → Docs with ``doc.ents``: UNER IOB2 TSV, WeiboNER (2nd version), ResumeNER.

Character-level corpora (Weibo, Resume) become docs of one token per
character and declare only their NER layer, so the segmenter does not learn
from their (non-)words. ``layer`` names that layer: a second NER head with
another label set (``mtl_ner`` with ``layer = "ner_resume"``) learns only from
the docs converted with that name.
"""
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.training import biluo_tags_to_spans, iob_to_biluo
from spacy.util import get_words_and_spaces
from spacy.vocab import Vocab
from wasabi import msg

from ..extensions import has_layer, set_layers
from .ud import CorpusError, _blocks_with_lines


def _blocks(path: Path) -> Iterator[Tuple[int, List[str], List[str]]]:
    """(first line number, leading comment lines, token lines) per block that has tokens."""
    for first, lines in _blocks_with_lines(Path(path)):
        n_comments = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        if n_comments < len(lines):
            yield first, lines[:n_comments], lines[n_comments:]


def _doc_from_tags(vocab: Vocab, words: List[str], tags: List[str], text: Optional[str], scheme: str, layer: str) -> Doc:
    if text is not None:
        words_, spaces = get_words_and_spaces(words, text)
    else:
        words_, spaces = words, [False] * len(words)
    doc = Doc(vocab, words=words_, spaces=spaces)
    if len(words_) != len(words):
        raise CorpusError("the tokens do not spell the sentence text")
    if scheme == "bmes":
        tags = [{"M": "I", "E": "I", "S": "B"}.get(t[0], t[0]) + t[1:] if t != "O" else t for t in tags]
    biluo = iob_to_biluo(tags)
    doc.set_ents(biluo_tags_to_spans(doc, biluo), default="outside")
    set_layers(doc, [layer])
    return doc


def _read(path: Path, vocab: Optional[Vocab], parse_row, scheme: str, on_error: str, layer: str) -> Iterator[Doc]:
    vocab = vocab or Vocab()
    for line_no, comments, rows in _blocks(path):
        try:
            parsed = [parse_row(r) for r in rows]
            text = next((c.split("=", 1)[1].strip() for c in comments if c.startswith("# text")), None)
            yield _doc_from_tags(vocab, [w for w, _ in parsed], [t for _, t in parsed], text, scheme, layer)
        except (CorpusError, ValueError, IndexError) as err:
            if on_error == "stop":
                raise CorpusError(f"{path}:{line_no}: {err}") from err
            msg.warn(f"skipped {path}:{line_no}: {err}")


def _uner_row(row: str) -> Tuple[str, str]:
    cols = row.split("\t")
    return cols[1], cols[2]


def _weibo_row(row: str) -> Tuple[str, str]:
    char_pos, tag = row.split("\t") if "\t" in row else row.rsplit(" ", 1)
    return char_pos[:-1] if char_pos[-1].isdigit() and len(char_pos) > 1 else char_pos, tag.strip()


def _resume_row(row: str) -> Tuple[str, str]:
    char, tag = row.rsplit(" ", 1)
    return char, tag.strip()


def read_uner(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop", layer: str = "ner") -> Iterator[Doc]:
    """UniversalNER IOB2 TSV (id, form, tag, -, -) with ``# text`` comments."""
    return _read(path, vocab, _uner_row, "iob", on_error, layer)


def read_weibo(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop", layer: str = "ner") -> Iterator[Doc]:
    """WeiboNER 2nd version: character + segment position, TAB, BIO tag (PER.NAM, ...)."""
    return _read(path, vocab, _weibo_row, "iob", on_error, layer)


def read_resume(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop", layer: str = "ner") -> Iterator[Doc]:
    """ResumeNER: character, space, BMES tag."""
    return _read(path, vocab, _resume_row, "bmes", on_error, layer)


def add_entities(docs: List[Doc], ner_docs: List[Doc]) -> int:
    """Copy entities onto the docs with the same text (UNER shares GSDSimp's sentences).

    Returns how many docs received entities; those gain the ``ner`` layer."""
    by_text: Dict[str, Doc] = {d.text: d for d in ner_docs}
    matched = 0
    for doc in docs:
        source = by_text.get(doc.text)
        if source is None:
            continue
        spans = [doc.char_span(e.start_char, e.end_char, label=e.label_) for e in source.ents]
        if any(s is None for s in spans):
            continue  # an entity boundary inside a word: leave this doc without NER
        doc.set_ents(spans, default="outside")
        layers = set(doc._.mtl_layers or []) | {"ner"}
        set_layers(doc, layers)
        matched += 1
    return matched


__all__ = ["read_uner", "read_weibo", "read_resume", "add_entities", "has_layer"]
