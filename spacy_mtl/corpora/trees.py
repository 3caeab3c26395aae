"""Constituency treebanks → Docs with ``doc._.con``.

* Sinica Treebank (nltk's sample, head-marked ICG notation, traditional script):
  parsed with nltk's ``sinica_parse``; words converted to simplified characters
  with OpenCC (``t2s``); the clause-final punctuation that the notation keeps
  after ``#`` becomes a word under TOP, so no text is lost.
  Fixed split by sentence number: ``n % 10 == 9`` → dev, ``n % 10 == 0`` → test,
  the rest train (7,974 / 1,010 / 1,016 of the 10,000 trees).
* PTB-style bracketed files (PTB ``.mrg``, CTB ``.fid``/``.mrg``): empty elements
  (``-NONE-``) removed, function tags stripped (``NP-SBJ-1`` → ``NP``).

Words come from the treebank, so the docs declare only the ``con`` layer:
the segmenter and taggers do not learn another treebank's conventions.
"""
import io
import re
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

from nltk.corpus.reader.util import read_sexpr_block
from nltk.tree import Tree as NLTKTree
from nltk.tree import sinica_parse
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..algorithms.trees import TOP
from ..extensions import set_layers
from .ud import CorpusError

SINICA_ID = re.compile(r"^#(\d+):\S*\s+")
SINICA_APPENDIX = re.compile(r"(?<=\))#\s*(\S*?)(?:\((\w+)\))?\s*$")
FUNCTION_TAG = re.compile(r"(?<=[A-Za-z0-9])[-=].*$")


def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def nltk_to_doc(vocab: Vocab, tree: NLTKTree, spaces: bool, extra: Optional[List[str]] = None) -> Doc:
    """A one-sentence Doc whose ``_.con`` is the tree (preterminals dropped) under TOP.
    ``extra`` words (sentence-final punctuation outside the tree) hang from TOP."""
    words: List[str] = []

    def convert(node) -> Union[List, int]:
        if isinstance(node, str):
            words.append(node)
            return len(words) - 1
        if len(node) == 1 and isinstance(node[0], str):  # preterminal
            return convert(node[0])
        return [node.label()] + [convert(child) for child in node]

    body = convert(tree)
    top = [TOP, body] if not isinstance(body, list) or body[0] != TOP else body
    for word in extra or []:
        words.append(word)
        top.append(len(words) - 1)
    if not words:
        raise CorpusError("the tree has no words")
    doc = Doc(vocab, words=words, spaces=[spaces] * (len(words) - 1) + [False])
    doc._.con = [top]
    set_layers(doc, ["con"])
    return doc


def _sinica_lines(path: Path) -> List[str]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("/parsed") or n == "parsed")
            return z.read(name).decode("utf8").splitlines()
    return path.read_text(encoding="utf8").splitlines()


def read_sinica(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop") -> Iterator[tuple]:
    """(sentence number, Doc) for every tree of a Sinica ``parsed`` file (or nltk's zip)."""
    vocab = vocab or Vocab()
    t2s = _converter()
    for line_no, line in enumerate(_sinica_lines(Path(path)), 1):
        if not line.strip():
            continue
        try:
            match = SINICA_ID.match(line)
            if not match:
                raise CorpusError("no '#N:' sentence id")
            body = line[match.end():]
            appendix = SINICA_APPENDIX.search(body)
            punct = appendix.group(1) if appendix else ""
            if appendix:
                body = body[: appendix.start()]
            tree = sinica_parse(body)
            for pos in tree.treepositions("leaves"):
                tree[pos] = t2s.convert(tree[pos])
            yield int(match.group(1)), nltk_to_doc(vocab, tree, spaces=False, extra=[t2s.convert(punct)] if punct else None)
        except (CorpusError, ValueError, IndexError) as err:
            if on_error == "stop":
                raise CorpusError(f"{path}:{line_no}: {err}") from err
            msg.warn(f"skipped {path}:{line_no}: {err}")


def sinica_split(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop") -> Dict[str, List[Doc]]:
    """The fixed split documented above."""
    out: Dict[str, List[Doc]] = {"train": [], "dev": [], "test": []}
    for number, doc in read_sinica(path, vocab, on_error):
        out["dev" if number % 10 == 9 else "test" if number % 10 == 0 else "train"].append(doc)
    return out


def _clean_ptb(tree: NLTKTree) -> Optional[NLTKTree]:
    """Drop empty elements (and constituents left empty) and function tags."""
    if isinstance(tree, str):
        return tree
    if tree.label() == "-NONE-":
        return None
    kids = [k for k in (_clean_ptb(child) for child in tree) if k is not None]
    if not kids:
        return None
    label = tree.label()
    if label and not label.startswith("-"):
        label = FUNCTION_TAG.sub("", label)
    return NLTKTree(label or TOP, kids)


def _ptb_files(path: Path) -> Iterator[tuple]:
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "README"))):
            yield str(f), f.read_text(encoding="utf8", errors="strict")
    elif path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            for name in sorted(n for n in z.namelist() if n.endswith((".mrg", ".fid", ".tree"))):
                yield f"{path}:{name}", z.read(name).decode("utf8")
    else:
        yield str(path), path.read_text(encoding="utf8")


def read_ptb(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop", spaces: bool = True) -> Iterator[Doc]:
    """Docs from PTB-style bracketed trees: a file, a folder of files, or a zip.
    ``spaces``: whether words are separated by spaces (True for English, False for CTB)."""
    vocab = vocab or Vocab()
    for name, text in _ptb_files(Path(path)):
        stream = io.StringIO(text)
        n = 0
        while True:
            blocks = read_sexpr_block(stream)
            if not blocks:
                break
            for block in blocks:
                n += 1
                try:
                    tree = NLTKTree.fromstring(block, remove_empty_top_bracketing=True)
                    cleaned = _clean_ptb(tree)
                    if cleaned is None:
                        raise CorpusError("the tree has no words")
                    yield nltk_to_doc(vocab, cleaned, spaces=spaces)
                except (CorpusError, ValueError) as err:
                    if on_error == "stop":
                        raise CorpusError(f"{name}: tree {n}: {err}") from err
                    msg.warn(f"skipped {name}: tree {n}: {err}")
