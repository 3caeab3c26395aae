"""`amr`: AMR graphs as anchored concepts plus biaffine relations.

Each word gets a concept or none (a classifier over the concepts seen anchored
in training); relations between the chosen concepts come from the biaffine
scorer of `dep` (sigmoid arcs, labels per arc). Decoding keeps the graph valid:
a maximum spanning tree over the concepts (so it is connected and has one top)
plus, per concept, its likeliest further head above ``threshold`` (a re-entrancy); a sentence with no
confident concept keeps its likeliest one. A sentence longer than the model's
window becomes a ``multi-sentence`` graph over its pieces.
Writes ``doc._.amr``: per sentence ``{"penman", "triples", "top", "alignments"}``.
"""
import random
from collections import Counter
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import penman
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from thinc.api import Model

from ..algorithms.mst import mst_one_root
from ..extensions import has_layer
from ..ml.models.biaffine import Parse, sentence_bounds
from ._base import (BiaffinePipe, cell_label_loss, default_model, log_softmax, masked_sigmoid_loss, sigmoid,
                    zeros_like)

NO_CONCEPT = "∅"

DEFAULT_AMR_MODEL = default_model("""
[model]
@architectures = "spacy_mtl.AMRParser.v1"
arc_width = 256
label_width = 128
dropout = 0.2
max_words = 200

""")


@Language.factory(
    "mtl_amr",
    assigns=["doc._.amr"],
    default_config={"model": DEFAULT_AMR_MODEL, "threshold": 0.5, "min_concept_freq": 2, "no_concept_penalty": 0.0,
                    "scorer": {"@scorers": "spacy_mtl.amr_scorer.v1"}},
    default_score_weights={"amr_smatch_f": 1.0, "amr_smatch_p": 0.0, "amr_smatch_r": 0.0},
)
def make_amr_parser(nlp: Language, name: str, model: Model, threshold: float, min_concept_freq: int,
                    scorer: Optional[Callable], no_concept_penalty: float = 0.0):
    """AMR graphs (PENMAN) for every sentence. ``no_concept_penalty`` is taken
    off every word's "no concept" score before its concept is chosen: above 0,
    more words get a concept (tuned on dev by ``project/scripts/tune_decoding.py``;
    saved with the component)."""
    return AMRParser(nlp.vocab, model, name, threshold=threshold, min_concept_freq=min_concept_freq, scorer=scorer,
                     no_concept_penalty=no_concept_penalty)


def _variable(concept: str, used: set) -> str:
    letter = next((c.lower() for c in concept if c.isalpha() and c.isascii()), "x")
    var, n = letter, 1
    while var in used:
        n += 1
        var = f"{letter}{n}"
    used.add(var)
    return var


def graph_from_parts(concepts: Dict[int, str], arcs: List[Tuple[int, int, str]], top: int) -> Dict:
    """The ``doc._.amr`` record from concepts per token, (head, dep, role) arcs and the top token."""
    used: set = set()
    var_of = {i: _variable(c, used) for i, c in sorted(concepts.items())}
    triples = [(var_of[i], ":instance", c) for i, c in sorted(concepts.items())]
    triples += [(var_of[h], role, var_of[d]) for h, d, role in arcs]
    graph = penman.Graph(triples, top=var_of[top])
    return {"penman": penman.encode(graph, indent=None), "triples": [list(t) for t in triples],
            "top": var_of[top], "alignments": {v: i for i, v in var_of.items()}}


def multi_sentence(records: List[Dict]) -> Dict:
    """One graph over several pieces: (m / multi-sentence :snt1 … :snt2 …)."""
    triples, alignments, used = [], {}, set()
    renamed_tops = []
    for record in records:
        rename = {}
        for s, _, _ in (t for t in record["triples"] if t[1] == ":instance"):
            rename[s] = _variable(s, used) if s in used else (used.add(s) or s)
        triples += [[rename[s], r, rename.get(t, t) if r != ":instance" else t] for s, r, t in record["triples"]]
        alignments.update({rename[v]: i for v, i in record["alignments"].items()})
        renamed_tops.append(rename[record["top"]])
    top = _variable("m", used)
    triples = [[top, ":instance", "multi-sentence"]] + triples
    triples += [[top, f":snt{k}", t] for k, t in enumerate(renamed_tops, 1)]
    graph = penman.Graph([tuple(t) for t in triples], top=top)
    return {"penman": penman.encode(graph, indent=None), "triples": triples, "top": top, "alignments": alignments}


class AMRParser(BiaffinePipe):
    def __init__(self, vocab, model: Model, name: str = "amr", *, threshold: float = 0.5, min_concept_freq: int = 2,
                 scorer: Optional[Callable] = None, no_concept_penalty: float = 0.0):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"labels": [], "concepts": [NO_CONCEPT], "threshold": threshold,
                          "min_concept_freq": min_concept_freq, "width": model.attrs["scorer_cfg"]["width"],
                          "no_concept_penalty": no_concept_penalty}

    @property
    def concepts(self) -> Tuple[str, ...]:
        return tuple(self.cfg["concepts"])

    def _resize_for_cfg(self) -> None:
        cfg = self.model.attrs["scorer_cfg"]
        if cfg["n_node_labels"] != len(self.concepts):
            cfg["n_node_labels"] = len(self.concepts)
            self.model.attrs["n_labels"] = -1  # force a rebuild
        super()._resize_for_cfg()

    def _initialize_model(self, docs) -> None:
        self.model.attrs["scorer_cfg"]["n_node_labels"] = len(self.concepts)
        super()._initialize_model(docs)

    def decode(self, arcs: numpy.ndarray, nodes: numpy.ndarray):
        """One chunk's concepts {word: concept}, its top word, and the relation
        cells (dep, head) in chunk positions (word i at position i + 1), each of which needs a role."""
        n = arcs.shape[0] - 1
        scores = nodes[1:].copy()
        scores[:, 0] -= self.cfg.get("no_concept_penalty", 0.0)  # class 0: no concept
        probs = numpy.exp(log_softmax(scores, axis=-1))
        best = probs.argmax(-1)
        chosen = [i for i in range(n) if best[i] != 0]
        if not chosen:  # always a graph: the likeliest concept
            i = int(probs[:, 1:].max(-1).argmax()) if probs.shape[1] > 1 else 0
            chosen, best = [i], best.copy()
            best[i] = 1 + int(probs[i, 1:].argmax()) if probs.shape[1] > 1 else 0
        concept_names = self.concepts
        concepts = {i: concept_names[best[i]] if best[i] else "thing" for i in chosen}
        positions = [0] + [i + 1 for i in chosen]  # chunk positions, 0 = root
        sub = arcs[numpy.ix_(positions, positions)]
        heads = mst_one_root(sub)
        tree = {(d, int(heads[d])) for d in range(1, len(positions))}
        top = next(d for d, h in tree if h == 0)
        # re-entrancies: at most one more head per concept, the likeliest above the
        # threshold (keeps graphs sparse, as AMR's are, and Smatch tractable)
        probs_arc = sigmoid(sub)
        probs_arc[:, 0] = 0.0
        numpy.fill_diagonal(probs_arc, 0.0)
        for d, h in tree:
            probs_arc[d, h] = 0.0
        extra = {(d, int(probs_arc[d].argmax())) for d in range(1, len(positions))
                 if probs_arc[d].max() > self.cfg["threshold"]}
        cells = [(positions[d], positions[h]) for d, h in sorted((tree | extra) - {(top, 0)})]
        return (concepts, positions[top] - 1), cells

    def graph(self, parse: Parse, start: int) -> Dict:
        """The graph record of one decoded chunk whose first word is doc[start]."""
        (concepts, top), cells, label_ids = parse
        roles = self.labels or (":mod",)  # no labels: one scorer output, id 0
        arcs = [(start + h - 1, start + d - 1, roles[label_id]) for (d, h), label_id in zip(cells, label_ids)]
        return graph_from_parts({start + i: c for i, c in concepts.items()}, arcs, start + top)

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        docs = list(docs)
        chunks, parses = scores
        by_doc: Dict[int, List[Tuple[int, Dict]]] = {d: [] for d in range(len(docs))}
        for (d, start, _), parse in zip(chunks, parses):
            by_doc[d].append((start, self.graph(parse, start)))
        for d, doc in enumerate(docs):
            sents = sentence_bounds(doc)
            graphs = []
            for s, e in sents:
                pieces = [g for start, g in by_doc[d] if s <= start < e]
                if pieces:
                    graphs.append(pieces[0] if len(pieces) == 1 else multi_sentence(pieces))
            doc._.amr = graphs

    def gold(self, predicted: Doc, reference: Doc, start: int, end: int):
        """Concept index per word (-1: no gold), {(dep, head): role} and the top, in
        chunk positions; None when the words do not match the reference's."""
        ref_of = {(t.idx, len(t.text)): t.i for t in reference}
        ref_index = [ref_of.get((predicted[i].idx, len(predicted[i].text))) for i in range(start, end)]
        if None in ref_index:
            return None
        pos_of = {r: k + 1 for k, r in enumerate(ref_index)}
        index = {c: i for i, c in enumerate(self.concepts)}
        node_gold = numpy.zeros(end - start, dtype="i")
        arcs: Dict[Tuple[int, int], str] = {}
        for record in reference._.amr or []:
            align = {v: pos_of[i] for v, i in record["alignments"].items() if i in pos_of}
            for var, role, target in record["triples"]:
                if role == ":instance" and var in align:
                    node_gold[align[var] - 1] = index.get(target, -1)
                elif var in align and target in align and var != target:
                    arcs[(align[target], align[var])] = role
            if record["top"] in align:
                arcs[(align[record["top"]], 0)] = ""
        return node_gold, arcs

    def _chunk_gold(self, example: Example, start: int, end: int):
        if not has_layer(example.reference, "amr") or not example.reference._.amr:
            return None
        return self.gold(example.predicted, example.reference, start, end)

    def label_gold(self, example: Example, start: int, end: int) -> Optional[Dict[Tuple[int, int], str]]:
        gold = self._chunk_gold(example, start, end)
        return None if gold is None else gold[1]

    def get_loss(self, examples: Iterable[Example], scores):
        validate_examples(examples, "AMRParser.get_loss")
        examples = list(examples)
        chunks, arcs, rels, nodes = scores
        index = {label: i for i, label in enumerate(self.labels)}
        grads: Tuple[List, List, List] = ([], [], [])
        loss = 0.0
        for (d, start, end), arc, rel, node in zip(chunks, arcs, rels, nodes):
            d_arc, d_rel, d_node = numpy.zeros_like(arc), zeros_like(rel), numpy.zeros_like(node)
            gold = self._chunk_gold(examples[d], start, end)
            if gold is not None:
                node_gold, gold_arcs = gold
                p_node = numpy.exp(log_softmax(node[1:], axis=-1))
                known = node_gold >= 0
                d_node[1:][known] = p_node[known]
                d_node[1:][known, node_gold[known]] -= 1.0
                loss -= float(numpy.log(p_node[known, node_gold[known]] + 1e-9).sum())
                anchored = [0] + [k + 1 for k in range(end - start) if node_gold[k] > 0]
                mask = numpy.zeros_like(arc)
                mask[numpy.ix_(anchored, anchored)] = 1.0  # arcs only among gold concepts
                mask[0, :] = 0.0
                numpy.fill_diagonal(mask, 0.0)
                target = numpy.zeros_like(arc)
                for (dep, head) in gold_arcs:
                    target[dep, head] = 1.0
                arc_loss, d_arc = masked_sigmoid_loss(arc, target, mask)
                loss += arc_loss + cell_label_loss(rel, gold_arcs, index, d_rel)
            for grad, out in zip((d_arc, d_rel, d_node), grads):
                out.append(grad)
        return loss, grads

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[List[str]] = None, concepts: Optional[List[str]] = None):
        validate_get_examples(get_examples, "AMRParser.initialize")
        records = [r for eg in get_examples() if has_layer(eg.reference, "amr") for r in (eg.reference._.amr or [])]
        if labels is None:
            labels = sorted({role for r in records for _, role, _ in r["triples"] if role != ":instance"})
        if concepts is None:
            counts = Counter(c for r in records for v, role, c in r["triples"] if role == ":instance" and v in r["alignments"])
            concepts = sorted(c for c, n in counts.items() if n >= self.cfg["min_concept_freq"])
        for label in labels:
            self.add_label(label)
        self.cfg["concepts"] = [NO_CONCEPT] + [c for c in concepts if c != NO_CONCEPT]
        self._initialize_model([eg.predicted for eg in islice(get_examples(), 10)])


class _FixedRandom(random.Random):
    """smatch reseeds its restarts from the clock; this keeps scores reproducible."""

    def seed(self, *args, **kwargs):
        if not getattr(self, "_seeded", False):
            super().seed(0)
            self._seeded = True


def doc_penman(doc: Doc) -> Optional[str]:
    """The doc's graphs as one PENMAN string (several sentences → multi-sentence)."""
    graphs = doc._.amr or []
    if not graphs:
        return None
    return graphs[0]["penman"] if len(graphs) == 1 else multi_sentence(graphs)["penman"]


def smatch_counts(predicted: Optional[str], gold: str) -> Tuple[int, int, int]:
    """(matched, predicted, gold) triples of the best variable mapping (the smatch package)."""
    import smatch

    if predicted is None:
        return 0, 0, len(penman.decode(gold).triples)
    smatch.random = _FixedRandom()
    smatch.match_triple_dict.clear()
    return tuple(smatch.get_amr_match(" ".join(predicted.split()), " ".join(gold.split())))


def score_amr(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Smatch precision, recall and F over all graphs (totals summed, as smatch does)."""
    match = n_pred = n_gold = 0
    for eg in examples:
        if not has_layer(eg.reference, "amr") or not eg.reference._.amr:
            continue
        m, p, g = smatch_counts(doc_penman(eg.predicted), doc_penman(eg.reference))
        match, n_pred, n_gold = match + m, n_pred + p, n_gold + g
    if not n_gold:
        return {"amr_smatch_p": None, "amr_smatch_r": None, "amr_smatch_f": None}
    p = match / n_pred if n_pred else 0.0
    r = match / n_gold
    return {"amr_smatch_p": p, "amr_smatch_r": r, "amr_smatch_f": 2 * p * r / (p + r) if p + r else 0.0}


@registry.scorers("spacy_mtl.amr_scorer.v1")
def make_amr_scorer():
    return score_amr
