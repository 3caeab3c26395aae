"""`tok`: word segmentation by B/M/E/S tagging of character units.

At prediction time it merges the character tokens into words and rewrites the
transformer alignment, so every later head pools its word vectors from the
same encoder pass. At training time the reader gives it gold words; it learns
from their characters and leaves the tokens alone.
"""
import unicodedata
from functools import lru_cache
from itertools import islice
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy
from spacy.language import Language
from spacy.attrs import SPACY
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.util import minibatch
from spacy_transformers.data_classes import TransformerData
from thinc.api import Config, Model, Ragged

from ..algorithms.bmes import TAGS, B, E, M, S, bmes_viterbi_many
from ..dictionary import Dictionary
from ..extensions import has_layer
from ..ml.inference import transformer_output
from ..ml.models.segmenter import doc_units, token_unit_sizes

DEFAULT_SEGMENTER_MODEL = Config().from_str("""
[model]
@architectures = "spacy_mtl.SegmenterModel.v1"
hidden_width = 0
upstream = "*"
""")["model"]


@Language.factory(
    "mtl_segmenter",
    requires=["doc._.trf_data"],
    default_config={"model": DEFAULT_SEGMENTER_MODEL, "scorer": {"@scorers": "spacy_mtl.tokenization_scorer.v1"}},
    default_score_weights={"token_f": 1.0, "token_p": 0.0, "token_r": 0.0},
)
def make_segmenter(nlp: Language, name: str, model: Model, scorer: Optional[Callable]):
    """Word segmentation on the shared encoder's character pieces."""
    return Segmenter(nlp.vocab, model, name, scorer=scorer)


@lru_cache(maxsize=65536)
def is_standalone_punct(text: str) -> bool:
    """Non-ASCII punctuation (。，！？“”…) is always a word of its own, as in UD;
    ASCII punctuation may sit inside words (3.14, e-mail) and is left to the model."""
    return bool(text) and all(not c.isascii() and unicodedata.category(c).startswith("P") for c in text)


def unit_segments(doc: Doc) -> List[List[int]]:
    """Runs of tokens that may merge: consecutive non-space tokens with no
    whitespace between them; standalone punctuation is a run of its own."""
    segments, current = [], []
    # (the texts and spaces read once: a Token attribute is a lookup each time)
    for i, (text, space) in enumerate(zip([t.text for t in doc], doc.to_array(SPACY).tolist())):
        is_space = text.isspace()
        if is_space or is_standalone_punct(text):
            if current:
                segments.append(current)
            current = [] if is_space else [i]
            if current:
                segments.append(current)
                current = []
            continue
        current.append(i)
        if space:
            segments.append(current)
            current = []
    if current:
        segments.append(current)
    return segments


def token_groups(doc: Doc, word_starts: set) -> List[Tuple[int, int]]:
    """Token ranges [start, end) of the words that begin at ``word_starts``;
    every whitespace token is a range of its own."""
    groups, start = [], None
    for token in doc:
        if token.is_space or token.i in word_starts:
            if start is not None:
                groups.append((start, token.i))
            start = token.i
            if token.is_space:
                groups.append((token.i, token.i + 1))
                start = None
    if start is not None:
        groups.append((start, len(doc)))
    return groups


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
    """B/M/E/S segmentation; ``dict_force`` words are always words (longest match
    wins over the model), ``dict_combine`` entries merge adjacent predicted words."""

    def __init__(self, vocab, model: Model, name: str = "tok", *, scorer: Optional[Callable] = None):
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict = {"labels": list(TAGS), "dict_force": [], "dict_combine": []}
        self._dictionaries: Dict[str, Dictionary] = {}

    @property
    def labels(self):
        return tuple(TAGS)

    def _dictionary(self, key: str) -> Dictionary:
        entries = self.cfg.get(key) or []
        cached = self._dictionaries.get(key)
        if cached is None or len(cached) != len(entries) or set(cached.entries) != set(entries):
            cached = self._dictionaries[key] = Dictionary(entries)
        return cached

    @property
    def dict_force(self) -> List[str]:
        return list(self.cfg.get("dict_force") or [])

    @dict_force.setter
    def dict_force(self, words: Iterable[str]) -> None:
        self.cfg["dict_force"] = sorted(set(words))

    @property
    def dict_combine(self) -> List[str]:
        return list(self.cfg.get("dict_combine") or [])

    @dict_combine.setter
    def dict_combine(self, words: Iterable[str]) -> None:
        self.cfg["dict_combine"] = sorted(set(words))

    def predict(self, docs: Iterable[Doc]):
        docs = list(docs)
        if not any(len(d) for d in docs):
            return [numpy.zeros((0, 4), dtype="f") for _ in docs]
        return self.model.predict(docs)

    def __call__(self, doc: Doc) -> Doc:
        return self._segment(doc, self._word_groups([doc], self.predict([doc]))[0])

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Like ``set_annotations`` but builds each segmented Doc in one pass
        instead of retokenizing in place (which is quadratic in merges)."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size):
            try:
                groups = self._word_groups(docs, self.predict(docs))
                yield from (self._segment(doc, doc_groups) for doc, doc_groups in zip(docs, groups))
            except Exception as err:
                error_handler(self.name, self, docs, err)

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        """Merge the tokens of every doc in place (spaCy's in-place contract)."""
        docs = list(docs)
        for doc, groups in zip(docs, self._word_groups(docs, scores)):
            merges = [(a, b) for a, b in groups if b - a > 1]
            if merges:
                merge_tokens(doc, merges)

    @staticmethod
    def _segment(doc: Doc, groups: List[Tuple[int, int]]) -> Doc:
        if len(groups) == len(doc):
            return doc
        return rebuild_doc(doc, groups)

    def _word_groups(self, docs: List[Doc], scores) -> List[List[Tuple[int, int]]]:
        """Per doc, the token ranges [start, end) that form one word each
        (whitespace tokens alone). All runs of all docs are decoded together."""
        runs, tags = [], []  # (doc index, segment, its first unit, last unit per token), its BMES scores
        for d, (doc, doc_scores) in enumerate(zip(docs, scores)):
            log_probs = self._force_words(doc, numpy.log(numpy.asarray(doc_scores) + 1e-9))
            n_units = numpy.asarray([len(s) for s in token_unit_sizes(doc)], dtype="int64")
            last_unit = (numpy.cumsum(n_units) - 1).tolist()
            for segment in unit_segments(doc):
                first = last_unit[segment[0]] - int(n_units[segment[0]]) + 1
                runs.append((d, segment, first, last_unit))
                tags.append(log_probs[first : last_unit[segment[-1]] + 1])
        word_starts: List[set] = [set() for _ in docs]
        for (d, segment, first, last_unit), run_tags in zip(runs, bmes_viterbi_many(tags)):
            word_starts[d].add(segment[0])
            for prev, cur in zip(segment, segment[1:]):
                if run_tags[last_unit[prev] - first] in (E, S):
                    word_starts[d].add(cur)
        return [self._combine_words(doc, token_groups(doc, starts)) for doc, starts in zip(docs, word_starts)]

    def _force_words(self, doc: Doc, log_probs: numpy.ndarray) -> numpy.ndarray:
        """Clamp the tags of units inside forced dictionary words (unit-aligned matches only)."""
        force = self._dictionary("dict_force")
        if not len(force) or not len(log_probs):
            return log_probs
        units = doc_units(doc)
        unit_at_start = {s: i for i, (s, _) in enumerate(units)}
        unit_at_end = {e: i for i, (_, e) in enumerate(units)}
        log_probs = log_probs.copy()
        for start, end, _ in force.longest_matches(doc.text, set(unit_at_start), set(unit_at_end)):
            word = doc.text[start:end]
            if len(word) > 1 and any(c.isspace() or is_standalone_punct(c) for c in word):
                continue  # words never cross whitespace or standalone punctuation
            first, last = unit_at_start[start], unit_at_end[end]
            tags = [S] if first == last else [B] + [M] * (last - first - 1) + [E]
            for unit, tag in zip(range(first, last + 1), tags):
                log_probs[unit] = -1e9
                log_probs[unit, tag] = 0.0
        return log_probs

    def _combine_words(self, doc: Doc, groups: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
        """Merge runs of predicted words that spell a ``dict_combine`` entry."""
        combine = self._dictionary("dict_combine")
        if not len(combine) or len(groups) < 2:
            return groups
        word_start = {doc[a].idx: w for w, (a, _) in enumerate(groups)}
        word_end = {doc[b - 1].idx + len(doc[b - 1].text): w for w, (_, b) in enumerate(groups)}
        merged, w = [], 0
        spans = {word_start[s]: word_end[e] for s, e, _ in combine.longest_matches(doc.text, set(word_start), set(word_end))}
        while w < len(groups):
            last = spans.get(w, w)
            if last > w and not any(doc[a].is_space for a, _ in groups[w : last + 1]):
                merged.append((groups[w][0], groups[last][1]))
                w = last + 1
            else:
                merged.append(groups[w])
                w += 1
        return merged

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


def grouped_align(trf: TransformerData, groups: List[Tuple[int, int]]) -> Ragged:
    """The alignment of merged tokens: each word gets its tokens' pieces, in order."""
    data = numpy.asarray(trf.align.dataXd)
    lengths = numpy.asarray(trf.align.lengths)
    word_of_token = numpy.zeros(len(lengths), dtype="int64")
    for w, (a, b) in enumerate(groups):
        word_of_token[a:b] = w
    word_of_entry = numpy.repeat(word_of_token, lengths)
    order = numpy.lexsort((data, word_of_entry))
    new_lengths = numpy.bincount(word_of_entry, minlength=len(groups)) if len(data) else numpy.zeros(len(groups), "int64")
    return Ragged(data[order].astype("i"), new_lengths.astype("i"))


def _trf_data(doc: Doc):
    """The doc's transformer output if it is aligned to the doc's tokens."""
    trf = transformer_output(doc)
    return trf if trf is not None and len(trf.align.lengths) == len(doc) else None


def rebuild_doc(doc: Doc, groups: List[Tuple[int, int]]) -> Doc:
    """A new Doc whose tokens are the given token groups, with the same text,
    user data and sentence starts, and the transformer output re-aligned."""
    text, tokens = doc.text, list(doc)  # (slices of the text: a Span per word was most of the time)
    words = [text[tokens[a].idx : tokens[b - 1].idx + len(tokens[b - 1])] for a, b in groups]
    spaces = [bool(tokens[b - 1].whitespace_) for a, b in groups]
    sent_starts = [tokens[a].is_sent_start for a, _ in groups] if doc.has_annotation("SENT_START") else None
    new = Doc(doc.vocab, words=words, spaces=spaces, sent_starts=sent_starts)
    new.user_data.update(doc.user_data)
    trf = _trf_data(doc)
    if trf is not None:
        new._.trf_data = TransformerData(wordpieces=trf.wordpieces, model_output=trf.model_output, align=grouped_align(trf, groups))
    return new


def merge_tokens(doc: Doc, spans: List[Tuple[int, int]]) -> None:
    """Merge token ranges [start, end) in place and keep ``doc._.trf_data`` aligned."""
    trf = _trf_data(doc)
    if trf is not None:
        covered = {i for a, b in spans for i in range(a, b)}
        groups = sorted(list(spans) + [(i, i + 1) for i in range(len(doc)) if i not in covered])
        new_align = grouped_align(trf, groups)
    with doc.retokenize() as retok:
        for start, end in spans:
            retok.merge(doc[start:end])
    if trf is not None:
        doc._.trf_data = TransformerData(wordpieces=trf.wordpieces, model_output=trf.model_output, align=new_align)
