"""Biaffine arc and label scorers (Dozat & Manning 2017) over pooled word vectors."""
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy
import torch
from spacy.attrs import SENT_START
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch

from ..inference import TORCH_PREDICT_LOCK, predict_word_vectors


class Biaffine(torch.nn.Module):
    """x W y^T (+ bias columns), for n_out channels.

    x: [batch, n, d_x]; y: [batch, m, d_y] -> [batch, n, m, n_out] (n_out > 1) or [batch, n, m].
    """

    def __init__(self, d_x: int, d_y: int, n_out: int = 1, bias_x: bool = True, bias_y: bool = True):
        super().__init__()
        self.n_out, self.bias_x, self.bias_y = n_out, bias_x, bias_y
        self.weight = torch.nn.Parameter(torch.zeros(n_out, d_x + bias_x, d_y + bias_y))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.bias_x:
            x = torch.cat([x, torch.ones_like(x[..., :1])], -1)
        if self.bias_y:
            y = torch.cat([y, torch.ones_like(y[..., :1])], -1)
        if self.n_out == 1:
            return torch.einsum("bxi,ij,byj->bxy", x, self.weight[0], y)
        # y W first, as one [batch·m, d_y] × [d_y, n_out·d_x] product: about 1.5× faster
        # on a CPU than one three-way einsum, and the same numbers
        n_out, d_x, d_y = self.weight.shape
        wy = torch.matmul(y, self.weight.permute(2, 0, 1).reshape(d_y, n_out * d_x))
        return torch.einsum("bxi,byoi->bxyo", x, wy.view(*y.shape[:2], n_out, d_x))

    def cells(self, x: torch.Tensor, y: torch.Tensor, batch: torch.Tensor, rows: torch.Tensor,
              cols: torch.Tensor) -> torch.Tensor:
        """The scores of K cells only: x [batch, n, d_x], y [batch, m, d_y] and
        three [K] index tensors -> [K, n_out], cell k being (batch[k], rows[k], cols[k])
        of ``forward``'s output.

        A cell costs one d × n_out·d product of its column with W (or of its row),
        most of the work; it is done once per distinct column, or per distinct
        row where those are fewer, so the dependents of one head share it."""
        if self.bias_x:
            x = torch.cat([x, torch.ones_like(x[..., :1])], -1)
        if self.bias_y:
            y = torch.cat([y, torch.ones_like(y[..., :1])], -1)
        n_out, d_x, d_y = self.weight.shape
        row_keys, col_keys = batch * x.shape[1] + rows, batch * y.shape[1] + cols  # into the flattened batch
        x, y = x.reshape(-1, d_x), y.reshape(-1, d_y)
        distinct_rows, row_of = torch.unique(row_keys, return_inverse=True)
        distinct_cols, col_of = torch.unique(col_keys, return_inverse=True)
        if len(distinct_cols) <= len(distinct_rows):
            wy = torch.matmul(y.index_select(0, distinct_cols), self.weight.permute(2, 0, 1).reshape(d_y, n_out * d_x))
            return grouped_products(x.index_select(0, row_keys), col_of, wy.view(-1, n_out, d_x))
        xw = torch.matmul(x.index_select(0, distinct_rows), self.weight.permute(1, 0, 2).reshape(d_x, n_out * d_y))
        return grouped_products(y.index_select(0, col_keys), row_of, xw.view(-1, n_out, d_y))


MAX_PADDING = 4  # grouped_products pads at most this many rows per real one


def grouped_products(vectors: torch.Tensor, groups: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """vectors [K, d], groups [K] (indices into matrices) and matrices [G, L, d]
    -> [K, L], row k being matrices[groups[k]] @ vectors[k].

    The vectors are laid out per group, [G, R, d] with R the largest group, for
    one batched product that reads each [L, d] matrix once; gathering a matrix
    per row instead copies K·L·d numbers, most of a head's labelling time. Very
    uneven groups (the padding would outgrow the rows) take the gather.
    """
    counts = torch.bincount(groups, minlength=len(matrices))
    largest = int(counts.max()) if len(groups) else 0
    if len(matrices) * largest > MAX_PADDING * len(groups):
        # index_select, not matrices[groups]: the indexing's backward adds the
        # repeated groups' gradients in an order that varied between runs on a
        # busy machine (two same-seed trainings ended apart); index_select's does not
        return torch.einsum("kd,kld->kl", vectors, matrices.index_select(0, groups))
    order = torch.argsort(groups, stable=True)
    slot = torch.empty_like(groups)
    slot[order] = torch.arange(len(groups), device=groups.device) - (torch.cumsum(counts, 0) - counts)[groups[order]]
    padded = vectors.new_zeros(len(matrices), largest, vectors.shape[1]).index_put((groups, slot), vectors)
    return torch.bmm(padded, matrices.transpose(1, 2))[groups, slot]


def mlp(d_in: int, d_out: int, dropout: float) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(d_in, d_out), torch.nn.LeakyReLU(0.1), torch.nn.Dropout(dropout))


class BiaffineScorer(torch.nn.Module):
    """Word vectors [batch, n, d] -> arc scores [batch, n+1, n+1] (dep, head) and
    label scores [batch, n+1, n+1, n_labels]; position 0 is a learned root.

    Given ``cells`` (three [K] index tensors: batch, dep, head), the label scores
    are those cells' only, [K, n_labels]: training needs them only where a gold
    label is, prediction only where the decoder put an arc, and the full tensor
    costs n_labels × label_width per word pair."""

    def __init__(self, d_in: int, arc_width: int, label_width: int, n_labels: int, dropout: float):
        super().__init__()
        self.root = torch.nn.Parameter(torch.zeros(1, 1, d_in))
        self.arc_dep, self.arc_head = mlp(d_in, arc_width, dropout), mlp(d_in, arc_width, dropout)
        self.rel_dep, self.rel_head = mlp(d_in, label_width, dropout), mlp(d_in, label_width, dropout)
        self.arc = Biaffine(arc_width, arc_width, 1, bias_x=True, bias_y=False)
        self.rel = Biaffine(label_width, label_width, max(n_labels, 1), bias_x=True, bias_y=True)

    def positions(self, words: torch.Tensor) -> torch.Tensor:
        """[batch, n, d] -> [batch, n+1, d]: the root, then the words."""
        return torch.cat([self.root.expand(words.shape[0], 1, -1), words], 1)

    def arc_scores(self, x: torch.Tensor) -> torch.Tensor:
        return self.arc(self.arc_dep(x), self.arc_head(x))

    def label_scores(self, x: torch.Tensor, cells: Optional[Tuple[torch.Tensor, ...]] = None) -> torch.Tensor:
        if cells is not None:
            return self.rel.cells(self.rel_dep(x), self.rel_head(x), *cells)
        rels = self.rel(self.rel_dep(x), self.rel_head(x))
        return rels.unsqueeze(-1) if rels.dim() == 3 else rels

    def forward(self, words: torch.Tensor, cells: Optional[Tuple[torch.Tensor, ...]] = None) -> Tuple[torch.Tensor, ...]:
        x = self.positions(words)
        return self.arc_scores(x), self.label_scores(x, cells)


class NodeBiaffineScorer(BiaffineScorer):
    """A BiaffineScorer that also labels every position: [batch, n+1, n_node_labels]
    (AMR concepts per word; position 0 is the root)."""

    def __init__(self, d_in: int, arc_width: int, label_width: int, n_labels: int, dropout: float, n_node_labels: int):
        super().__init__(d_in, arc_width, label_width, n_labels, dropout)
        self.node = torch.nn.Sequential(mlp(d_in, label_width, dropout), torch.nn.Linear(label_width, max(n_node_labels, 1)))

    def node_scores(self, x: torch.Tensor) -> torch.Tensor:
        return self.node(x)

    def forward(self, words: torch.Tensor, cells: Optional[Tuple[torch.Tensor, ...]] = None) -> Tuple[torch.Tensor, ...]:
        x = self.positions(words)
        return self.arc_scores(x), self.label_scores(x, cells), self.node_scores(x)


class Parse(NamedTuple):
    """One chunk's prediction: what the head's decoder made of the arc (and
    node) scores, the cells (i, j) it asked labels for, and their best label ids [K]."""

    structure: Any
    cells: List[Tuple[int, int]]
    label_ids: numpy.ndarray


class CellLabels:
    """Label scores [K, L] of some cells (i, j) of one chunk, read and written
    like the dense [n+1, n+1, L] array: ``labels[i, j]`` is cell (i, j)'s L scores."""

    def __init__(self, scores: numpy.ndarray, rows: Dict[Tuple[int, int], int]):
        self.scores, self.rows = scores, rows

    def __getitem__(self, cell: Tuple[int, int]) -> numpy.ndarray:
        return self.scores[self.rows[cell]]

    def __setitem__(self, cell: Tuple[int, int], value) -> None:
        self.scores[self.rows[cell]] = value

    def zeros_like(self) -> "CellLabels":
        return CellLabels(numpy.zeros_like(self.scores), self.rows)


def _padded(inputs: List[numpy.ndarray]) -> numpy.ndarray:
    padded = numpy.zeros((len(inputs), max(len(x) for x in inputs), inputs[0].shape[1]), dtype="f")
    for i, x in enumerate(inputs):
        padded[i, : len(x)] = x
    return padded


def cell_indices(cells: List[List[Tuple[int, int]]]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """The cells (i, j) of each chunk as three [K] int64 arrays: chunk, i, j."""
    flat = numpy.asarray([(b, i, j) for b, chunk in enumerate(cells) for i, j in chunk], dtype="int64").reshape(-1, 3)
    return tuple(numpy.ascontiguousarray(flat[:, k]) for k in range(3))  # type: ignore[return-value]


def _pad_inputs(model, X: Tuple[List[numpy.ndarray], Optional[List[List[Tuple[int, int]]]]], is_train: bool):
    """X: word vectors per chunk, and optionally the label cells (i, j) of each chunk."""
    Xs, cells = X
    lengths = [len(x) for x in Xs]
    padded = _padded(Xs)
    kwargs = {}
    if cells is not None:
        kwargs["cells"] = tuple(xp2torch(index) for index in cell_indices(cells))  # on the words' device

    def backprop(d_inputs: ArgsKwargs) -> List[numpy.ndarray]:
        d = torch2xp(d_inputs.args[0])
        return [d[i, :n] for i, n in enumerate(lengths)]

    return ArgsKwargs(args=(xp2torch(padded, requires_grad=is_train),), kwargs=kwargs), backprop


def _unpad_outputs(model, inputs_outputs, is_train):
    _, outputs = inputs_outputs

    def backprop(d_outputs) -> ArgsKwargs:
        return ArgsKwargs(args=(outputs,), kwargs={"grad_tensors": tuple(xp2torch(d) for d in d_outputs)})

    return tuple(torch2xp(o) for o in outputs), backprop


def sentence_bounds(doc: Doc) -> List[Tuple[int, int]]:
    """(start, end) of every sentence, as ``doc.sents`` has them; the whole doc
    when sentences are not set.

    Read from the sentence-start array: ``doc.sents`` makes a Span and Tokens
    per sentence, and every head asks for the bounds of every doc."""
    if not (doc.has_annotation("SENT_START") or doc.has_annotation("DEP")):
        return [(0, len(doc))]
    starts = doc.to_array(SENT_START).astype("int64")
    cuts = [0, *(numpy.flatnonzero(starts[1:] == 1) + 1).tolist(), len(doc)]
    return list(zip(cuts[:-1], cuts[1:]))


def sentence_chunks(docs: List[Doc], max_words: int) -> List[Tuple[int, int, int]]:
    """(doc index, start, end) for every sentence, long ones cut every ``max_words``."""
    chunks = []
    for d, doc in enumerate(docs):
        for start, end in sentence_bounds(doc):
            for s in range(start, end, max_words):
                chunks.append((d, s, min(end, s + max_words)))
    return chunks


# arcs [n+1, n+1], labels [n+1, n+1, L] and (AMR) node labels [n+1, C]: the
# first one or two axes are positions, cut back from the batch's padding
def _unpad(padded, lengths: List[int], n_axes=(2, 2, 1)) -> List[List[numpy.ndarray]]:
    n_axes = n_axes[: len(padded)]
    return [[o[(i,) + (slice(0, n + 1),) * a] for i, n in enumerate(lengths)] for o, a in zip(padded, n_axes)]


def _split_cells(scores: numpy.ndarray, cells: List[List[Tuple[int, int]]]) -> List[CellLabels]:
    ends = numpy.cumsum([len(c) for c in cells], dtype=int)
    return [CellLabels(scores[end - len(c):end], {cell: k for k, cell in enumerate(c)}) for c, end in zip(cells, ends)]


def length_groups(lengths: List[int], max_cells: int) -> List[List[int]]:
    """Chunk indices grouped by length, each group at most ``max_cells`` padded
    position pairs: one padded batch of a 5-word and a 100-word sentence would
    waste most of its work and memory on padding."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups, group = [], []
    for i in order:
        if group and (len(group) + 1) * (lengths[i] + 1) ** 2 > max_cells:
            groups.append(group)
            group = []
        group.append(i)
    groups.append(group)
    return groups


# a head's decoder: the arc scores [n+1, n+1] (and node scores [n+1, C] or None)
# of some chunks -> per chunk, its structure and the cells (i, j) it needs labels for
Decoder = Callable[[List[numpy.ndarray], List[Optional[numpy.ndarray]]], List[Tuple[Any, List[Tuple[int, int]]]]]


def predict_parses(module: BiaffineScorer, inputs: List[numpy.ndarray], lengths: List[int], decode: Decoder,
                   max_cells: int = 60_000) -> List[Parse]:
    """A ``Parse`` per chunk: arcs (and node labels) are scored for every
    position, the head's ``decode`` turns each length group's scores into
    structures and the cells they need labels for (one call per group, so a
    decoder may step its chunks together), and labels are scored at those
    cells only (about n of the n² word pairs)."""
    device = next(module.parameters()).device
    parses: List[Parse] = [None] * len(lengths)  # type: ignore[list-item]
    for group in length_groups(lengths, max_cells):
        # like thinc's PyTorchShim.predict: eval mode (no dropout) under the lock
        with TORCH_PREDICT_LOCK, torch.no_grad():
            was_training = module.training
            module.eval()
            try:
                x = module.positions(torch.from_numpy(_padded([inputs[i] for i in group])).to(device))
                arcs = module.arc_scores(x).float().cpu().numpy()
                nodes = module.node_scores(x).float().cpu().numpy() if hasattr(module, "node_scores") else None
                sizes = [lengths[i] + 1 for i in group]
                decoded = decode([arcs[b, :n, :n] for b, n in enumerate(sizes)],
                                 [None if nodes is None else nodes[b, :n] for b, n in enumerate(sizes)])
                indices = cell_indices([cells for _, cells in decoded])
                ids = numpy.zeros(0, dtype="int32")
                if len(indices[0]):
                    cells = tuple(torch.from_numpy(index).to(device) for index in indices)
                    ids = module.label_scores(x, cells).argmax(-1).cpu().numpy().astype("int32")
            finally:
                module.train(was_training)
        ends = numpy.cumsum([len(cells) for _, cells in decoded])
        for i, (structure, cells), end in zip(group, decoded, ends):
            parses[i] = Parse(structure, list(cells), ids[end - len(cells):end])
    return parses


def parser_forward(model: Model, X, is_train: bool):
    """X: docs in training; in prediction (docs, decode), decode being the head's
    ``Decoder`` (passed with the docs, not kept on the model: threads share the model)."""
    docs, decode = (X, None) if is_train else X
    tok2vec, scorer = model.layers
    vectors, bp_vectors = tok2vec(docs, is_train) if is_train else (predict_word_vectors(tok2vec, docs), None)
    chunks = sentence_chunks(docs, model.attrs["max_words"])
    if not chunks:
        if not is_train:
            return (chunks, []), None
        empty = ([] for _ in range(2 + bool(model.attrs["scorer_cfg"].get("n_node_labels"))))
        return (chunks, *empty), lambda d: bp_vectors([v * 0 for v in vectors])
    inputs = [vectors[d][s:e] for d, s, e in chunks]
    lengths = [e - s for _, s, e in chunks]
    if not is_train:
        return (chunks, predict_parses(scorer.shims[0]._model, inputs, lengths, decode)), None
    # the head's update() names each chunk's gold label cells: only those get label scores
    cells = model.attrs.get("label_cells")
    if cells is not None and len(cells) != len(chunks):
        raise ValueError(f"label cells for {len(cells)} chunks, but the docs have {len(chunks)}")
    padded, bp_scores = scorer((inputs, cells), is_train)
    n_axes = (2, 2, 1)[: len(padded)]
    if cells is None:
        outputs = _unpad(padded, lengths)
    else:  # label scores [K, L] of all chunks' cells, one after another
        outputs = [*_unpad(padded[:1], lengths), _split_cells(padded[1], cells), *_unpad(padded[2:], lengths, (1,))]

    def backprop(d_scores):
        d_padded = []
        for k, (o, a, grads) in enumerate(zip(padded, n_axes, d_scores)):
            if k == 1 and cells is not None:
                d_padded.append(numpy.concatenate([g.scores for g in grads]).astype("f"))
                continue
            pad = numpy.zeros(o.shape, dtype="f")
            for i, n in enumerate(lengths):
                pad[(i,) + (slice(0, n + 1),) * a] = grads[i]
            d_padded.append(pad)
        d_chunks = bp_scores(tuple(d_padded))
        d_vectors = [numpy.zeros_like(v) for v in vectors]
        for (d, s, e), dx in zip(chunks, d_chunks):
            d_vectors[d][s:e] += dx
        return bp_vectors(d_vectors)

    return (chunks, *outputs), backprop


def parser_init(model: Model, X=None, Y=None):
    tok2vec = model.layers[0]
    tok2vec.initialize(X=X)
    if not model.attrs["scorer_cfg"]["width"] and X:
        # the encoder's width: run the listener once on the sample
        model.attrs["scorer_cfg"]["width"] = int(tok2vec.predict(X[:1])[0].shape[1])
    model.attrs["resize"](model, model.attrs["n_labels"])


def resize_parser(model: Model, n_labels: int) -> None:
    """(Re)build the torch scorer for ``n_labels`` labels (fresh weights)."""
    cfg = model.attrs["scorer_cfg"]
    if not cfg["width"]:
        return  # built at initialization, once the encoder's width is known
    if cfg.get("n_node_labels"):
        module = NodeBiaffineScorer(cfg["width"], cfg["arc_width"], cfg["label_width"], n_labels, cfg["dropout"],
                                    cfg["n_node_labels"])
    else:
        module = BiaffineScorer(cfg["width"], cfg["arc_width"], cfg["label_width"], n_labels, cfg["dropout"])
    wrapper = PyTorchWrapper_v2(module, convert_inputs=_pad_inputs, convert_outputs=_unpad_outputs)
    if len(model.layers) == 2:
        model.layers[1] = wrapper
    else:
        model.layers.append(wrapper)
    model.attrs["n_labels"] = n_labels


@registry.architectures("spacy_mtl.BiaffineParser.v1")
def build_biaffine_parser_model(
    tok2vec: Model, width: Optional[int] = None, arc_width: int = 256, label_width: int = 128,
    dropout: float = 0.2, max_words: int = 200,
) -> Model:
    """In training: chunks (doc, start, end), and per chunk arc scores [n+1, n+1]
    and label scores [n+1, n+1, L] (or ``CellLabels`` at the cells the head names
    in ``attrs["label_cells"]``). In prediction, called with (docs, decode): chunks
    and a ``Parse`` per chunk, decoded by ``decode`` (see ``predict_parses``).

    width: the encoder's hidden size (None: measured at initialization).
    max_words: longer sentences are parsed in pieces of this many words.
    """
    model = Model(
        "biaffine_parser", parser_forward, init=parser_init, layers=[tok2vec],
        attrs={
            "max_words": max_words, "n_labels": 1, "resize": resize_parser,
            "scorer_cfg": {"width": width, "arc_width": arc_width, "label_width": label_width, "dropout": dropout},
        },
    )
    resize_parser(model, 1)
    return model


@registry.architectures("spacy_mtl.AMRParser.v1")
def build_amr_parser_model(
    tok2vec: Model, width: Optional[int] = None, arc_width: int = 256, label_width: int = 128,
    dropout: float = 0.2, max_words: int = 200,
) -> Model:
    """The biaffine parser plus a concept classifier per word: chunks, arc scores
    [n+1, n+1], relation scores [n+1, n+1, L] and concept scores [n+1, C] per chunk
    (C is set from the component's concept list)."""
    model = build_biaffine_parser_model(tok2vec, width, arc_width, label_width, dropout, max_words)
    model.attrs["scorer_cfg"]["n_node_labels"] = 1
    resize_parser(model, 1)
    return model
