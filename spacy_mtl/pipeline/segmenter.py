"""`tok`: word segmentation by B/M/E/S tagging of character units.

At prediction time it merges the character tokens into words and rewrites the
transformer alignment, so every later head pools its word vectors from the
same encoder pass. At training time the reader gives it gold words; it learns
from their characters and leaves the tokens alone.
"""
from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy_transformers.data_classes import TransformerData
from thinc.api import Model, Ragged

from ..algorithms.bmes import TAGS, E, S, bmes_tags, bmes_viterbi
from ..extensions import has_layer
from ..ml.models.segmenter import doc_units
from ..scoring import score_tokenization

DEFAULT_MODEL = """
[model]
@architectures = "spacy_mtl.SegmenterModel.v1"
width = 384
hidden_width = 0
upstream = "*"
"""


@Language.factory(
    "mtl_segmenter",
    requires=["doc._.trf_data"],
    default_config={"model": None, "scorer": {"@scorers": "spacy_mtl.tokenization_scorer.v1"}},
    default_score_weights={"token_f": 1.0, "token_p": 0.0, "token_r": 0.0},
)
def make_segmenter(nlp: Language, name: str, model: Optional[Model], scorer: Optional[Callable]):
    if model is None:
        from thinc.api import Config
        from spacy.util import registry

        model = registry.resolve(Config().from_str(DEFAULT_MODEL))["model"]
    return Segmenter(nlp.vocab, model, name, scorer=scorer)


def unit_segments(doc: Doc) -> List[List[int]]:
    """Groups of consecutive non-space tokens with no whitespace between them."""
    segments, current = [], []
    for token in doc:
        if token.is_space:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(token.i)
        if token.whitespace_:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments


def gold_unit_tags(predicted: Doc, reference: Doc) -> numpy.ndarray:
    """B/M/E/S for every unit of ``predicted`` from the words of ``reference``."""
    starts = {t.idx for t in reference if not t.is_space}
    ends = {t.idx + len(t.text) for t in reference if not t.is_space}
    tags = []
    for start, end in doc_units(predicted):
        begins, finishes = start in starts, end in ends
        tags.append(S if begins and finishes else E if finishes else 0 if begins else 1)
    return numpy.asarray(tags, dtype="i")


class Segmenter(TrainablePipe):
    def __init__(self, vocab, model: Model, name: str = "tok", *, scorer: Optional[Callable] = None):
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict = {"labels": list(TAGS)}

    @property
    def labels(self):
        return tuple(TAGS)

    def predict(self, docs: Iterable[Doc]):
        docs = list(docs)
        if not any(len(d) for d in docs):
            return [numpy.zeros((0, 4), dtype="f") for _ in docs]
        return self.model.predict(docs)

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        for doc, doc_scores in zip(docs, scores):
            self._merge_words(doc, numpy.log(numpy.asarray(doc_scores) + 1e-9))

    def _merge_words(self, doc: Doc, log_probs: numpy.ndarray) -> None:
        # unit index of the last unit of every token
        token_last_unit, unit = {}, -1
        for token in doc:
            if not token.is_space:
                unit += _n_units(token.text)
                token_last_unit[token.i] = unit
        word_starts = set()
        for segment in unit_segments(doc):
            first = token_last_unit[segment[0]] - _n_units(doc[segment[0]].text) + 1
            last = token_last_unit[segment[-1]]
            tags = bmes_viterbi(log_probs[first : last + 1])
            word_starts.add(segment[0])
            for prev, cur in zip(segment, segment[1:]):
                if tags[token_last_unit[prev] - first] in (E, S):
                    word_starts.add(cur)
        spans, start = [], None
        for token in doc:
            if token.is_space or token.i in word_starts:
                if start is not None and token.i - start > 1:
                    spans.append((start, token.i))
                start = None if token.is_space else token.i
        if start is not None and len(doc) - start > 1:
            spans.append((start, len(doc)))
        if spans:
            merge_tokens(doc, spans)

    def get_loss(self, examples: Iterable[Example], scores):
        validate_examples(examples, "Segmenter.get_loss")
        truths = []
        for eg, doc_scores in zip(examples, scores):
            if has_layer(eg.reference, "tok"):
                truths.append(gold_unit_tags(eg.predicted, eg.reference))
            else:
                truths.append(numpy.full(len(doc_scores), -1, dtype="i"))
        d_scores, loss = [], 0.0
        for guess, truth in zip(scores, truths):
            d = numpy.array(guess, dtype="f", copy=True)
            known = truth >= 0
            d[numpy.flatnonzero(known), truth[known]] -= 1.0
            d[~known] = 0.0
            loss += float(-numpy.log(numpy.asarray(guess)[numpy.flatnonzero(known), truth[known]] + 1e-9).sum())
            d_scores.append(d)
        return loss, d_scores

    def initialize(self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None):
        validate_get_examples(get_examples, "Segmenter.initialize")
        docs = [eg.predicted for eg in islice(get_examples(), 10)]
        self.model.initialize(X=docs)


def validate_get_examples(get_examples, name):
    from spacy.training import validate_get_examples as _v

    _v(get_examples, name)


def _n_units(text: str) -> int:
    from ..tokenizer import graphemes

    return len(graphemes(text))


def merge_tokens(doc: Doc, spans) -> None:
    """Merge token ranges [start, end) and keep ``doc._.trf_data`` aligned to the result."""
    trf = doc._.trf_data if Doc.has_extension("trf_data") else None
    new_align = None
    if isinstance(trf, TransformerData) and len(trf.align.lengths) == len(doc):
        data = numpy.asarray(trf.align.dataXd)
        lengths = numpy.asarray(trf.align.lengths)
        offsets = numpy.r_[0, numpy.cumsum(lengths)]
        per_token = [data[offsets[i] : offsets[i + 1]] for i in range(len(doc))]
        merged, i, span_iter = [], 0, iter(spans)
        nxt = next(span_iter, None)
        while i < len(doc):
            if nxt is not None and i == nxt[0]:
                merged.append(numpy.sort(numpy.concatenate(per_token[nxt[0] : nxt[1]])))
                i = nxt[1]
                nxt = next(span_iter, None)
            else:
                merged.append(per_token[i])
                i += 1
        new_align = Ragged(
            numpy.concatenate(merged).astype("i") if merged else numpy.zeros((0,), "i"),
            numpy.asarray([len(m) for m in merged], dtype="i"),
        )
    with doc.retokenize() as retok:
        for start, end in spans:
            retok.merge(doc[start:end])
    if new_align is not None:
        doc._.trf_data = TransformerData(wordpieces=trf.wordpieces, model_output=trf.model_output, align=new_align)
