"""`dep`: biaffine dependency parser with single-root MST decoding."""
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.attrs import DEP, HEAD
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from thinc.api import Model

from ..algorithms.mst import mst_one_root
from ..extensions import has_layer
from ._base import BiaffinePipe, cell_label_loss, default_model, log_softmax, zeros_like

ROOT_LABEL = "root"

DEFAULT_PARSER_MODEL = default_model("""
[model]
@architectures = "spacy_mtl.BiaffineParser.v1"
arc_width = 256
label_width = 128
dropout = 0.2
max_words = 200

""")


@Language.factory(
    "mtl_biaffine_parser",
    assigns=["token.head", "token.dep", "token.is_sent_start"],
    default_config={"model": DEFAULT_PARSER_MODEL, "scorer": {"@scorers": "spacy_mtl.parser_scorer.v1"}},
    default_score_weights={"las": 1.0, "uas": 0.0},
)
def make_biaffine_parser(nlp: Language, name: str, model: Model, scorer: Optional[Callable]):
    """Dependency parsing: biaffine arc/label scores, single-root MST decoding."""
    return BiaffineParser(nlp.vocab, model, name, scorer=scorer)


def gold_heads(predicted: Doc, reference: Doc, start: int, end: int):
    """Gold head (chunk-relative, 0 = root, -1 = unknown) and label per word of a chunk.

    Words are matched by character span, so a mis-segmented word has no gold."""
    gold_by_span = {(t.idx, len(t.text)): t for t in reference}
    chunk_pos = {(predicted[i].idx, len(predicted[i].text)): i - start + 1 for i in range(start, end)}
    heads, labels = [], []
    for token in predicted[start:end]:
        gold = gold_by_span.get((token.idx, len(token.text)))
        if gold is None or not gold.dep_:
            head = -1
        elif gold.head.i == gold.i:
            head = 0
        else:
            head = chunk_pos.get((gold.head.idx, len(gold.head.text)), -1)
        heads.append(head)
        labels.append(gold.dep_ if head >= 0 else None)
    return heads, labels


class BiaffineParser(BiaffinePipe):
    def __init__(self, vocab, model: Model, name: str = "dep", *, scorer: Optional[Callable] = None):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"labels": [], "width": model.attrs["scorer_cfg"]["width"]}

    def decode(self, arcs: numpy.ndarray, nodes=None):
        """Heads [n+1] (heads[0] = -1) of the best one-root tree; labels are needed at (word, head)."""
        heads = mst_one_root(log_softmax(arcs, axis=1))
        return heads, [(j, int(heads[j])) for j in range(1, len(heads))]

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        docs = list(docs)
        chunks, parses = scores
        by_doc: Dict[int, List] = {}
        for (d, start, _), parse in zip(chunks, parses):
            by_doc.setdefault(d, []).append((start, parse))
        names = self.labels  # (a tuple built per call: once, not per word)
        root = self.vocab.strings.add(ROOT_LABEL)
        for d, doc in enumerate(docs):
            if d not in by_doc:
                continue
            array = numpy.zeros((len(doc), 2), dtype="uint64")
            for start, (heads, _, label_ids) in by_doc[d]:
                for j in range(1, len(heads)):
                    i = start + j - 1
                    if heads[j] == 0:
                        array[i] = (0, root)
                    else:
                        head_i = start + heads[j] - 1
                        array[i] = (numpy.int64(head_i - i).astype("uint64"), self.vocab.strings.add(names[label_ids[j - 1]]))
            doc.from_array([HEAD, DEP], array)

    def label_gold(self, example: Example, start: int, end: int) -> Optional[Dict[Tuple[int, int], str]]:
        """{(dep, head): relation} in chunk positions (1-based, 0 = root) for the words with a gold head."""
        if not (has_layer(example.reference, "dep") and example.reference.has_annotation("DEP")):
            return None
        heads, labels = gold_heads(example.predicted, example.reference, start, end)
        return {(j, h): label for j, (h, label) in enumerate(zip(heads, labels), start=1) if h >= 0}

    def get_loss(self, examples: Iterable[Example], scores):
        validate_examples(examples, "BiaffineParser.get_loss")
        examples = list(examples)
        chunks, arcs, rels = scores
        label_index = {label: i for i, label in enumerate(self.labels)}
        d_arcs, d_rels, loss = [], [], 0.0
        for (d, start, end), arc, rel in zip(chunks, arcs, rels):
            d_arc, d_rel = numpy.zeros_like(arc), zeros_like(rel)
            gold = self.label_gold(examples[d], start, end)
            if gold is not None:
                probs = numpy.exp(log_softmax(arc[1:], axis=1))
                for (j, h) in gold:
                    d_arc[j] = probs[j - 1]
                    d_arc[j, h] -= 1.0
                    loss -= float(numpy.log(probs[j - 1, h] + 1e-9))
                loss += cell_label_loss(rel, gold, label_index, d_rel)
            d_arcs.append(d_arc)
            d_rels.append(d_rel)
        return loss, (d_arcs, d_rels)

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None, labels: Optional[List[str]] = None):
        validate_get_examples(get_examples, "BiaffineParser.initialize")
        if labels is None:
            labels = sorted({t.dep_ for eg in get_examples() for t in eg.reference if t.dep_ and t.head.i != t.i})
        for label in labels:
            self.add_label(label)
        self._initialize_model([eg.predicted for eg in islice(get_examples(), 10)])
