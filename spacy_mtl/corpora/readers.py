"""Training readers that mix corpora carrying different annotation layers."""
import random
from itertools import islice
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional

from spacy.attrs import ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.util import registry

from ..tasks import TASK_FACTORIES


def gold_words_doc(reference: Doc) -> Doc:
    """An unannotated copy of ``reference`` with its words and sentence starts.

    Read through arrays, not Token objects: spaCy's initialize makes one of these
    for every training doc for every component, hundreds of thousands in all."""
    strings = reference.vocab.strings
    orths, spaces = reference.to_array([ORTH, SPACY]).T if len(reference) else ([], [])
    doc = Doc(reference.vocab, words=[strings[o] for o in orths], spaces=[bool(s) for s in spaces])
    if reference.has_annotation("SENT_START"):
        doc.from_array([SENT_START], reference.to_array([SENT_START]))
    return doc


def analyse_gold_words(nlp: Language, references: Iterable[Doc], *, enable: Optional[Iterable[str]] = None,
                       batch_size: int = 32) -> List[Doc]:
    """``references``' own words and sentence starts, analysed by ``nlp`` (only
    its ``enable`` components, if given) without the segmenter: how a head is
    scored "on gold words". ``tok`` would merge given words wherever its model
    joins them (HanLP's ``skip_tasks="tok"`` is the way to keep them)."""
    segmenters = {name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory in TASK_FACTORIES["tok"]}
    names = [name for name in (nlp.pipe_names if enable is None else enable) if name not in segmenters]
    with nlp.select_pipes(enable=names):
        return list(nlp.pipe((gold_words_doc(r) for r in references), batch_size=batch_size))


def sample_sizes(sizes: Dict[str, int], exponent: float, weights: Optional[Dict[str, float]] = None) -> Dict[str, int]:
    """Examples per epoch from each corpus, in proportion to weight * size**exponent
    (a corpus not in ``weights`` has weight 1).

    Scaled so that every corpus gives at least all of its docs: smaller corpora
    are repeated, none is cut, so every epoch (and spaCy's initialize, which
    reads the labels from one) sees every label. So a weight below 1 cannot
    take a corpus under one pass; it gives the others more."""
    check_weights(weights or {}, sizes)
    weights = {name: (weights or {}).get(name, 1.0) * n ** exponent for name, n in sizes.items() if n}
    scale = max(sizes[name] / w for name, w in weights.items())
    return {name: max(sizes[name], round(scale * w)) for name, w in weights.items()}


def check_weights(weights: Dict[str, float], corpora: Iterable[str]) -> None:
    """A clear error for a weight that names no corpus (a typo would otherwise
    be ignored silently) or is not a positive number."""
    corpora = set(corpora)
    for name, weight in weights.items():
        if name not in corpora:
            raise ValueError(f"corpus weight for {name!r}, but the corpora are {sorted(corpora)}")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight > 0:
            raise ValueError(f"corpus weight for {name!r} must be a number > 0, not {weight!r}")


class MTLCorpus:
    def __init__(self, paths: Dict[str, str], gold_words: bool, exponent: float, shuffle: bool, seed: int, limit: int,
                 weights: Optional[Dict[str, float]] = None):
        self.paths = {name: Path(p) for name, p in paths.items() if p}
        self.gold_words, self.exponent, self.shuffle, self.seed, self.limit = gold_words, exponent, shuffle, seed, limit
        self.weights = {name: w for name, w in (weights or {}).items() if name in self.paths}
        check_weights(weights or {}, paths)
        self.epoch = 0
        self._cache: Dict = {}

    def _docs(self, nlp: Language, path: Path) -> List[Doc]:
        """The corpus's docs, read once per vocab: spaCy calls the reader for every
        component's initialize and every epoch, and deserialising user data is slow."""
        key = (id(nlp.vocab), path)
        if key not in self._cache:
            if not path.exists():
                raise FileNotFoundError(f"corpus file not found: {path}")
            docs = DocBin().from_disk(path).get_docs(nlp.vocab)
            self._cache[key] = list(islice(docs, self.limit) if self.limit else docs)
        return self._cache[key]

    def __call__(self, nlp: Language) -> Iterator[Example]:
        corpora = {name: self._docs(nlp, path) for name, path in self.paths.items()}
        rng = random.Random(self.seed + self.epoch)
        self.epoch += 1
        if self.shuffle and len(corpora) > 1:
            quota = sample_sizes({n: len(d) for n, d in corpora.items()}, self.exponent, self.weights)
            chosen = []
            for name, docs in corpora.items():
                pool = list(docs)
                rng.shuffle(pool)
                chosen.extend(pool[i % len(pool)] for i in range(quota[name]))
        else:
            chosen = [d for docs in corpora.values() for d in docs]
        if self.shuffle:
            rng.shuffle(chosen)
        for ref in chosen:
            predicted = gold_words_doc(ref) if self.gold_words else nlp.make_doc(ref.text)
            yield Example(predicted, ref)


@registry.readers("spacy_mtl.MultiCorpus.v1")
def create_mtl_corpus(
    paths: Dict[str, str], gold_words: bool = True, exponent: float = 0.8,
    shuffle: bool = True, seed: int = 0, limit: int = 0, weights: Optional[Dict[str, float]] = None,
) -> Callable[[Language], Iterator[Example]]:
    """Mix .spacy corpora, each epoch taking ~weight * size**exponent from each
    (HanLP's task sampling, with a knob per corpus).

    gold_words: predicted docs get the gold words (training) instead of the
    pipeline's own tokenizer (evaluation on predicted segmentation).
    weights: {corpus name: weight}, default 1 each (see ``sample_sizes``).
    """
    return MTLCorpus(paths, gold_words, exponent, shuffle, seed, limit, weights)
