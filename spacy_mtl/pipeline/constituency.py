"""`con`: span-based constituency parser (Stern et al. 2017; Zhang et al. 2020).

The biaffine scorer of `dep` reads fencepost pairs: position i (0 = a learned
sentence start, else word i) and word j score the span of words i+1..j. The
"arc" channel says whether the span is a constituent (sigmoid), the label
channel which one (unary chains are single labels such as ``S+VP``). CKY picks
the best binary tree; its spans with a negative score are binarisation helpers
and are dropped, so the result is always one well-formed n-ary tree under TOP.
Writes ``doc._.con``: one tree per sentence (see ``algorithms/trees.py``).
"""
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from thinc.api import Model

from ..algorithms.cky import cky_many
from ..algorithms.trees import CHAIN, TOP, leaves, tree_from_spans, tree_spans
from ..extensions import has_layer
from ..ml.models.biaffine import sentence_bounds
from ._base import BiaffinePipe, cell_label_loss, masked_sigmoid_loss, zeros_like
from .biaffine_parser import DEFAULT_PARSER_MODEL


@Language.factory(
    "mtl_con",
    assigns=["doc._.con"],
    default_config={"model": DEFAULT_PARSER_MODEL, "span_threshold": 0.0,
                    "scorer": {"@scorers": "spacy_mtl.con_scorer.v1"}},
    default_score_weights={"con_f": 1.0, "con_p": 0.0, "con_r": 0.0},
)
def make_constituency_parser(nlp: Language, name: str, model: Model, scorer: Optional[Callable],
                              span_threshold: float = 0.0):
    """Constituency trees over the words, one per sentence. A span of the best
    binary tree is kept as a constituent when its score is above
    ``span_threshold`` (0: probability 0.5; tuned on dev by
    ``project/scripts/tune_decoding.py``; saved with the component)."""
    return ConstituencyParser(nlp.vocab, model, name, scorer=scorer, span_threshold=span_threshold)


def gold_spans(predicted: Doc, reference: Doc, start: int, end: int) -> Optional[Dict[Tuple[int, int], str]]:
    """{(i, j): label chain} in fencepost positions of the chunk (words i+1..j),
    or None when the chunk's words do not all match reference words."""
    ref_of = {(t.idx, len(t.text)): t.i for t in reference}
    ref_index = [ref_of.get((predicted[i].idx, len(predicted[i].text))) for i in range(start, end)]
    if None in ref_index or ref_index != list(range(ref_index[0], ref_index[0] + len(ref_index))):
        return None
    offset = ref_index[0]
    out = {}
    for tree in reference._.con or []:
        for (s, e), labels in tree_spans(tree).items():
            s, e = s - offset, e - offset
            if 0 <= s < e <= end - start:
                out[(s, e)] = CHAIN.join(labels)
    return out


class ConstituencyParser(BiaffinePipe):
    def __init__(self, vocab, model: Model, name: str = "con", *, scorer: Optional[Callable] = None,
                 span_threshold: float = 0.0):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"labels": [], "width": model.attrs["scorer_cfg"]["width"], "span_threshold": span_threshold}

    def decode(self, arcs: numpy.ndarray, nodes=None):
        """The spans (i, j) of the best binary tree that score as constituents
        (the others are binarisation helpers); each needs a label. No labels: no spans."""
        return self.decode_many([arcs], [nodes])[0]

    def decode_many(self, arcs: List[numpy.ndarray], nodes=None):
        """``decode`` of several chunks, their CKY charts filled together."""
        if not self.labels:
            return [([], []) for _ in arcs]
        threshold = self.cfg.get("span_threshold", 0.0)
        kept = [[(i, j) for i, j in tree if a[i, j] > threshold] for a, tree in zip(arcs, cky_many(arcs))]
        return [(spans, spans) for spans in kept]

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        docs = list(docs)
        chunks, parses = scores
        labels = self.labels  # (a tuple built per call: once, not per span)
        by_doc: Dict[int, Dict] = {d: {} for d in range(len(docs))}
        for (d, start, _), (spans, _, label_ids) in zip(chunks, parses):
            for (i, j), label_id in zip(spans, label_ids):
                by_doc[d][(start + i, start + j)] = labels[label_id].split(CHAIN)
        for d, doc in enumerate(docs):
            sents = sentence_bounds(doc)
            # a sentence parsed in several chunks gets one TOP over the chunks' trees
            doc._.con = [tree_from_spans(s, e, by_doc[d]) for s, e in sents if e > s]

    def label_gold(self, example: Example, start: int, end: int) -> Optional[Dict[Tuple[int, int], str]]:
        if not has_layer(example.reference, "con") or not example.reference._.con:
            return None
        return gold_spans(example.predicted, example.reference, start, end)

    def get_loss(self, examples: Iterable[Example], scores):
        validate_examples(examples, "ConstituencyParser.get_loss")
        examples = list(examples)
        chunks, arcs, rels = scores
        index = {label: i for i, label in enumerate(self.labels)}
        d_arcs, d_rels, loss = [], [], 0.0
        for (d, start, end), arc, rel in zip(chunks, arcs, rels):
            d_arc, d_rel = numpy.zeros_like(arc), zeros_like(rel)
            gold = self.label_gold(examples[d], start, end)
            if gold is not None:
                n = end - start
                mask = numpy.triu(numpy.ones_like(arc), k=1)  # spans i < j
                target = numpy.zeros_like(arc)
                for (i, j) in gold:
                    target[i, j] = 1.0
                # n² spans against n words: the span loss is scaled by 1/n
                span_loss, d_arc = masked_sigmoid_loss(arc, target, mask)
                d_arc /= max(n, 1)
                loss += span_loss / max(n, 1) + cell_label_loss(rel, gold, index, d_rel)
            d_arcs.append(d_arc)
            d_rels.append(d_rel)
        return loss, (d_arcs, d_rels)

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None, labels: Optional[List[str]] = None):
        validate_get_examples(get_examples, "ConstituencyParser.initialize")
        if labels is None:
            labels = sorted({CHAIN.join(ls) for eg in get_examples() if has_layer(eg.reference, "con")
                             for tree in (eg.reference._.con or []) for ls in tree_spans(tree).values()})
        for label in labels:
            self.add_label(label)
        self._initialize_model([eg.predicted for eg in islice(get_examples(), 10)])


def _is_punct(text: str) -> bool:
    import unicodedata

    return bool(text) and all(unicodedata.category(c)[0] in "PS" for c in text)


def evalb_brackets(doc: Doc) -> List[Tuple[str, int, int]]:
    """Labelled brackets as EVALB counts them (COLLINS.prm defaults): TOP and
    preterminals are not brackets, punctuation words are deleted first (a bracket
    left with no word disappears), and a unary chain gives one bracket per label.
    Bracket ends are character offsets of the first and last non-punctuation word,
    so trees over different segmentations can be compared."""
    out = []
    for tree in doc._.con or []:
        for (s, e), labels in tree_spans(tree).items():
            kept = [i for i in range(s, e) if not _is_punct(doc[i].text)]
            if not kept:
                continue
            char_span = (doc[kept[0]].idx, doc[kept[-1]].idx + len(doc[kept[-1]].text))
            out.extend((label, *char_span) for label in labels if label != TOP)
    return out


def score_con(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Labelled bracket precision, recall and F (EVALB style), micro-averaged."""
    from collections import Counter

    tp = n_pred = n_gold = 0
    for eg in examples:
        if not has_layer(eg.reference, "con") or eg.reference._.con is None:
            continue
        pred, gold = Counter(evalb_brackets(eg.predicted)), Counter(evalb_brackets(eg.reference))
        tp += sum((pred & gold).values())
        n_pred += sum(pred.values())
        n_gold += sum(gold.values())
    if not n_gold and not n_pred:
        return {"con_p": None, "con_r": None, "con_f": None}
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"con_p": p, "con_r": r, "con_f": 2 * p * r / (p + r) if p + r else 0.0}


@registry.scorers("spacy_mtl.con_scorer.v1")
def make_con_scorer():
    return score_con


__all__ = ["ConstituencyParser", "make_constituency_parser", "score_con", "evalb_brackets", "leaves"]
