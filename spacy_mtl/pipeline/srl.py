"""`srl`: predicates with their sense, and labelled argument spans, over words.

One softmax per word decides "no predicate" or a sense; for every predicate a
BIOES CRF over the words gives its arguments (well-formed, non-overlapping
spans). Writes ``doc._.srl``; ``doc._.srl_frames`` gives Tokens and Spans.
"""
from itertools import islice
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from thinc.api import Model, set_dropout_rate

from ..algorithms.crf import bioes_to_spans, crf_nll_many, crf_viterbi_many, spans_to_bioes
from ..extensions import has_layer
from ._base import CRFTagsMixin, default_model
from ..ml.inference import predict_word_vectors, single_threaded_blas
from ..ml.models.biaffine import sentence_chunks
from ..ml.models.srl import argument_emissions, pair_features, predicate_classes

NO_PREDICATE = "_"
UNKNOWN_SENSE = "PRED"  # a predicate whose sense was not seen in training
MAX_WORDS = 256  # longest stretch searched for one predicate's arguments (a sentence, or part of a longer one)
MAX_ROWS = 8192  # pair-feature rows scored per call in prediction (bounds memory on a long document)

DEFAULT_SRL_MODEL = default_model("""
[model]
@architectures = "spacy_mtl.SRLModel.v1"
hidden_width = 256
dropout = 0.1

""")


@Language.factory(
    "mtl_srl",
    assigns=["doc._.srl"],
    default_config={"model": DEFAULT_SRL_MODEL, "no_predicate_penalty": 0.0,
                    "scorer": {"@scorers": "spacy_mtl.srl_scorer.v1"}},
    default_score_weights={"srl_arg_f": 1.0, "srl_pred_f": 0.0, "srl_arg_head_f": 0.0},
)
def make_srl(nlp: Language, name: str, model: Model, scorer: Optional[Callable], no_predicate_penalty: float = 0.0):
    """Semantic role labelling (Universal PropBank style). ``no_predicate_penalty``
    is taken off the "no predicate" score of every word before its class is
    chosen: above 0, more words are predicates (tuned on dev by
    ``project/scripts/tune_decoding.py``; saved with the component)."""
    return SemanticRoleLabeler(nlp.vocab, model, name, scorer=scorer, no_predicate_penalty=no_predicate_penalty)


def _non_overlapping(spans):
    kept, taken = [], set()
    for s, e, label in sorted(spans, key=lambda a: (a[0], -a[1])):
        if not taken & set(range(s, e)):
            kept.append((s, e, label))
            taken.update(range(s, e))
    return kept


class _Predicate(NamedTuple):
    doc: int
    word: int
    sense: str
    first: int  # the stretch of words searched for its arguments: doc[first:last]
    last: int


def _row_blocks(found: List[_Predicate], max_rows: int) -> Iterator[List[_Predicate]]:
    """Consecutive runs of ``found`` of at most max_rows pair-feature rows in all (or one predicate)."""
    block, rows = [], 0
    for item in found:
        if block and rows + item.last - item.first > max_rows:
            yield block
            block, rows = [], 0
        block.append(item)
        rows += item.last - item.first
    if block:
        yield block


def _words_match(predicted: Doc, reference: Doc) -> bool:
    return len(predicted) == len(reference) and all(a.idx == b.idx and len(a) == len(b) for a, b in zip(predicted, reference))


class SemanticRoleLabeler(CRFTagsMixin, TrainablePipe):
    def __init__(self, vocab, model: Model, name: str = "srl", *, scorer: Optional[Callable] = None,
                 no_predicate_penalty: float = 0.0):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"senses": [NO_PREDICATE, UNKNOWN_SENSE], "labels": [],
                          "no_predicate_penalty": no_predicate_penalty}

    @property
    def labels(self):
        return tuple(self.cfg["labels"])

    def predict(self, docs: Iterable[Doc]):
        docs = list(docs)
        if not any(len(d) for d in docs):
            return [[] for _ in docs]
        tok2vec, predicates, arguments = self.model.layers
        vectors = predict_word_vectors(tok2vec, docs)
        trans, start, end = self.crf_potentials()
        tags, senses = self.tags, self.cfg["senses"]
        out = [[] for _ in docs]
        found: List[_Predicate] = []
        # one predicate-classifier call for the batch's words (not one per doc)
        # (an empty doc's vectors may be [0, 0]: left out)
        all_classes = predicate_classes(predicates, numpy.vstack([X for X in vectors if len(X)]),
                                        self.cfg.get("no_predicate_penalty", 0.0))
        ends = numpy.cumsum([len(X) for X in vectors])
        for d, (doc, X) in enumerate(zip(docs, vectors)):
            if not len(X):
                continue
            classes = all_classes[ends[d] - len(X) : ends[d]]
            # arguments are sought in the predicate's own sentence (cut every
            # MAX_WORDS words), so a long document costs linear time, not quadratic
            for _, first, last in sentence_chunks([doc], MAX_WORDS):
                for p in first + numpy.flatnonzero(classes[first:last]):
                    found.append(_Predicate(d, int(p), senses[classes[p]], first, last))
        for block in _row_blocks(found, MAX_ROWS):
            # one call scores the arguments of many predicates; a block's rows are
            # built per block, so a long document never holds them all
            stretch_of = {key: k for k, key in enumerate(dict.fromkeys((f.doc, f.first, f.last) for f in block))}
            stretches = [vectors[d][first:last] for d, first, last in stretch_of]
            pairs = [(stretch_of[f.doc, f.first, f.last], f.word - f.first) for f in block]
            with single_threaded_blas():
                emissions = numpy.asarray(argument_emissions(arguments, stretches, pairs), dtype="float64")
            ends = numpy.cumsum([f.last - f.first for f in block])
            paths = crf_viterbi_many([emissions[e - (f.last - f.first):e] for f, e in zip(block, ends)], trans, start, end)
            for f, path in zip(block, paths):
                spans = bioes_to_spans([tags[t] for t in path])
                out[f.doc].append({"predicate": f.word, "sense": f.sense,
                                   "arguments": [[f.first + s, f.first + e, label] for s, e, label in spans]})
        return out

    def set_annotations(self, docs: Iterable[Doc], frames) -> None:
        for doc, doc_frames in zip(docs, frames):
            doc._.srl = doc_frames

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd=None, losses=None):
        """Predicate classes and, for the gold predicates, argument CRFs, in one backward pass."""
        examples = list(examples)
        validate_examples(examples, "SemanticRoleLabeler.update")
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        set_dropout_rate(self.model, drop)
        tok2vec, predicates, arguments = self.model.layers
        docs = [eg.predicted for eg in examples]
        vectors, bp_vectors = tok2vec.begin_update(docs)
        d_vectors = [numpy.zeros_like(X) for X in vectors]
        trans, start, end = self.crf_potentials()
        d_trans, d_start, d_end = numpy.zeros_like(trans), numpy.zeros_like(start), numpy.zeros_like(end)
        sense_index = {s: i for i, s in enumerate(self.cfg["senses"])}
        tag_index = {t: i for i, t in enumerate(self.tags)}
        loss = 0.0
        pairs, features, gold_tags = [], [], []  # every gold predicate of the batch: (doc, backprop), features, tags
        for i, (eg, X) in enumerate(zip(examples, vectors)):
            ref = eg.reference
            if not len(X) or not has_layer(ref, "srl") or ref._.srl is None or not _words_match(eg.predicted, ref):
                continue
            probs, bp_pred = predicates.begin_update(X)
            gold = numpy.zeros(len(X), dtype="i")
            for f in ref._.srl:
                gold[f["predicate"]] = sense_index.get(f["sense"], 1)
            d_probs = probs.copy()
            d_probs[numpy.arange(len(X)), gold] -= 1.0
            loss -= float(numpy.log(probs[numpy.arange(len(X)), gold] + 1e-9).sum())
            d_vectors[i] += bp_pred(d_probs)
            for f in ref._.srl:
                F, bp_F = pair_features(X, f["predicate"])
                pairs.append((i, bp_F))
                features.append(F)
                gold_tags.append([tag_index.get(t, 0) for t in spans_to_bioes(len(X), _non_overlapping(f["arguments"]))])
        if pairs:
            # all predicates' argument layers in one pass and their CRFs in one call
            # (one at a time, they were most of a training step's SRL time)
            stops = numpy.cumsum([len(F) for F in features])
            emissions, bp_args = arguments.begin_update(numpy.vstack(features))
            emissions = numpy.asarray(emissions, dtype="float64")
            nlls, d_ems, d_trans, d_start, d_end = crf_nll_many(
                [emissions[stop - len(F) : stop] for F, stop in zip(features, stops)], trans, start, end, gold_tags)
            loss += sum(nlls)
            d_F = bp_args(numpy.vstack(d_ems).astype("f"))
            for (i, bp_F), F, stop in zip(pairs, features, stops):
                d_vectors[i] += bp_F(d_F[stop - len(F) : stop])
        self.add_crf_gradients(d_trans, d_start, d_end)
        bp_vectors(d_vectors)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples, scores):  # update() computes the loss
        raise NotImplementedError("SemanticRoleLabeler computes its loss in update()")

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[Dict] = None):
        validate_get_examples(get_examples, "SemanticRoleLabeler.initialize")
        senses, roles = set(), set()
        for eg in get_examples():
            if has_layer(eg.reference, "srl"):
                for f in eg.reference._.srl or []:
                    senses.add(f["sense"])
                    roles.update(label for _, _, label in f["arguments"])
        if labels is not None:
            senses, roles = set(labels.get("senses", senses)), set(labels.get("roles", roles))
        self.cfg["senses"] = [NO_PREDICATE, UNKNOWN_SENSE] + sorted(senses - {NO_PREDICATE, UNKNOWN_SENSE})
        self.cfg["labels"] = sorted(roles)
        self.model.set_dim("nP", len(self.cfg["senses"]))
        self.model.set_dim("nA", len(self.tags))
        self.model.initialize(X=[eg.predicted for eg in islice(get_examples(), 10)])


def score_srl(examples: Iterable[Example], **kwargs) -> Dict[str, Optional[float]]:
    """Predicate F1 (by word span; sense ignored), argument P/R/F by exact span
    and label (with the predicate), and by head: the predicted span's syntactic
    root against UP's gold argument head."""
    counts = {k: [0, 0, 0] for k in ("pred", "arg", "arg_head", "sense")}
    for eg in examples:
        ref = eg.reference
        if not has_layer(ref, "srl") or ref._.srl is None:
            continue
        pred_doc = eg.predicted
        def wkey(doc, i):  # noqa: E306
            return (doc[i].idx, doc[i].idx + len(doc[i].text))
        def skey(doc, s, e):  # noqa: E306
            return (doc[s].idx, doc[e - 1].idx + len(doc[e - 1].text))
        gold_preds = {wkey(ref, f["predicate"]): f for f in ref._.srl}
        pred_preds = {wkey(pred_doc, f["predicate"]): f for f in (pred_doc._.srl or [])}
        counts["pred"][0] += len(set(gold_preds) & set(pred_preds))
        counts["sense"][0] += sum(1 for k in set(gold_preds) & set(pred_preds) if gold_preds[k]["sense"] == pred_preds[k]["sense"])
        for name in ("pred", "sense"):
            counts[name][1] += len(pred_preds)
            counts[name][2] += len(gold_preds)
        gold_args = {(k, skey(ref, s, e), label) for k, f in gold_preds.items() for s, e, label in f["arguments"]}
        pred_args = {(k, skey(pred_doc, s, e), label) for k, f in pred_preds.items() for s, e, label in f["arguments"]}
        gold_heads = {(k, wkey(ref, h), label) for k, f in gold_preds.items() for h, label in f.get("heads", [])}
        pred_heads = set()
        for k, f in pred_preds.items():
            for s, e, label in f["arguments"]:
                root = pred_doc[s:e].root.i if pred_doc.has_annotation("DEP") else s
                pred_heads.add((k, wkey(pred_doc, root), label))
        for name, p, g in (("arg", pred_args, gold_args), ("arg_head", pred_heads, gold_heads)):
            counts[name][0] += len(p & g)
            counts[name][1] += len(p)
            counts[name][2] += len(g)
    out: Dict[str, Optional[float]] = {}
    for name, (tp, n_pred, n_gold) in counts.items():
        out[f"srl_{name}_p"] = tp / n_pred if n_pred else None
        out[f"srl_{name}_r"] = tp / n_gold if n_gold else None
        out[f"srl_{name}_f"] = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else None
    return out


@registry.scorers("spacy_mtl.srl_scorer.v1")
def make_srl_scorer():
    return score_srl
