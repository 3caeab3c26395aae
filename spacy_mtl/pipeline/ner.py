"""`ner`: named entities over words or characters, BIOES tags decoded by a constrained CRF.

The default head writes ``doc.ents``; a head with ``spans_key`` set (e.g. a
second label set such as ``ner_resume``) writes ``doc.spans[spans_key]`` so
several NER heads can live in one pipeline.

A head whose corpus is annotated on characters (Weibo, Resume: no words)
learns from one-character tokens; with ``units = "characters"`` it also
predicts on characters (the units of ``tok``), whatever words ``tok`` made,
and its entities are then widened to the nearest word boundaries.
"""
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import registry
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Model, set_dropout_rate

from ..algorithms.crf import bioes_to_spans, crf_nll_many, crf_viterbi_many
from ..dictionary import Dictionary
from ..extensions import has_layer
from ..ml.inference import predict_once_per_output, predict_word_vectors
from ..ml.models.biaffine import sentence_bounds
from ..ml.models.segmenter import doc_units, token_unit_sizes, unit_vectors_of
from ._base import CRFTagsMixin, LabelsMixin, default_model

DEFAULT_NER_MODEL = default_model("""
[model]
@architectures = "spacy_mtl.CRFTagger.v1"
nO = null

""")


UNITS = ("words", "characters")
# the character-unit vectors, kept on a doc's transformer output like the word vectors
_UNIT_VECTORS = "_spacy_mtl_unit_vectors"


@Language.factory(
    "mtl_ner",
    assigns=["doc.ents", "doc.spans"],
    default_config={"model": DEFAULT_NER_MODEL, "spans_key": None, "layer": "ner", "o_penalty": 0.0,
                    "units": "words", "scorer": {"@scorers": "spacy_mtl.ner_scorer.v1"}},
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_ner(nlp: Language, name: str, model: Model, spans_key: Optional[str], layer: str, scorer: Optional[Callable],
             o_penalty: float = 0.0, units: str = "words"):
    """Named entities with a CRF. ``layer``: the annotation layer name its training docs carry.
    ``o_penalty`` is taken off every word's O-tag score before decoding (above 0:
    more entities; tuned on dev by ``project/scripts/tune_decoding.py``; saved with the component).
    ``units``: "words" (tags per token) or "characters" (tags per character unit,
    for heads trained on character-annotated corpora; read from the config, so
    ``spacy.load(..., config=...)`` can switch it)."""
    if units not in UNITS:
        raise ValueError(f"{name}: units must be one of {UNITS}, not {units!r}")
    return CRFEntityRecognizer(nlp.vocab, model, name, spans_key=spans_key, layer=layer, scorer=scorer,
                               o_penalty=o_penalty, units=units)


def without_o_penalty(emissions, o_penalty: float) -> numpy.ndarray:
    """Emissions [n, T] as float64, the O tag's (tag 0) lowered by ``o_penalty``."""
    out = numpy.array(emissions, dtype="float64")
    out[:, 0] -= o_penalty
    return out


def biluo_to_bioes(tag: Optional[str]) -> Optional[str]:
    if tag is None or tag == "-" or tag == "":
        return None
    return {"U": "S", "L": "E"}.get(tag[0], tag[0]) + tag[1:] if tag != "O" else "O"


def unit_starts(sizes: List[Tuple[int, ...]]) -> numpy.ndarray:
    """A doc's ``token_unit_sizes`` -> [n_tokens + 1]: the first character unit
    of every token, then the number of units."""
    return numpy.r_[0, numpy.cumsum([len(token_sizes) for token_sizes in sizes], dtype="int64")].astype("int64")


def gold_unit_tags(predicted: Doc, reference: Doc) -> List[Optional[str]]:
    """BIOES tags of ``predicted``'s character units from ``reference``'s
    entities (the same text). Unknown (None): units in reference tokens without
    NER annotation, and units an entity covers only in part."""
    units = doc_units(predicted)
    known_chars = numpy.zeros(len(reference.text) + 1, dtype=bool)
    for token in reference:
        known_chars[token.idx:token.idx + len(token.text)] = token.ent_iob_ != ""
    tags: List[Optional[str]] = ["O" if known_chars[start:end].all() else None for start, end in units]
    first = {start: k for k, (start, _) in enumerate(units)}
    last = {end: k for k, (_, end) in enumerate(units)}
    for ent in reference.ents:
        a, b = first.get(ent.start_char), last.get(ent.end_char)
        if a is None or b is None:  # its boundary cuts a unit: leave the units it touches unknown
            for k, (start, end) in enumerate(units):
                if start < ent.end_char and end > ent.start_char:
                    tags[k] = None
            continue
        if a == b:
            tags[a] = f"S-{ent.label_}"
        else:
            tags[a:b + 1] = [f"B-{ent.label_}"] + [f"I-{ent.label_}"] * (b - a - 1) + [f"E-{ent.label_}"]
    return tags


def widen_to_tokens(doc: Doc, spans: List, units: List) -> List:
    """Character-unit spans (start, end, label) -> token spans, each widened to
    the words it touches; a span that then overlaps the one before is dropped
    (the first keeps its words)."""
    out, taken_until = [], 0
    for s, e, label in spans:
        span = doc.char_span(units[s][0], units[e - 1][1], alignment_mode="expand")
        if span is not None and span.start >= taken_until:
            out.append((span.start, span.end, label))
            taken_until = span.end
    return out


class CRFEntityRecognizer(CRFTagsMixin, LabelsMixin, TrainablePipe):
    def __init__(self, vocab, model: Model, name: str = "ner", *, spans_key: Optional[str] = None,
                 layer: str = "ner", scorer: Optional[Callable] = None, o_penalty: float = 0.0, units: str = "words"):
        self.vocab, self.model, self.name, self.scorer = vocab, model, name, scorer
        self.cfg: Dict = {"labels": [], "spans_key": spans_key, "layer": layer, "dict_entities": {}, "o_penalty": o_penalty}
        # not in cfg: cfg is saved with the weights and would override the config's value on load
        self.units = units
        self._whitelist: Optional[Dictionary] = None
        self._unit_vectors: Optional[Model] = None

    @property
    def reads_characters(self) -> bool:
        return self.units == "characters"

    def _unit_vector_model(self) -> Model:
        """Character-unit vectors through the head's own listener (no new weights)."""
        if self._unit_vectors is None:
            tok2vec, emit = self.model.layers[0].layers
            listener = tok2vec.layers[0] if tok2vec.layers else None
            if not isinstance(listener, TransformerListener):
                raise ValueError(f"{self.name}: units = 'characters' needs a TransformerListener tok2vec "
                                 f"(spacy-transformers.TransformerListener.v1), not {tok2vec.name}")
            self._unit_vectors = unit_vectors_of(listener, emit.layers[0].get_dim("nI"))
        return self._unit_vectors

    def _emissions(self, docs: List[Doc], n_units: Optional[List[int]]) -> List[numpy.ndarray]:
        """Emission scores per doc: [n_tokens, T], or, reading characters (given
        each doc's number of units), [n_units, T]."""
        tok2vec, emit = self.model.layers[0].layers  # (vectors shared with the other heads)
        if not self.reads_characters:
            return emit.predict(predict_word_vectors(tok2vec, docs))
        return emit.predict(predict_once_per_output(self._unit_vector_model(), docs, _UNIT_VECTORS, n_units))

    @property
    def dict_entities(self) -> Dict[str, str]:
        """Entity whitelist {text: label}: matches on word boundaries are always
        entities of that label, replacing predictions they overlap."""
        return dict(self.cfg.get("dict_entities") or {})

    @dict_entities.setter
    def dict_entities(self, entries: Dict[str, str]) -> None:
        self.cfg["dict_entities"] = dict(entries)
        self._whitelist = None

    def predict(self, docs: Iterable[Doc]):
        docs = list(docs)
        if not any(len(d) for d in docs):
            return [[] for _ in docs]
        # reading characters: each doc's unit sizes, once for the unit bounds and the widening
        sizes = [token_unit_sizes(doc) for doc in docs] if self.reads_characters else None
        starts = None if sizes is None else [unit_starts(doc_sizes) for doc_sizes in sizes]
        emissions = self._emissions(docs, None if starts is None else [int(s[-1]) for s in starts])
        trans, start, end = self.crf_potentials()
        tags = self.tags
        # one CRF path per sentence: no entity crosses a sentence end, and a
        # sentence gets the entities it gets alone (or in any group of sentences)
        sentences = [(d, first, last) for d, (doc, em) in enumerate(zip(docs, emissions)) if len(em)
                     for first, last in sentence_bounds(doc)]
        if starts is not None:  # reading characters: the sentences' token bounds -> unit bounds
            sentences = [(d, int(starts[d][first]), int(starts[d][last])) for d, first, last in sentences]
            sentences = [(d, first, last) for d, first, last in sentences if last > first]
        o_penalty = self.cfg.get("o_penalty", 0.0)
        paths = crf_viterbi_many([without_o_penalty(emissions[d][first:last], o_penalty) for d, first, last in sentences],
                                 trans, start, end)
        out: List[List] = [[] for _ in docs]
        for (d, first, _), path in zip(sentences, paths):
            out[d].extend((first + s, first + e, label) for s, e, label in bioes_to_spans([tags[t] for t in path]))
        if sizes is not None:
            out = [widen_to_tokens(doc, spans, doc_units(doc, doc_sizes)) for doc, spans, doc_sizes in zip(docs, out, sizes)]
        return out

    def _apply_whitelist(self, doc: Doc, spans: List) -> List:
        entries = self.cfg.get("dict_entities") or {}
        if not entries:
            return spans
        if self._whitelist is None or set(self._whitelist.entries) != set(entries):
            self._whitelist = Dictionary(entries)
        starts = {t.idx: t.i for t in doc}
        ends = {t.idx + len(t.text): t.i + 1 for t in doc}
        forced = [(starts[s], ends[e], label) for s, e, label in self._whitelist.longest_matches(doc.text, set(starts), set(ends))]
        taken = {i for s, e, _ in forced for i in range(s, e)}
        kept = [(s, e, label) for s, e, label in spans if not taken & set(range(s, e))]
        return sorted(kept + forced)

    def set_annotations(self, docs: Iterable[Doc], spans) -> None:
        for doc, doc_spans in zip(docs, spans):
            doc_spans = self._apply_whitelist(doc, list(doc_spans))
            ents = [Span(doc, s, e, label=label) for s, e, label in doc_spans]
            if self.cfg["spans_key"]:
                doc.spans[self.cfg["spans_key"]] = ents
            else:
                doc.set_ents(ents, default="outside")

    def _gold_tags(self, eg: Example) -> Optional[List[Optional[str]]]:
        if not has_layer(eg.reference, self.cfg["layer"]):
            return None
        if self.reads_characters:
            return gold_unit_tags(eg.predicted, eg.reference)
        return [biluo_to_bioes(t) for t in eg.get_aligned_ner()]

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd=None, losses=None):
        """TrainablePipe.update; reading characters, the emissions are those of the units."""
        if not self.reads_characters:
            return super().update(examples, drop=drop, sgd=sgd, losses=losses)
        losses = {} if losses is None else losses
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "CRFEntityRecognizer.update")
        docs = [eg.predicted for eg in examples]
        if not any(len(doc) for doc in docs):
            return losses
        set_dropout_rate(self.model, drop)
        emit = self.model.layers[0].layers[1]
        vectors, bp_vectors = self._unit_vector_model()(docs, is_train=True)
        emissions, bp_emissions = emit(vectors, is_train=True)
        loss, d_emissions = self.get_loss(examples, emissions)
        bp_vectors(bp_emissions(d_emissions))
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], emissions):
        """Negative log-likelihood of the gold tags, marginalising over unknown positions."""
        validate_examples(examples, "CRFEntityRecognizer.get_loss")
        trans, start, end = self.crf_potentials()
        index = {t: i for i, t in enumerate(self.tags)}
        d_emissions = [numpy.zeros(numpy.shape(em), dtype="f") for em in emissions]
        known, golds = [], []  # the docs with gold tags (all of a batch's CRFs go in one call)
        for i, (eg, em) in enumerate(zip(examples, emissions)):
            gold = self._gold_tags(eg)
            if gold is not None and len(em) and any(t is not None for t in gold):
                known.append(i)
                golds.append([index.get(t) if t else None for t in gold])
        losses, d_known, d_trans, d_start, d_end = crf_nll_many(
            [numpy.asarray(emissions[i], dtype="float64") for i in known], trans, start, end, golds)
        for i, d_em in zip(known, d_known):
            d_emissions[i] = d_em.astype("f")
        self.add_crf_gradients(d_trans, d_start, d_end)
        return float(sum(losses)), d_emissions

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None,
                   labels: Optional[List[str]] = None):
        validate_get_examples(get_examples, "CRFEntityRecognizer.initialize")
        if labels is None:
            labels = sorted({ent.label_ for eg in get_examples() if has_layer(eg.reference, self.cfg["layer"])
                             for ent in eg.reference.ents})
        for label in labels:
            self.add_label(label)
        self.model.set_dim("nO", len(self.tags))
        self.model.initialize(X=[eg.predicted for eg in islice(get_examples(), 10)])


def score_entities(examples: Iterable[Example], spans_key: Optional[str] = None, layer: str = "ner", **kwargs) -> Dict:
    """Entity P/R/F overall and per type, over the docs that carry ``layer``.

    The default head is scored on ``doc.ents`` (keys ``ents_*``); a head with a
    spans key on ``doc.spans[key]`` against the gold ``doc.ents`` (keys ``spans_{key}_*``)."""
    examples = [eg for eg in examples if has_layer(eg.reference, layer)]
    if spans_key is None:
        return Scorer.score_spans(examples, "ents")

    def getter(doc, attr):
        return doc.spans[spans_key] if spans_key in doc.spans else doc.ents

    return Scorer.score_spans(examples, f"spans_{spans_key}", getter=getter, has_annotation=lambda doc: True)


@registry.scorers("spacy_mtl.ner_scorer.v1")
def make_ner_scorer():
    return score_entities
