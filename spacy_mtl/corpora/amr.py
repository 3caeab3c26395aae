"""AMR banks (PENMAN with ``# ::snt``) → Docs with ``doc._.amr``.

Reads the Little Prince bank, AMR 2.0/3.0 and CAMR-style files alike: one
graph per blank-line separated block, the sentence from a metadata field
(``snt``; ``zh`` gives the Little Prince's Chinese translation, for
cross-lingual Chinese→AMR as in Blloshmi et al. 2020). Words come from
``spacy.blank(lang)``'s tokenizer (characters for Chinese).

The parser anchors each concept to a word, so the converter aligns them:
IBM Model 1 (concepts given words, a NULL word included) learnt over the whole
file, plus a string match of the concept's stem and the word for alphabetic
scripts; one concept per word, the likelier one wins. Unaligned concepts stay
in the gold graph (Smatch sees them) but the head cannot learn them.
"""
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import penman
import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from wasabi import msg

from ..extensions import set_layers
from .ud import CorpusError, _blocks_with_lines

NULL = "<null>"


def concept_stem(concept: str) -> str:
    """``reveal-01`` → ``reveal``: what a word is compared with."""
    head, _, sense = concept.rpartition("-")
    return head.lower() if head and sense.isdigit() else concept.lower()


def read_graphs(path: Path, on_error: str = "stop") -> Iterator[Tuple[int, penman.Graph]]:
    """(first line, graph) of every block that holds a graph."""
    for line_no, lines in _blocks_with_lines(Path(path)):
        if all(line.lstrip().startswith("#") for line in lines):
            continue  # a header block
        try:
            graph = penman.decode("\n".join(lines))
            if not graph.instances():
                raise CorpusError("the graph has no concepts")
            yield line_no, graph
        except (penman.DecodeError, CorpusError) as err:
            if on_error == "stop":
                raise CorpusError(f"{path}:{line_no}: {err}") from err
            msg.warn(f"skipped {path}:{line_no}: {err}")


def ibm1(pairs: Sequence[Tuple[List[str], List[str]]], iterations: int = 8) -> Dict[Tuple[str, str], float]:
    """t(concept | word) by IBM Model 1 EM; every sentence also offers NULL."""
    t: Dict[Tuple[str, str], float] = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        counts: Dict[Tuple[str, str], float] = defaultdict(float)
        totals: Dict[str, float] = defaultdict(float)
        for words, concepts in pairs:
            source = words + [NULL]
            for c in concepts:
                norm = sum(t[(c, w)] for w in source)
                for w in source:
                    share = t[(c, w)] / norm
                    counts[(c, w)] += share
                    totals[w] += share
        t = defaultdict(float, {(c, w): n / totals[w] for (c, w), n in counts.items()})
    return t


def _string_match(word: str, stem: str) -> bool:
    word = word.lower()
    if not word.isalpha():
        return word == stem
    return word == stem or (len(word) >= 4 and len(stem) >= 4 and word[:4] == stem[:4])


def align(words: List[str], graph: penman.Graph, t: Dict[Tuple[str, str], float]) -> Dict[str, int]:
    """{variable: word index}, at most one concept per word."""
    lowered = [w.lower() for w in words]
    candidates = []
    for var, _, concept in graph.instances():
        stem = concept_stem(concept or "")
        best, score = None, t.get((stem, NULL), 0.0)
        for i, w in enumerate(lowered):
            s = 1.0 + t.get((stem, w), 0.0) if _string_match(w, stem) else t.get((stem, w), 0.0)
            if s > score:
                best, score = i, s
        if best is not None:
            candidates.append((score, var, best))
    out: Dict[str, int] = {}
    taken = set()
    for score, var, i in sorted(candidates, key=lambda c: -c[0]):
        if i not in taken:
            out[var] = i
            taken.add(i)
    return out


def graph_record(graph: penman.Graph, alignments: Dict[str, int]) -> Dict:
    """The plain-data form stored in ``doc._.amr``."""
    bare = penman.Graph(graph.triples, top=graph.top, epidata=graph.epidata)  # without the metadata lines
    return {"penman": penman.encode(bare, indent=None), "triples": [list(t) for t in graph.triples],
            "top": graph.top, "alignments": dict(alignments)}


def read_amr(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop", text_field: str = "snt",
             lang: Optional[str] = None) -> List[Doc]:
    """Docs carrying the ``amr`` layer; graphs without the text field are reported."""
    vocab = vocab or Vocab()
    lang = lang or ("zh" if text_field == "zh" else "en")
    tokenizer = spacy.blank(lang).tokenizer
    items = []
    for line_no, graph in read_graphs(path, on_error):
        text = graph.metadata.get(text_field, "").strip()
        if not text:
            err = CorpusError(f"{path}:{line_no}: no '# ::{text_field}' sentence")
            if on_error == "stop":
                raise err
            msg.warn(f"skipped {err}")
            continue
        items.append((text, [t.text for t in tokenizer(text)], graph))
    stems = [[concept_stem(c or "") for _, _, c in g.instances()] for _, _, g in items]
    t = ibm1([([w.lower() for w in words], s) for (_, words, _), s in zip(items, stems)])
    docs = []
    for text, _, graph in items:
        doc = Doc(vocab, words=[tok.text for tok in tokenizer(text)],
                  spaces=[bool(tok.whitespace_) for tok in tokenizer(text)])
        doc = _with_vocab(doc, vocab)
        doc._.amr = [graph_record(graph, align([tok.text for tok in doc], graph, t))]
        set_layers(doc, ["amr"])
        docs.append(doc)
    return docs


def _with_vocab(doc: Doc, vocab: Vocab) -> Doc:
    return doc if doc.vocab is vocab else Doc(vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
