"""Character-unit scorer for word segmentation, reading the shared transformer output.

A unit is a grapheme of a non-whitespace token. Its vector is the mean of its
characters' piece vectors in every window that saw it.
"""
from functools import lru_cache
from typing import List, Optional, Tuple

import numpy
import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Model, Softmax_v2, chain, Maxout, with_array
from transformers.file_utils import ModelOutput

from ...tokenizer import graphemes


def doc_units(doc: Doc, sizes: Optional[List[Tuple[int, ...]]] = None) -> List[Tuple[int, int]]:
    """(start_char, end_char) of every unit, in order; whitespace tokens have none.
    sizes: ``token_unit_sizes(doc)``, where the caller has it already."""
    units = []
    for token, token_sizes in zip(doc, token_unit_sizes(doc) if sizes is None else sizes):
        start = token.idx
        for size in token_sizes:
            units.append((start, start + size))
            start += size
    return units


def token_unit_sizes(doc: Doc) -> List[Tuple[int, ...]]:
    """Character length of every unit of every token (empty for whitespace tokens)."""
    return [unit_sizes(t.text) for t in doc]


@lru_cache(maxsize=65536)
def unit_sizes(text: str) -> Tuple[int, ...]:
    """Character length of every unit (grapheme) of one token's text; () for
    whitespace. Cached: the tokens are mostly single characters, met again and
    again, and this ran for every token of every doc, twice per batch."""
    if text.isspace():
        return ()
    if len(text) == 1 or text.isascii() and text.isalnum():
        return (1,) * len(text)
    return tuple(len(g) for g in graphemes(text))


def piece_units(doc: Doc, trf: TransformerData, sizes: Optional[List[List[int]]] = None) -> numpy.ndarray:
    """For every entry of ``trf.align.data``, the unit it belongs to (-1: none).

    The entries of a token are its character pieces, window after window, in
    order; the k-th piece of a token within one window is its k-th character.
    sizes: ``token_unit_sizes(doc)``, where the caller has it already.
    """
    data = numpy.asarray(trf.align.dataXd, dtype="int64")
    lengths = numpy.asarray(trf.align.lengths, dtype="int64")
    if not len(data):
        return numpy.full(0, -1, dtype="i")
    width = trf.wordpieces.input_ids.shape[1] if trf.wordpieces.input_ids.size else 1
    sizes = token_unit_sizes(doc) if sizes is None else sizes
    n_chars = numpy.asarray([len(t.text) for t in doc], dtype="int64")
    # unit of every character of every token, flattened; whitespace characters -> -1
    # (a token's units cover all its characters, so the non-whitespace characters
    # in order are the units repeated by their sizes)
    char_unit = numpy.full(int(n_chars.sum()), -1, dtype="int64")
    char_start = numpy.r_[0, numpy.cumsum(n_chars)[:-1]]
    flat_sizes = numpy.fromiter((size for unit_sizes in sizes for size in unit_sizes), dtype="int64")
    in_units = numpy.repeat(numpy.asarray([bool(unit_sizes) for unit_sizes in sizes], dtype=bool), n_chars)
    char_unit[in_units] = numpy.repeat(numpy.arange(len(flat_sizes)), flat_sizes)
    token_of = numpy.repeat(numpy.arange(len(lengths)), lengths)
    row = data // width
    new_group = numpy.r_[True, (token_of[1:] != token_of[:-1]) | (row[1:] != row[:-1])]
    group_start = numpy.maximum.accumulate(numpy.where(new_group, numpy.arange(len(data)), 0))
    offset = numpy.minimum(numpy.arange(len(data)) - group_start, numpy.maximum(n_chars[token_of] - 1, 0))
    has_chars = n_chars[token_of] > 0
    out = numpy.full(len(data), -1, dtype="int64")
    out[has_chars] = char_unit[(char_start[token_of] + offset)[has_chars]]
    return out.astype("i")


def sum_rows_by_group(rows: numpy.ndarray, groups: numpy.ndarray, n_groups: int) -> numpy.ndarray:
    """rows [K, d] and groups [K] (ints < n_groups) -> [n_groups, d], the sum
    of each group's rows (zeros for an empty group).

    ``numpy.add.at`` gives the same numbers (both add the rows in order), but
    it was a fifth of the segmenter's prediction time; torch's ``index_add_``
    is several times faster."""
    sums = torch.zeros((n_groups, rows.shape[1]), dtype=torch.from_numpy(rows[:0]).dtype)
    if len(groups):
        sums.index_add_(0, torch.from_numpy(numpy.asarray(groups, dtype="int64")), torch.from_numpy(rows))
    return sums.numpy()

def unit_vectors_forward(model: Model, docs: List[Doc], is_train: bool):
    listener = model.layers[0]
    trf_datas, bp_listener = listener(docs, is_train)
    outputs, caches = [], []
    for doc, trf in zip(docs, trf_datas):
        sizes = token_unit_sizes(doc)
        n_units = sum(len(unit_sizes) for unit_sizes in sizes)
        if "last_hidden_state" not in trf.model_output or n_units == 0:
            outputs.append(numpy.zeros((n_units, model.get_dim("nO")), dtype="f"))
            caches.append(None)
            continue
        hidden = trf.model_output.last_hidden_state
        flat = hidden.reshape(-1, hidden.shape[-1])
        units = piece_units(doc, trf, sizes)
        keep = units >= 0
        rows = numpy.asarray(trf.align.dataXd)[keep]
        units = units[keep]
        counts = numpy.bincount(units, minlength=n_units).astype("f")
        counts[counts == 0] = 1
        outputs.append(sum_rows_by_group(flat[rows], units, n_units) / counts[:, None])
        caches.append((hidden.shape, rows, units, counts))

    def backprop(d_outputs):
        d_trfs = []
        for trf, d_out, cache in zip(trf_datas, d_outputs, caches):
            if cache is None:
                d_trfs.append(trf if "last_hidden_state" not in trf.model_output else
                              TransformerData(wordpieces=trf.wordpieces, align=trf.align,
                                              model_output=ModelOutput(last_hidden_state=numpy.zeros_like(trf.model_output.last_hidden_state))))
                continue
            shape, rows, units, counts = cache
            d_flat = numpy.zeros((shape[0] * shape[1], shape[2]), dtype="f")
            numpy.add.at(d_flat, rows, d_out[units] / counts[units][:, None])
            d_trfs.append(TransformerData(wordpieces=trf.wordpieces, align=trf.align,
                                          model_output=ModelOutput(last_hidden_state=d_flat.reshape(shape))))
        return bp_listener(d_trfs)

    return outputs, backprop


def unit_vectors_init(model: Model, X=None, Y=None) -> None:
    listener = model.layers[0]
    if not model.has_dim("nO") and listener.has_dim("nO"):
        model.set_dim("nO", listener.get_dim("nO"))


def unit_vectors(upstream: str, width: Optional[int]) -> Model[List[Doc], List]:
    return unit_vectors_of(TransformerListener(upstream_name=upstream), width)


def unit_vectors_of(listener: Model, width: Optional[int]) -> Model[List[Doc], List]:
    """Unit vectors [n_units, width] per doc read through ``listener``, which
    is shared, not copied: a head whose model listens for words (an NER head
    trained on one-character tokens) can read characters through it too."""
    return Model("unit_vectors", unit_vectors_forward, init=unit_vectors_init, layers=[listener], dims={"nO": width})


@registry.architectures("spacy_mtl.SegmenterModel.v1")
def build_segmenter_model(width: Optional[int] = None, hidden_width: int = 0, upstream: str = "*", dropout: float = 0.1) -> Model:
    """BMES probabilities [n_units, 4] per doc.

    width: the encoder's hidden size (None: taken from the encoder at initialization).
    """
    output = Softmax_v2(nO=4)
    if hidden_width:
        output = chain(Maxout(nO=hidden_width, dropout=dropout, normalize=True), output)
    return chain(unit_vectors(upstream, width), with_array(output))
