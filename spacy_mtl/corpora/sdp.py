"""SemEval-2016 Task 9 (Chinese semantic dependencies) → Docs with ``doc._.sdp``.

10-column CoNLL, one line per arc: a word with several heads repeats its line
with another HEAD/DEPREL. Words are CTB-segmented (not UD), so the docs declare
only the ``sdp`` layer and the segmenter does not learn from them.

Here only validation and test files exist; ``fallback_split`` makes the
documented split (train = the test files; validation news+text numbered from 0,
even → dev, odd → test). The official ``train/*.train.conll`` files read the same way.
"""
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..extensions import set_layers
from .ud import CorpusError, _blocks_with_lines


def _doc(vocab: Vocab, rows: List[List[str]]) -> Doc:
    words: List[str] = []
    arcs = []
    for cols in rows:
        if len(cols) < 8:
            raise CorpusError(f"expected 10 columns, got {len(cols)}")
        i, head = int(cols[0]), int(cols[6])
        if i == len(words) + 1:
            words.append(cols[1])
        elif i != len(words):
            raise CorpusError(f"word id {i} out of order")
        arcs.append((head, i, cols[7]))
    n = len(words)
    if any(h < 0 or h > n or h == d for h, d, _ in arcs):
        raise CorpusError("an arc points outside the sentence or to its own word")
    # CTB tags are kept out of the doc: the XPOS tagger would learn them, and
    # the segmentation differs from UD's
    doc = Doc(vocab, words=words, spaces=[False] * n)
    doc._.sdp = sorted([h - 1 if h else -1, d - 1, label] for h, d, label in arcs)
    set_layers(doc, ["sdp"])
    return doc


def read_semeval(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop") -> Iterator[Doc]:
    vocab = vocab or Vocab()
    for line_no, lines in _blocks_with_lines(Path(path)):
        try:
            yield _doc(vocab, [line.split("\t") for line in lines if not line.startswith("#")])
        except (CorpusError, ValueError) as err:
            if on_error == "stop":
                raise CorpusError(f"{path}:{line_no}: {err}") from err
            msg.warn(f"skipped {path}:{line_no}: {err}")


def fallback_split(root: Path, vocab: Optional[Vocab] = None) -> Dict[str, List[Doc]]:
    """The split of the corpus README when the official train files are missing."""
    root = Path(root)
    official = [root / "train" / f"{g}.train.conll" for g in ("news", "text")]
    if all(p.exists() for p in official):
        train = [d for p in official for d in read_semeval(p, vocab)]
        valid = [d for g in ("news", "text") for d in read_semeval(root / "validation" / f"{g}.valid.conll", vocab)]
        test = [d for g in ("news", "text") for d in read_semeval(root / "test" / f"{g}.test.conll", vocab)]
        return {"train": train, "dev": valid, "test": test}
    train = [d for g in ("news", "text") for d in read_semeval(root / "test" / f"{g}.test.conll", vocab)]
    valid = [d for g in ("news", "text") for d in read_semeval(root / "validation" / f"{g}.valid.conll", vocab)]
    return {"train": train, "dev": valid[0::2], "test": valid[1::2]}


__all__: Sequence[str] = ["read_semeval", "fallback_split"]
