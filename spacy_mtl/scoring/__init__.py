"""Scores on predicted segmentation, words matched by character span (CoNLL 2018 style).

Only the documents that carry a score's layer (``doc._.mtl_layers``) count for it.

For every attribute, a predicted word is correct when a gold word has exactly
the same character span and the same value; precision divides by the
predicted words, recall by the gold words, and the reported score is their F1
(``*_acc`` keys are that F1, so they equal accuracy when the tokenisation is gold).
For LAS/UAS the predicted head must also match the gold head's span.
"""
from typing import Collection, Dict, Iterable, List, Optional

from spacy.scorer import PRFScore
from spacy.training import Example
from spacy.util import registry

from ..extensions import has_layer

ATTR_GETTERS = {
    "pos": lambda t: t.pos_,
    "tag": lambda t: t.tag_,
    "morph": lambda t: str(t.morph),
    "lemma": lambda t: t.lemma_,
}
# the annotation layer a training/evaluation doc must carry for each score
ATTR_LAYERS = {"pos": "pos", "tag": "tag", "morph": "morph", "lemma": "lemma"}


def _words(doc) -> Dict:
    return {(t.idx, t.idx + len(t.text)): t for t in doc if not t.is_space}


def _head_key(token):
    return None if token.head.i == token.i else (token.head.idx, token.head.idx + len(token.head.text))


def _universal(label: str) -> str:
    return label.split(":")[0].lower()


def score_words(examples: Iterable[Example], attrs: Iterable[str] = (), deps: bool = False) -> Dict[str, Optional[float]]:
    """Word P/R/F, attribute F1 and UAS/LAS for the examples.

    attrs: any of "pos", "tag", "morph", "lemma".
    """
    attrs = list(attrs)
    words = PRFScore()
    scores = {a: PRFScore() for a in attrs}
    uas, las = PRFScore(), PRFScore()
    for eg in examples:
        if not has_layer(eg.reference, "tok"):
            continue
        pred, gold = _words(eg.predicted), _words(eg.reference)
        matched = set(pred) & set(gold)
        words.tp += len(matched)
        words.fp += len(pred) - len(matched)
        words.fn += len(gold) - len(matched)
        for attr in attrs:
            if not has_layer(eg.reference, ATTR_LAYERS[attr]):
                continue
            get = ATTR_GETTERS[attr]
            tp = sum(1 for k in matched if get(pred[k]) == get(gold[k]))
            scores[attr].tp += tp
            scores[attr].fp += len(pred) - tp
            scores[attr].fn += len(gold) - tp
        if deps and has_layer(eg.reference, "dep"):
            u = sum(1 for k in matched if _head_key(pred[k]) == _head_key(gold[k]))
            lab = sum(
                1 for k in matched
                if _head_key(pred[k]) == _head_key(gold[k]) and _universal(pred[k].dep_) == _universal(gold[k].dep_)
            )
            for prf, tp in ((uas, u), (las, lab)):
                prf.tp += tp
                prf.fp += len(pred) - tp
                prf.fn += len(gold) - tp
    empty = not words.tp + words.fp + words.fn
    results: Dict[str, Optional[float]] = {}
    for attr, prf in scores.items():
        results[f"{attr}_acc"] = None if empty else prf.fscore
    if deps:
        results["uas"], results["las"] = (None, None) if empty else (uas.fscore, las.fscore)
    return results


def score_tokenization(examples: Iterable[Example], known_words: Optional[Collection[str]] = None,
                       **kwargs) -> Dict[str, Optional[float]]:
    """Word P/R/F on character spans. Given ``known_words`` (the training
    corpus's word forms), also the recall of gold words seen in training and of
    those unseen (SIGHAN's R_iv and R_oov) and the unseen words' share of the
    gold words: where a segmenter's errors lie, and how many words it never saw."""
    words, seen, unseen = PRFScore(), PRFScore(), PRFScore()
    for eg in examples:
        if not has_layer(eg.reference, "tok"):
            continue
        pred, gold = set(_words(eg.predicted)), _words(eg.reference)
        gold_spans = set(gold)
        words.tp += len(pred & gold_spans)
        words.fp += len(pred - gold_spans)
        words.fn += len(gold_spans - pred)
        if known_words is not None:
            for span, token in gold.items():
                split = seen if token.text in known_words else unseen
                if span in pred:
                    split.tp += 1
                else:
                    split.fn += 1
    if not words.tp + words.fp + words.fn:
        scores = {"token_p": None, "token_r": None, "token_f": None}
    else:
        scores = {"token_p": words.precision, "token_r": words.recall, "token_f": words.fscore}
    if known_words is not None:
        n_seen, n_unseen = seen.tp + seen.fn, unseen.tp + unseen.fn
        scores["token_iv_r"] = seen.recall if n_seen else None
        scores["token_oov_r"] = unseen.recall if n_unseen else None
        scores["token_oov_rate"] = n_unseen / (n_seen + n_unseen) if n_seen + n_unseen else None
    return scores


@registry.scorers("spacy_mtl.tokenization_scorer.v1")
def make_tokenization_scorer():
    return score_tokenization


@registry.scorers("spacy_mtl.attribute_scorer.v1")
def make_attribute_scorer(attrs: List[str]):
    unknown = set(attrs) - set(ATTR_GETTERS)
    if unknown:
        raise ValueError(f"unknown attributes {sorted(unknown)}; choose from {sorted(ATTR_GETTERS)}")

    def scorer(examples, **kwargs):
        return score_words(examples, attrs)

    return scorer


@registry.scorers("spacy_mtl.parser_scorer.v1")
def make_parser_scorer():
    def scorer(examples, **kwargs):
        return score_words(examples, deps=True)

    return scorer
