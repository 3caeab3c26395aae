"""`sdp`: semantic dependency graphs — every word may have zero, one or several heads.

Same biaffine scorer as `dep`; arcs are scored independently (sigmoid), kept
above ``threshold``; a word with no arc above it keeps its best head, and a
sentence with no root keeps its likeliest root, so the graph covers every word.
Writes ``doc._.sdp`` = [[head, dep, label], ...] with head -1 for the root.
"""
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from thinc.api import Model

from ..extensions import has_layer
from ._base import BiaffinePipe, cell_label_loss, masked_sigmoid_loss, sigmoid, zeros_like
from .biaffine_parser import DEFAULT_PARSER_MODEL


@Language.factory(
    "mtl_sdp",
    assigns=["doc._.sdp"],
    default_config={"model": DEFAULT_PARSER_MODEL, "threshold": 0.5,
                    "scorer": {"@scorers": "spacy_mtl.sdp_scorer.v1"}},
    default_score_weights={"sdp_lf": 1.0, "sdp_uf": 0.0},
)
def make_graph_parser(nlp: Language, name: str, model: Model, threshold: float, scorer: Optional[Callable]):
    """Semantic dependency graphs (SemEval-2016 Task 9 style)."""
    return GraphParser(nlp.vocab, model, name, threshold=threshold, scorer=scorer)


def gold_arcs(predicted: Doc, reference: Doc, start: int, end: int) -> Optional[Dict]:
    """{(dep, head): label} in chunk positions (1-based, 0 = root), or None if the
    words do not all match the reference by character span."""
    pos = {(predicted[i].idx, len(predicted[i].text)): i - start + 1 for i in range(start, end)}
    ref_pos = {}
    for t in reference:
        key = (t.idx, len(t.text))
        if key in pos:
            ref_pos[t.i] = pos[key]
    if len(ref_pos) != end - start:
        return None
    arcs = {}
    for h, d, label in reference._.sdp or []:
        if d in ref_pos and (h < 0 or h in ref_pos):
            arcs[(ref_pos[d], 0 if h < 0 else ref_pos[h])] = label
    return arcs


def decode_graph(arc_scores: numpy.ndarray, threshold: float) -> List[tuple]:
    """(dep, head) pairs, 1-based words, head 0 = root, from arc scores [n+1, n+1]."""
    probs = sigmoid(arc_scores)
    n = probs.shape[0] - 1
    numpy.fill_diagonal(probs, 0.0)
    probs[0, :] = 0.0
    chosen = probs > threshold
    orphans = numpy.flatnonzero(~chosen[1:].any(1)) + 1  # words with no arc: their best head
    chosen[orphans, probs[orphans].argmax(1)] = True
    if n and not chosen[1:, 0].any():
        chosen[1 + probs[1:, 0].argmax(), 0] = True
    return [tuple(arc) for arc in numpy.argwhere(chosen).tolist()]


def _dep_then_head(arc: List) -> tuple:
    return arc[1], arc[0]


class GraphParser(BiaffinePipe):
    def __init__(self, vocab, model: Model, name: str = "sdp", *, threshold: float = 0.5, scorer: Optional[Callable] = None):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"labels": [], "threshold": threshold, "width": model.attrs["scorer_cfg"]["width"]}

    def decode(self, arcs: numpy.ndarray, nodes=None):
        """The (dep, head) arcs kept; each needs a label."""
        kept = decode_graph(arcs, self.cfg["threshold"])
        return kept, kept

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        docs = list(docs)
        chunks, parses = scores
        graphs: Dict[int, List] = {d: [] for d in range(len(docs))}
        labels = self.labels  # (a tuple built per call: once, not per arc)
        for (d, start, _), (kept, _, label_ids) in zip(chunks, parses):
            # (plain ints: indexing a tuple with numpy ints was most of this loop)
            names = [labels[i] for i in label_ids.tolist()] if labels else [""] * len(kept)
            graphs[d].extend([start + head - 1 if head else -1, start + dep - 1, label]
                             for (dep, head), label in zip(kept, names))
        for d, doc in enumerate(docs):
            doc._.sdp = sorted(graphs[d], key=_dep_then_head)

    def label_gold(self, example: Example, start: int, end: int) -> Optional[Dict]:
        if not has_layer(example.reference, "sdp") or example.reference._.sdp is None:
            return None
        return gold_arcs(example.predicted, example.reference, start, end)

    def get_loss(self, examples: Iterable[Example], scores):
        validate_examples(examples, "GraphParser.get_loss")
        examples = list(examples)
        chunks, arcs, rels = scores
        index = {label: i for i, label in enumerate(self.labels)}
        d_arcs, d_rels, loss = [], [], 0.0
        for (d, start, end), arc, rel in zip(chunks, arcs, rels):
            d_arc, d_rel = numpy.zeros_like(arc), zeros_like(rel)
            gold = self.label_gold(examples[d], start, end)
            if gold is not None:
                target = numpy.zeros_like(arc)
                for (dep, head) in gold:
                    target[dep, head] = 1.0
                mask = numpy.ones_like(arc)
                mask[0, :] = 0.0
                numpy.fill_diagonal(mask, 0.0)
                arc_loss, d_arc = masked_sigmoid_loss(arc, target, mask)
                loss += arc_loss + cell_label_loss(rel, gold, index, d_rel)
            d_arcs.append(d_arc)
            d_rels.append(d_rel)
        return loss, (d_arcs, d_rels)

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None, labels: Optional[List[str]] = None):
        validate_get_examples(get_examples, "GraphParser.initialize")
        if labels is None:
            labels = sorted({label for eg in get_examples() if has_layer(eg.reference, "sdp")
                             for _, _, label in (eg.reference._.sdp or [])})
        for label in labels:
            self.add_label(label)
        self._initialize_model([eg.predicted for eg in islice(get_examples(), 10)])


def score_sdp(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Labelled/unlabelled F over arcs (SemEval-2016 Task 9 LF/UF), plus the same
    for non-local arcs (NLF/NUF: arcs of words that have more than one head).
    Arcs are compared by the character spans of their two words; root arcs count."""
    counts = {k: [0, 0, 0] for k in ("lf", "uf", "nlf", "nuf")}  # tp, pred, gold
    for eg in examples:
        if not has_layer(eg.reference, "sdp") or eg.reference._.sdp is None:
            continue
        sets = []
        for doc in (eg.predicted, eg.reference):
            key = lambda i: None if i < 0 else (doc[i].idx, doc[i].idx + len(doc[i].text))  # noqa: E731
            arcs = doc._.sdp or []
            n_heads: Dict[int, int] = {}
            for _, dep, _ in arcs:
                n_heads[dep] = n_heads.get(dep, 0) + 1
            labelled = {(key(h), key(d), lab) for h, d, lab in arcs}
            nonlocal_ = {(key(h), key(d), lab) for h, d, lab in arcs if n_heads[d] > 1}
            sets.append((labelled, {a[:2] for a in labelled}, nonlocal_, {a[:2] for a in nonlocal_}))
        for name, pred, gold in zip(("lf", "uf", "nlf", "nuf"), sets[0], sets[1]):
            counts[name][0] += len(pred & gold)
            counts[name][1] += len(pred)
            counts[name][2] += len(gold)
    out: Dict[str, Optional[float]] = {}
    for name, (tp, n_pred, n_gold) in counts.items():
        out[f"sdp_{name}"] = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else None
    return out


@registry.scorers("spacy_mtl.sdp_scorer.v1")
def make_sdp_scorer():
    return score_sdp
