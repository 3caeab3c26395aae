"""How much faster bf16 runs than float32 on this CPU: one matrix product, and the encoder's passes.

    python scripts/bench_bfloat16.py encoders/e5-small-L6 metrics/bfloat16_micro [--repeats 15]

The product is 2048x384 by 384x1536 (an encoder layer's feed-forward on a
large batch). The passes are six batches of small shapes, close to the passes
pass_groups cut from a GSDSimp batch of about 45 sentences (windows x pieces:
12x14, 9x22, 8x30, 6x42, 4x58, 2x90), random piece ids, run three ways: float32; bf16
autocast entered once per pass; bf16 autocast entered once around all passes
(what the encoder does: autocast then casts each weight once, not once per
pass). Each is timed --repeats times, interleaved, after two warm-up rounds;
medians are reported. Writes NAME.json and NAME.md.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, render_again, write_report  # noqa: E402

PASS_SHAPES = [(12, 14), (9, 22), (8, 30), (6, 42), (4, 58), (2, 90)]


def product_gflops(dtype: torch.dtype, repeats: int) -> float:
    torch.manual_seed(0)
    a, b = torch.randn(2048, 384, dtype=dtype), torch.randn(384, 1536, dtype=dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 2048 * 384 * 1536 / statistics.median(times) / 1e9


def time_passes(model, batches, how: str) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        if how == "bf16, one autocast region":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                for ids, mask in batches:
                    model(input_ids=ids, attention_mask=mask)
        else:
            for ids, mask in batches:
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=how == "bf16, a region per pass"):
                    model(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - start


def markdown(report: dict) -> str:
    p = report["product_gflops"]
    lines = [f"Machine: {report['machine']}; oneDNN bf16 supported: {report['onednn_bf16']}; "
             f"torch {report['torch']}, {report['threads']} threads; medians of {report['repeats']} runs.", "",
             f"2048x384 by 384x1536 product: {p['float32']:,.0f} GFLOP/s in float32, {p['bfloat16']:,.0f} in bf16 "
             f"({p['bfloat16'] / p['float32']:.1f}x).", "",
             f"The encoder ({report['encoder']}) on six passes of the shapes "
             f"{', '.join(f'{b}x{n}' for b, n in PASS_SHAPES)} (windows x pieces):", "",
             "| precision | time | against float32 |", "|---|---|---|"]
    base = report["passes_ms"]["float32"]
    for how, ms in report["passes_ms"].items():
        lines.append(f"| {how} | {ms:.1f} ms | {base / ms:.2f}x |")
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("encoder", type=Path)
    parser.add_argument("output", type=Path, help="report path without suffix")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    from transformers import AutoModel

    from spacy_mtl.ml.inference import cpu_has_fast_bfloat16

    model = AutoModel.from_pretrained(args.encoder).eval()
    generator = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    batches = [(torch.randint(5, vocab, (b, n), generator=generator), torch.ones(b, n, dtype=torch.long))
               for b, n in PASS_SHAPES]
    ways = ["float32", "bf16, a region per pass", "bf16, one autocast region"]
    for _ in range(2):
        for how in ways:
            time_passes(model, batches, how)
    runs = {how: [] for how in ways}
    for _ in range(args.repeats):
        for how in ways:
            runs[how].append(time_passes(model, batches, how))
    report = {"machine": machine(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "onednn_bf16": cpu_has_fast_bfloat16(), "repeats": args.repeats, "encoder": str(args.encoder),
              "product_gflops": {"float32": product_gflops(torch.float32, args.repeats),
                                 "bfloat16": product_gflops(torch.bfloat16, args.repeats)},
              "passes_ms": {how: 1000 * statistics.median(times) for how, times in runs.items()}}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
