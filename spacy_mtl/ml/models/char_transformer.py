"""The shared encoder: a Hugging Face model fed one character per piece.

Instead of running the model's own subword tokenizer and guessing the
alignment from offsets, every character of a token becomes one piece (looked up
as the character itself, then as ``▁``+character, else ``<unk>``), and a single
space after a token becomes an unaligned ``▁`` piece. The token→piece alignment
is therefore known by construction, and a word segmenter can score every
character on the same hidden states that later heads pool into words.

Long documents are cut into windows of at most ``window`` pieces. With
``spacy_mtl.sentence_windows.v1`` (the default) every sentence, found by its
final punctuation, is a window of its own, as the training sentences were, so
a sentence reads the same inside a document as alone. A sentence (or, with
``spacy_mtl.piece_windows.v1``, a document) longer than the window is cut into
windows that overlap by up to ``overlap`` pieces; a token seen in two windows
is aligned to its pieces in both, and the poolers average them.

The encoder takes a batch's windows in passes of alike lengths (pass_groups),
each pass padded only to its own longest window. In prediction the results
are stored packed: consecutive windows of a document share a row of the
output, so a document of many short sentences does not keep a padded row per
sentence. In training they are laid out a row per window, and each pass gets
back the gradient of its own rows.
"""
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.tokens import Doc, Span
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
from spacy_transformers.layers.transformer_model import TransformerModel
from spacy_transformers.layers.transformer_model import init as trf_init
from thinc.api import Model, Ragged
from transformers.file_utils import ModelOutput

from ..inference import TORCH_PREDICT_LOCK, LoadTimeFlag, cpu_autocast, cpu_has_fast_bfloat16

META = "\u2581"


def _torch_single_thread_in_child() -> None:
    # A forked child (nlp.pipe(n_process=...)) inherits torch's OpenMP pool in a
    # state it cannot use and hangs on its first parallel op; one thread avoids the pool.
    import torch

    torch.set_num_threads(1)


os.register_at_fork(after_in_child=_torch_single_thread_in_child)


def piece_count(token) -> int:
    return len(token.text) + (1 if token.whitespace_ else 0)


SENTENCE_FINAL = frozenset("。！？!?…")
CLOSING = frozenset("”’」』）)》】〕]\"'")


def sentence_cuts(doc: Doc) -> List[int]:
    """Token indices where a new sentence starts: after 。！？!?… (with the closing
    quotes or brackets that follow them), after a line break, and after a "."
    followed by whitespace. Only surface cues: the encoder runs before any
    sentence splitter, and a missed cut only costs context, never text."""
    cuts = []
    n = len(doc)
    for i, token in enumerate(doc):
        text = token.text
        if text.isspace():  # (not token.is_space: a bare Vocab has no lexeme attributes)
            ends = "\n" in text
        elif text[-1] in SENTENCE_FINAL:
            ends = True
        else:
            ends = text[-1] == "." and (bool(token.whitespace_) or i + 1 < n and doc[i + 1].text.isspace())
        if not ends:
            continue
        cut = i + 1  # after any closing quotes and further final marks (……, ！？)
        while cut < n and (doc[cut].text in CLOSING or doc[cut].text[-1] in SENTENCE_FINAL):
            cut += 1
        if cut < n and (not cuts or cuts[-1] != cut):
            cuts.append(cut)
    return cuts


def _length_windows(doc: Doc, counts: List[int], start: int, stop: int, window: int, overlap: int) -> List[Span]:
    """Spans of doc[start:stop] of at most ``window`` pieces that overlap by at
    most ``overlap`` pieces. A token longer than the window gets a span alone."""
    spans = []
    while start < stop:
        end, used = start, 0
        while end < stop and (end == start or used + counts[end] <= window):
            used += counts[end]
            end += 1
        spans.append(doc[start:end])
        if end >= stop:
            break
        new_start, kept = end, 0
        while new_start - 1 > start and kept + counts[new_start - 1] <= overlap:
            new_start -= 1
            kept += counts[new_start]
        start = new_start
    return spans


def piece_windows(docs: List[Doc], window: int, overlap: int) -> List[List[Span]]:
    """Cut each doc into token spans of at most ``window`` pieces that overlap by
    at most ``overlap`` pieces, wherever the sentences end."""
    out = []
    for doc in docs:
        counts = [piece_count(t) for t in doc]
        out.append(_length_windows(doc, counts, 0, len(doc), window, overlap))
    return out


def sentence_windows(docs: List[Doc], window: int, overlap: int) -> List[List[Span]]:
    """Each sentence (see ``sentence_cuts``) of each doc in a span of its own;
    a sentence longer than ``window`` pieces is cut as ``piece_windows`` cuts."""
    out = []
    for doc in docs:
        counts = [piece_count(t) for t in doc]
        bounds = [0, *sentence_cuts(doc), len(doc)]
        out.append([span for start, stop in zip(bounds, bounds[1:])
                    for span in _length_windows(doc, counts, start, stop, window, overlap)])
    return out


def _check_window(window: int, overlap: int) -> None:
    if not 0 <= overlap < window:
        raise ValueError(f"windows need 0 <= overlap < window, got overlap={overlap}, window={window}")


@registry.span_getters("spacy_mtl.piece_windows.v1")
def configure_piece_windows(window: int = 254, overlap: int = 64) -> Callable:
    _check_window(window, overlap)

    def get_spans(docs):
        return piece_windows(docs, window, overlap)

    return get_spans


@registry.span_getters("spacy_mtl.sentence_windows.v1")
def configure_sentence_windows(window: int = 254, overlap: int = 64) -> Callable:
    _check_window(window, overlap)

    def get_spans(docs):
        return sentence_windows(docs, window, overlap)

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


class Windows:
    """Piece ids of every window ([CLS] pieces [SEP]) and where each token's pieces are.

    ``positions[(doc, token)]`` lists (window, column) for every piece of the
    token, window after window; ``order`` lists the tokens, doc after doc."""

    def __init__(self, pieces: PieceVocab, nested_spans: List[List[Span]], max_pieces: int):
        self.ids: List[List[int]] = []
        self.strings: List[List[str]] = []
        self.positions: Dict[Tuple[int, int], List[Tuple[int, int]]] = {}
        self.order: List[Tuple[int, int]] = []
        for doc_i, spans in enumerate(nested_spans):
            for span in spans:
                self._add(pieces, doc_i, span, max_pieces)

    def _add(self, pieces: PieceVocab, doc_i: int, span: Span, max_pieces: int) -> None:
        w = len(self.ids)
        ids, texts = [pieces.cls], ["<cls>"]
        for token in span:
            key = (doc_i, token.i)
            if key not in self.positions:
                self.positions[key] = []
                self.order.append(key)
            for char in token.text:
                if len(ids) >= max_pieces + 1:
                    break  # an over-long token keeps its first pieces
                self.positions[key].append((w, len(ids)))
                ids.append(pieces(char))
                texts.append(char)
            if token.whitespace_ and len(ids) < max_pieces + 1:
                ids.append(pieces.space)
                texts.append(META)
        ids.append(pieces.sep)
        texts.append("<sep>")
        self.ids.append(ids)
        self.strings.append(texts)

    def wordpieces(self, places: List[Tuple[int, int]], n_rows: int, pad: int,
                   which: Optional[List[int]] = None, width_step: int = 1) -> WordpieceBatch:
        """Padded arrays with window ``which[k]`` (default: every window, in order)
        at (row, offset) = ``places[k]``, as wide as the longest row rounded up
        to a multiple of ``width_step``."""
        which = range(len(self.ids)) if which is None else which
        width = max((off + len(self.ids[w]) for (_, off), w in zip(places, which)), default=0)
        width = -(-width // width_step) * width_step
        input_ids = numpy.full((n_rows, width), pad, dtype="i")
        mask = numpy.zeros((n_rows, width), dtype="bool")
        strings: List[List[str]] = [[] for _ in range(n_rows)]
        for (row, off), w in zip(places, which):
            input_ids[row, off:off + len(self.ids[w])] = self.ids[w]
            mask[row, off:off + len(self.ids[w])] = True
            strings[row].extend(self.strings[w])
        return WordpieceBatch(strings=strings, input_ids=input_ids, attention_mask=mask,
                              lengths=[len(t) for t in strings], token_type_ids=numpy.zeros_like(input_ids))

    def align(self, places: List[Tuple[int, int]], width: int) -> Ragged:
        """The token→piece alignment (row × width + offset + column) for every window at its place."""
        flat, lengths = [], []
        for key in self.order:
            idx = [places[w][0] * width + places[w][1] + c for w, c in self.positions[key]]
            flat.extend(idx)
            lengths.append(len(idx))
        return Ragged(numpy.asarray(flat, dtype="i"), numpy.asarray(lengths, dtype="i"))


def row_per_window(windows: Windows, pad: int) -> Tuple[WordpieceBatch, Ragged]:
    """Piece ids with window w in row w, and the token→piece alignment into those rows."""
    places = [(w, 0) for w in range(len(windows.ids))]
    wordpieces = windows.wordpieces(places, len(places), pad)
    return wordpieces, windows.align(places, wordpieces.input_ids.shape[1])


def pack_windows(windows: Windows, nested_spans: List[List[Span]], width: int):
    """Places (row, offset) that pack consecutive windows of a doc into rows of
    at most ``width`` pieces, and the span of doc tokens each row covers. Two
    windows that share a token never share a row (the poolers tell a token's
    windows apart by row)."""
    places, row_spans, w, n_rows = [], [], 0, 0
    for spans in nested_spans:
        doc_rows: List[Span] = []
        used = width
        for span in spans:
            n = len(windows.ids[w])
            if used + n > width or span.start < doc_rows[-1].end:
                doc_rows.append(span)
                n_rows, used = n_rows + 1, 0
            else:
                doc_rows[-1] = span.doc[doc_rows[-1].start:span.end]
            places.append((n_rows - 1, used))
            used += n
            w += 1
        row_spans.append(doc_rows)
    return places, row_spans


WINDOWS_PER_PASS = 32  # the encoder sees at most this many windows at once
# What one more encoder pass costs, in padded pieces: on 2 CPU cores a 4-piece
# pass of the 6-layer e5-small took 8 ms, about what 50 pieces cost in a 32 x 32 pass
PASS_OVERHEAD_PIECES = 48
# Under bf16 (cpu_bfloat16) a piece costs less and a pass's fixed cost does not:
# on 2 CPU cores 384 took a quarter less encoder time than 48 (project/metrics/pass_overhead.md)
PASS_OVERHEAD_PIECES_BF16 = 384
# Under bf16 oneDNN keeps a compiled kernel, and its memory, for every matrix
# shape it meets, so pass shapes are rounded up to these steps (rows, pieces)
# there: without it, resident memory grew with every new batch size
PASS_SHAPE_STEP_BF16 = (4, 16)


def pass_groups(lengths: Sequence[int], max_windows: int, overhead: int = PASS_OVERHEAD_PIECES) -> List[Tuple[int, int]]:
    """Cut windows sorted by length into passes [start, end) of at most
    max_windows, minimising the padded pieces plus overhead per pass:
    sum of overhead + (end - start) * lengths[end - 1].

    lengths: ascending. A pass is padded to its longest window, so a fixed
    count per pass padded a batch of 32 sentences of 5 to 100 characters all
    to 100, and small nlp.pipe batches cost far more per word than large ones;
    a pass per window would pay the overhead every time. Exact dynamic
    programme, O(len(lengths) * max_windows).
    """
    n = len(lengths)
    best, cut = [0] + [float("inf")] * n, [0] * (n + 1)  # best[j]: cost of the first j windows
    for end in range(1, n + 1):
        for start in range(max(0, end - max_windows), end):
            cost = best[start] + overhead + (end - start) * lengths[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    passes, end = [], n
    while end:
        passes.append((cut[end], end))
        end = cut[end]
    return passes[::-1]


def _alike_length_passes(windows: Windows, pad: int, overhead: int, shape_step: Tuple[int, int] = (1, 1)):
    """Yield (window indices, padded WordpieceBatch) for each encoder pass:
    the windows shortest first, cut by pass_groups (with this per-pass
    overhead) into passes of at most WINDOWS_PER_PASS, each padded only to
    its own longest window. ``shape_step`` (rows, pieces): the pass's shape is
    rounded up to multiples of these, extra rows holding an empty window
    ([CLS][SEP]), so that fewer distinct shapes occur (see PASS_SHAPE_STEP_BF16)."""
    lengths = numpy.asarray([len(ids) for ids in windows.ids])
    order = numpy.argsort(lengths, kind="stable")
    row_step, piece_step = shape_step
    for start, end in pass_groups(lengths[order].tolist(), WINDOWS_PER_PASS, overhead):
        rows = order[start:end].tolist()
        n_rows = -(-len(rows) // row_step) * row_step
        batch = windows.wordpieces([(j, 0) for j in range(len(rows))], n_rows, pad, which=rows,
                                   width_step=piece_step)
        first = windows.ids[rows[0]]
        batch.input_ids[len(rows):, :2] = (first[0], first[-1])  # [CLS][SEP]: no row is all padding
        batch.attention_mask[len(rows):, :2] = True
        yield rows, batch


def _predict_packed(transformer: Model, windows: Windows, places: List[Tuple[int, int]], n_rows: int, width: int,
                    pad: int, bfloat16: bool = False):
    """Encode every window on its own, shortest first, in passes of alike
    lengths (pass_groups) of at most WINDOWS_PER_PASS, each pass cut to its
    longest window, and write the hidden states at the windows' places in a
    [n_rows, width, hidden] tensor (zero elsewhere).

    One batch of all windows would hold every window's attention maps at once
    (memory growing with the document), padding a three-piece sentence to the
    longest window would waste most of the work, and a row per window would
    store that padding for the whole document."""
    hidden = None
    bfloat16 = bfloat16 and cpu_has_fast_bfloat16()
    overhead, step = (PASS_OVERHEAD_PIECES_BF16, PASS_SHAPE_STEP_BF16) if bfloat16 else (PASS_OVERHEAD_PIECES, (1, 1))
    # one autocast region for all passes: it casts each weight to bf16 once, not once per pass
    with cpu_autocast(bfloat16):
        for rows, batch in _alike_length_passes(windows, pad, overhead, step):
            state = transformer(batch, False)[0].last_hidden_state.float()
            if hidden is None:
                hidden = state.new_zeros((n_rows, width, state.shape[-1]))
            for j, w in enumerate(rows):
                row, off = places[w]
                n = len(windows.ids[w])
                hidden[row, off:off + n] = state[j, :n]
    return ModelOutput(last_hidden_state=hidden)


def _train_passes(transformer: Model, windows: Windows, width: int, pad: int):
    """Training: encode the windows in passes of alike lengths, as in prediction
    (pass_groups), and lay the hidden states out a row per window:
    [len(windows.ids), width, hidden], zero past each window's end. The
    backprop hands every pass the gradient of its own rows.

    One pass padded to the batch's longest window costs several times the
    pieces and attention cells of the windows themselves (project/scripts/
    train_memory.py counts both on real batches); with masked attention a
    window's states do not depend on the padding, so the passes compute the
    same function for less."""
    hidden, passes = None, []
    for window_rows, batch in _alike_length_passes(windows, pad, PASS_OVERHEAD_PIECES):
        rows = torch.as_tensor(window_rows)
        output, backprop_pass = transformer(batch, True)
        state = output.last_hidden_state
        if hidden is None:
            hidden = state.new_zeros((len(windows.ids), width, state.shape[-1]))
        # the layout is a copy outside autograd: its gradient comes back through backprop below
        hidden[rows, :state.shape[1]] = state.detach()
        passes.append((rows, state.shape[1], backprop_pass))

    def backprop(d_model_output: ModelOutput) -> None:
        # the listeners send back one gradient, for the hidden states (the pooler output is not passed on)
        d_hidden = next(iter(d_model_output.values()))
        for rows, pass_width, backprop_pass in passes:
            backprop_pass(ModelOutput(last_hidden_state=d_hidden[rows, :pass_width].contiguous()))

    return ModelOutput(last_hidden_state=hidden), backprop


def char_forward(model: TransformerModel, docs: List[Doc], is_train: bool):
    transformer = model.layers[0]
    if "pieces" not in model.attrs:
        model.attrs["pieces"] = PieceVocab(model.tokenizer)
    pieces = model.attrs["pieces"]
    nested_spans = model.attrs["get_spans"](docs)
    windows = Windows(pieces, nested_spans, model.attrs["max_pieces"])
    if not windows.ids:
        return FullTransformerBatch.empty(len(docs)), lambda d: docs
    model.attrs["forward_calls"] = model.attrs.get("forward_calls", 0) + 1
    if not is_train:
        # prediction: every window encoded alone, stored packed (see pack_windows)
        width = max(model.attrs["max_pieces"] + 2, max(len(ids) for ids in windows.ids))
        places, row_spans = pack_windows(windows, nested_spans, width)
        wordpieces = windows.wordpieces(places, sum(len(r) for r in row_spans), pieces.pad)
        align = windows.align(places, wordpieces.input_ids.shape[1])
        with TORCH_PREDICT_LOCK:
            model_output = _predict_packed(transformer, windows, places, len(wordpieces.lengths),
                                           wordpieces.input_ids.shape[1], pieces.pad,
                                           bool(model.attrs.get("cpu_bfloat16")))
        output = FullTransformerBatch(spans=row_spans, wordpieces=wordpieces, model_output=model_output, align=align)
        return output, lambda d: docs
    wordpieces, align = row_per_window(windows, pieces.pad)
    model_output, bp_tensors = _train_passes(transformer, windows, wordpieces.input_ids.shape[1], pieces.pad)
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
    def __init__(self, name, get_spans, tokenizer_config, transformer_config, max_pieces, cpu_bfloat16=False,
                 **kwargs):
        super().__init__(name, get_spans, tokenizer_config, transformer_config, **kwargs)
        self._func = char_forward
        self.init = char_init
        self.attrs["max_pieces"] = max_pieces
        self.attrs["cpu_bfloat16"] = LoadTimeFlag(cpu_bfloat16)  # a load-time setting: not saved

    def copy(self):
        copied = super().copy()
        copied._func, copied.init = char_forward, char_init
        copied.attrs["max_pieces"] = self.attrs["max_pieces"]
        copied.attrs["cpu_bfloat16"] = LoadTimeFlag(self.attrs["cpu_bfloat16"])
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
    cpu_bfloat16: bool = False,
) -> Model:
    """``name`` is any HF encoder (hub name or local folder); ``max_pieces`` caps a window.

    ``mixed_precision`` is spacy-transformers' (CUDA autocast, fp16 with a grad
    scaler). ``cpu_bfloat16`` is for prediction on a CPU: the encoder runs
    under ``torch.autocast("cpu", bfloat16)`` (the hidden states handed to the
    heads stay float32) where oneDNN has fast bf16 kernels (AMX or
    AVX512-BF16), and nowhere else: elsewhere bf16 is emulated and slower, so
    the flag then does nothing. Training stays float32: its passes are
    small, and a training step under bf16 autocast was no faster here."""
    return CharTransformerModel(
        name, get_spans, tokenizer_config, transformer_config, max_pieces, cpu_bfloat16=cpu_bfloat16,
        mixed_precision=mixed_precision, grad_scaler_config=grad_scaler_config,
    )
