"""Pieces shared by several heads: CRF tag sets and resizable biaffine scorers."""
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.pipeline import TrainablePipe
from spacy.training import Example
from thinc.api import Config

from ..algorithms.crf import bioes_constraints
from ..ml.models.biaffine import CellLabels, Parse, sentence_chunks

FORBIDDEN = -1e4  # forbidden CRF moves: finite, so marginals stay well defined

MEAN_POOLED_LISTENER = """
[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""


def sigmoid(x: numpy.ndarray) -> numpy.ndarray:
    return 1.0 / (1.0 + numpy.exp(-numpy.clip(x, -30, 30)))


def log_softmax(x: numpy.ndarray, axis: int) -> numpy.ndarray:
    x = x - x.max(axis=axis, keepdims=True)
    return x - numpy.log(numpy.exp(x).sum(axis=axis, keepdims=True))


def masked_sigmoid_loss(scores: numpy.ndarray, target: numpy.ndarray, mask: numpy.ndarray) -> Tuple[float, numpy.ndarray]:
    """Binary cross-entropy of independent cells (arcs, spans) where ``mask`` is 1, and its gradient."""
    p = sigmoid(scores)
    d_scores = ((p - target) * mask).astype(scores.dtype)
    loss = -float((mask * (target * numpy.log(p + 1e-9) + (1 - target) * numpy.log(1 - p + 1e-9))).sum())
    return loss, d_scores


def zeros_like(scores):
    """Zeros shaped like a head's scores: an array, or the label scores of some cells (``CellLabels``)."""
    return scores.zeros_like() if isinstance(scores, CellLabels) else numpy.zeros_like(scores)


def cell_label_loss(labels, gold: Dict[Tuple[int, int], str], index: Dict[str, int], d_labels) -> float:
    """Cross-entropy of the gold label at each gold cell (i, j) of ``labels``
    ([n, n, L], or ``CellLabels`` holding those cells); the gradient goes into
    ``d_labels``. Labels the head does not know are skipped."""
    loss = 0.0
    for (i, j), label in gold.items():
        if label in index:
            p = numpy.exp(log_softmax(labels[i, j], axis=-1))
            loss -= float(numpy.log(p[index[label]] + 1e-9))
            p[index[label]] -= 1.0
            d_labels[i, j] = p
    return loss


def default_model(head_config: str) -> Dict:
    """A factory's default ``[model]``: the head's own block plus a word-level
    (mean-pooled) listener to the pipeline's transformer."""
    return Config().from_str(head_config + MEAN_POOLED_LISTENER)["model"]


@lru_cache(maxsize=64)
def _bioes_masks(tags: Tuple[str, ...]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """bioes_constraints, built once per tag set (it was a few ms per batch per
    CRF head); the masks are shared, so read-only."""
    masks = bioes_constraints(tags)
    for mask in masks:
        mask.flags.writeable = False
    return masks


class CRFTagsMixin:
    """BIOES tags over ``self.labels`` and CRF potentials (model params
    ``transitions``, ``start``, ``end``) with the forbidden moves masked."""

    @property
    def tags(self) -> List[str]:
        return ["O"] + [f"{p}-{label}" for label in self.labels for p in "BIES"]

    def crf_potentials(self) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        allowed_start, allowed_trans, allowed_end = _bioes_masks(tuple(self.tags))
        get = lambda n: numpy.asarray(self.model.get_param(n), dtype="float64")  # noqa: E731
        return (numpy.where(allowed_trans, get("transitions"), FORBIDDEN),
                numpy.where(allowed_start, get("start"), FORBIDDEN),
                numpy.where(allowed_end, get("end"), FORBIDDEN))

    def add_crf_gradients(self, d_trans, d_start, d_end) -> None:
        for name, grad in (("transitions", d_trans), ("start", d_start), ("end", d_end)):
            self.model.inc_grad(name, numpy.asarray(grad, dtype="f"))


class LabelsMixin:
    """Labels kept in ``cfg["labels"]`` (so they are saved with the component)."""

    cfg: Dict

    @property
    def labels(self):
        return tuple(self.cfg["labels"])

    def add_label(self, label: str) -> int:
        if label in self.cfg["labels"]:
            return 0
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        return 1


class BiaffinePipe(LabelsMixin, TrainablePipe):
    """A head on ``spacy_mtl.BiaffineParser.v1`` whose torch scorer is sized by its labels.

    The scorer is built once the labels (and the encoder width) are known; when
    loading, it is rebuilt from the saved cfg before the weights are read."""

    def label_gold(self, example: Example, start: int, end: int) -> Optional[Dict[Tuple[int, int], str]]:
        """{(i, j): label} of the chunk doc[start:end] of ``example``, in the
        positions of its label scores, or None without gold; what get_loss
        passes to cell_label_loss."""
        raise NotImplementedError

    def update(self, examples: Iterable[Example], *, drop: float = 0.0, sgd=None, losses=None):
        """TrainablePipe.update, with the scorer told each chunk's gold label
        cells first, so that it scores labels there only: L label scores per gold
        arc instead of per word pair, which were most of a training step."""
        examples = list(examples)
        chunks = sentence_chunks([eg.predicted for eg in examples], self.model.attrs["max_words"])
        self.model.attrs["label_cells"] = [sorted(self.label_gold(examples[d], s, e) or {}) for d, s, e in chunks]
        try:
            return super().update(examples, drop=drop, sgd=sgd, losses=losses)
        finally:
            self.model.attrs["label_cells"] = None

    def decode(self, arcs: numpy.ndarray, nodes: Optional[numpy.ndarray]) -> Tuple[Any, List[Tuple[int, int]]]:
        """One chunk's structure from its arc scores [n+1, n+1] (and, for AMR, node
        scores [n+1, C]), and the cells (i, j) whose labels it needs; the scorer
        labels only those. set_annotations gets both back in a ``Parse``."""
        raise NotImplementedError

    def decode_many(self, arcs: List[numpy.ndarray], nodes: List[Optional[numpy.ndarray]]) -> List[Tuple[Any, List[Tuple[int, int]]]]:
        """``decode`` of several chunks; a head whose decoder can step chunks
        together overrides this."""
        return [self.decode(a, n) for a, n in zip(arcs, nodes)]

    def predict(self, docs) -> Tuple[List[Tuple[int, int, int]], List[Parse]]:
        """Chunks (doc, start, end) and a ``Parse`` of each."""
        docs = list(docs)
        if not any(len(d) for d in docs):
            return [], []
        return self.model.predict((docs, self.decode_many))

    def _initialize_model(self, docs) -> None:
        self.model.attrs["n_labels"] = len(self.labels)
        self.model.initialize(X=docs)
        self.cfg["width"] = self.model.attrs["scorer_cfg"]["width"]

    def _resize_for_cfg(self) -> None:
        if self.cfg.get("width"):
            self.model.attrs["scorer_cfg"]["width"] = self.cfg["width"]
        if self.model.attrs["n_labels"] != len(self.labels) or len(self.model.layers) < 2:
            self.model.attrs["resize"](self.model, len(self.labels))

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        msg = srsly.msgpack_loads(bytes_data)
        if "cfg" in msg:
            self.cfg.update(srsly.json_loads(msg["cfg"]))
        self._resize_for_cfg()
        return super().from_bytes(bytes_data, exclude=exclude)

    def from_disk(self, path, *, exclude=tuple()):
        cfg_path = util.ensure_path(path) / "cfg"
        if cfg_path.exists():
            self.cfg.update(srsly.read_json(cfg_path))
        self._resize_for_cfg()
        return super().from_disk(path, exclude=exclude)
