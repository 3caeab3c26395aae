"""The shared encoder: a Hugging Face model fed one character per piece.

Instead of running the model's own subword tokenizer and guessing the
alignment from offsets, every character of a token becomes one piece (looked up
as the character itself, then as ``▁``+character, else ``<unk>``), and a single
space after a token becomes an unaligned ``▁`` piece. The token→piece alignment
is therefore known by construction, and a word segmenter can score every
character on the same hidden states that later heads pool into words.

Long documents are cut into overlapping windows of at most ``window`` pieces;
a token seen in two windows is aligned to its pieces in both, and the poolers
average them.
"""
import os
from typing import Callable, Dict, List, Tuple

import numpy
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers.transformer_model import TransformerModel
from spacy_transformers.layers.transformer_model import init as trf_init
from thinc.api import Model, Ragged

from ..inference import TORCH_PREDICT_LOCK

META = "\u2581"


def _torch_single_thread_in_child() -> None:
    # A forked child (nlp.pipe(n_process=...)) inherits torch's OpenMP pool in a
    # state it cannot use and hangs on its first parallel op; one thread avoids the pool.
    import torch

    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_torch_single_thread_in_child)


def piece_count(token) -> int:
    return len(token.text) + (1 if token.whitespace_ else 0)


def piece_windows(docs: List[Doc], window: int, overlap: int) -> List[List[Span]]:
    """Cut each doc into token spans of at most ``window`` pieces that overlap by
    at most ``overlap`` pieces. A token longer than the window gets a span alone."""
    out = []
    for doc in docs:
        counts = [piece_count(t) for t in doc]
        spans, start, n = [], 0, len(doc)
        while start < n:
            end, used = start, 0
            while end < n and (end == start or used + counts[end] <= window):
                used += counts[end]
                end += 1
            spans.append(doc[start:end])
            if end >= n:
                break
            new_start, kept = end, 0
            while new_start - 1 > start and kept + counts[new_start - 1] <= overlap:
                new_start -= 1
                kept += counts[new_start]
            start = new_start
        out.append(spans)
    return out


@registry.span_getters("spacy_mtl.piece_windows.v1")
def configure_piece_windows(window: int = 254, overlap: int = 64) -> Callable:
    if not 0 <= overlap < window:
        raise ValueError(f"piece_windows needs 0 <= overlap < window, got {overlap}, {window}")

    def get_spans(docs):
        return piece_windows(docs, window, overlap)

    return get_spans


class PieceVocab:
    """Character → piece id for any HF tokenizer (SentencePiece, WordPiece, BPE)."""

    def __init__(self, tokenizer):
        self.vocab: Dict[str, int] = tokenizer.get_vocab()
        self.unk = tokenizer.unk_token_id if tokenizer.unk_token_id is not None else 0
        self.cls = _first_id(tokenizer, "cls_token_id", "bos_token_id")
        self.sep = _first_id(tokenizer, "sep_token_id", "eos_token_id")
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.space = self.vocab.get(META, self.vocab.get("Ġ", self.vocab.get(" ", self.unk)))
        self.cache: Dict[str, int] = {}

    def __call__(self, char: str) -> int:
        idx = self.cache.get(char)
        if idx is None:
            if char.isspace():
                idx = self.space
            else:
                idx = self.vocab.get(char, self.vocab.get(META + char, self.vocab.get("##" + char, self.unk)))
            self.cache[char] = idx
        return idx


def _first_id(tokenizer, *names) -> int:
    for name in names:
        value = getattr(tokenizer, name, None)
        if value is not None:
            return value
    raise ValueError(f"tokenizer has none of {names}")


def encode_spans(pieces: PieceVocab, nested_spans: List[List[Span]], max_pieces: int) -> Tuple[WordpieceBatch, Ragged]:
    """Piece ids for every span and the token→piece alignment, by construction."""
    rows: List[List[int]] = []
    strings: List[List[str]] = []
    positions: Dict[Tuple[int, int], List[int]] = {}
    order: List[Tuple[int, int]] = []
    for doc_i, spans in enumerate(nested_spans):
        for span in spans:
            row_i = len(rows)
            ids, texts = [pieces.cls], ["<cls>"]
            for token in span:
                key = (doc_i, token.i)
                if key not in positions:
                    positions[key] = []
                    order.append(key)
                for char in token.text:
                    if len(ids) >= max_pieces + 1:
                        break  # an over-long token keeps its first pieces
                    positions[key].append((row_i, len(ids)))
                    ids.append(pieces(char))
                    texts.append(char)
                if token.whitespace_ and len(ids) < max_pieces + 1:
                    ids.append(pieces.space)
                    texts.append(META)
            ids.append(pieces.sep)
            texts.append("<sep>")
            rows.append(ids)
            strings.append(texts)
    width = max((len(r) for r in rows), default=0)
    input_ids = numpy.full((len(rows), width), pieces.pad, dtype="i")
    mask = numpy.zeros((len(rows), width), dtype="bool")
    for i, ids in enumerate(rows):
        input_ids[i, : len(ids)] = ids
        mask[i, : len(ids)] = True
    flat, lengths = [], []
    for key in order:
        idx = [r * width + c for r, c in positions[key]]
        flat.extend(idx)
        lengths.append(len(idx))
    align = Ragged(numpy.asarray(flat, dtype="i"), numpy.asarray(lengths, dtype="i"))
    wordpieces = WordpieceBatch(
        strings=strings, input_ids=input_ids, attention_mask=mask,
        lengths=[len(r) for r in rows], token_type_ids=numpy.zeros_like(input_ids),
    )
    return wordpieces, align


WINDOWS_PER_PASS = 32  # inference: the encoder sees at most this many windows at once


def _predict_in_chunks(transformer: Model, wordpieces: WordpieceBatch):
    """Encode the windows WINDOWS_PER_PASS at a time: a long document has one
    window per ~200 characters, and one batch of all of them would hold every
    window's attention maps at once (memory growing with the document). Rows
    share one padded width, so the outputs (torch tensors) stack back exactly."""
    import torch

    n = len(wordpieces.lengths)
    if n <= WINDOWS_PER_PASS:
        return transformer(wordpieces, False)
    outputs = [transformer(wordpieces[i:i + WINDOWS_PER_PASS], False)[0] for i in range(0, n, WINDOWS_PER_PASS)]
    merged = outputs[0].__class__(**{key: torch.cat([o[key] for o in outputs])
                                     for key, value in outputs[0].items() if value is not None})
    return merged, lambda d_output: None


def char_forward(model: TransformerModel, docs: List[Doc], is_train: bool):
    transformer = model.layers[0]
    if "pieces" not in model.attrs:
        model.attrs["pieces"] = PieceVocab(model.tokenizer)
    nested_spans = model.attrs["get_spans"](docs)
    max_pieces = model.attrs["max_pieces"]
    wordpieces, align = encode_spans(model.attrs["pieces"], nested_spans, max_pieces)
    if not wordpieces.lengths:
        return FullTransformerBatch.empty(len(docs)), lambda d: docs
    if is_train:
        model_output, bp_tensors = transformer(wordpieces, is_train)
    else:
        with TORCH_PREDICT_LOCK:
            model_output, bp_tensors = _predict_in_chunks(transformer, wordpieces)
    model.attrs["forward_calls"] = model.attrs.get("forward_calls", 0) + 1
    output = FullTransformerBatch(spans=nested_spans, wordpieces=wordpieces, model_output=model_output, align=align)

    def backprop(d_output: FullTransformerBatch) -> List[Doc]:
        bp_tensors(d_output.model_output)
        return docs

    return output, backprop


def char_init(model: TransformerModel, X=None, Y=None):
    # Load the HF objects as spacy-transformers does, then probe with our own pieces.
    trf_init(model, X=None, Y=None)
    model.attrs["pieces"] = PieceVocab(model.tokenizer)


class CharTransformerModel(TransformerModel):
    def __init__(self, name, get_spans, tokenizer_config, transformer_config, max_pieces, **kwargs):
        super().__init__(name, get_spans, tokenizer_config, transformer_config, **kwargs)
        self._func = char_forward
        self.init = char_init
        self.attrs["max_pieces"] = max_pieces

    def copy(self):
        copied = super().copy()
        copied._func, copied.init = char_forward, char_init
        copied.attrs["max_pieces"] = self.attrs["max_pieces"]
        return copied


@registry.architectures("spacy_mtl.CharTransformerModel.v1")
def create_char_transformer(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    max_pieces: int = 510,
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
) -> Model:
    """``name`` is any HF encoder (hub name or local folder); ``max_pieces`` caps a window."""
    return CharTransformerModel(
        name, get_spans, tokenizer_config, transformer_config, max_pieces,
        mixed_precision=mixed_precision, grad_scaler_config=grad_scaler_config,
    )
