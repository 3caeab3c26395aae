"""Time and trace the memory of training steps, each variant in a fresh process.

    python scripts/train_memory.py CONFIG --steps 100 [--variant NAME:KEY=VALUE;...]
        [--rev REV] [--report metrics/train_memory] [--paths.encoder ... spaCy overrides]

A variant is the config (with the spaCy-style overrides given after the
options) plus its own overrides, e.g. ``--variant no-trim:training.before_update=null``
(values are JSON, as on spaCy's command line); without --variant the config
runs as it is. With --rev every variant also runs on REV's spacy_mtl (a
temporary git worktree), that revision first, so drift on a noisy machine hits
both alike. Each process initialises the pipeline, then updates it on the
config's first STEPS + 1 training batches (seed fixed, so every variant sees
the same ones) the way `spacy train` does, calling the config's
before_update; the first update is a warm-up. It prints the median seconds per
step, words per second, resident memory after steps 10, STEPS/2 and STEPS, and
the peak (ru_maxrss), and how much padding the encoder's passes add to the
windows' own pieces and attention cells (one pass per batch against passes
of alike lengths); --report writes JSON and Markdown.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

STEPS_SNIPPET = r"""
import json, resource, statistics, sys, time
from spacy.schemas import ConfigSchemaTraining
from spacy.training.initialize import init_nlp
from spacy.util import fix_random_seed, load_config, registry, resolve_dot_names
config_path, overrides, steps = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
config = load_config(config_path, overrides=overrides, interpolate=False)
nlp = init_nlp(config)
resolved = nlp.config.interpolate()
T = registry.resolve(resolved["training"], schema=ConfigSchemaTraining)
(train_corpus,) = resolve_dot_names(resolved, [T["train_corpus"]])
fix_random_seed(T["seed"])
batches = T["batcher"](train_corpus(nlp))
page = resource.getpagesize()

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page / 2**20

from spacy_mtl.ml.models import char_transformer as ct
trf = nlp.get_pipe("transformer").model
pieces = ct.PieceVocab(trf.tokenizer)
padding = {"pieces": 0, "one_pass_pieces": 0, "passes_pieces": 0, "cells": 0, "one_pass_cells": 0, "passes_cells": 0}

def count_padding(batch):
    # the encoder's work on this batch: one pass padded to its longest window against passes of alike lengths
    windows = ct.Windows(pieces, trf.attrs["get_spans"]([eg.predicted for eg in batch]), trf.attrs["max_pieces"])
    lengths = sorted(len(ids) for ids in windows.ids)
    groups = [(end - start, lengths[end - 1]) for start, end in ct.pass_groups(lengths, ct.WINDOWS_PER_PASS)]
    padding["pieces"] += sum(lengths)
    padding["cells"] += sum(n * n for n in lengths)
    padding["one_pass_pieces"] += len(lengths) * lengths[-1]
    padding["one_pass_cells"] += len(lengths) * lengths[-1] ** 2
    padding["passes_pieces"] += sum(k * n for k, n in groups)
    padding["passes_cells"] += sum(k * n * n for k, n in groups)

seconds, words, rss = [], [], []
for step, batch in zip(range(steps + 1), batches):
    if step:
        count_padding(batch)
    start = time.perf_counter()
    if T["before_update"] is not None:
        T["before_update"](nlp, {"step": step, "epoch": 0})
    nlp.update(batch, drop=T["dropout"], sgd=T["optimizer"], losses={})
    if step:  # step 0 is the warm-up
        seconds.append(time.perf_counter() - start)
        words.append(sum(len(eg.reference) for eg in batch))
        rss.append(rss_mb())
print(json.dumps({"steps": len(seconds), "seconds_per_step_median": statistics.median(seconds),
                  "words_per_second": sum(words) / sum(seconds), "rss_mb": rss,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "padding": padding}))
"""


def parse_variant(text: str):
    name, _, pairs = text.partition(":")
    overrides = {}
    for pair in filter(None, pairs.split(";")):
        key, _, value = pair.partition("=")
        overrides[key] = json.loads(value)
    return name, overrides


def run_steps(code: Path, config: Path, overrides: dict, steps: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code))  # the measuring process imports this spacy_mtl
    done = subprocess.run([sys.executable, "-c", STEPS_SNIPPET, str(config), json.dumps(overrides), str(steps)],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"training steps failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(name: str, row: dict) -> str:
    rss = row["rss_mb"]
    marks = sorted({min(10, len(rss)), max(1, len(rss) // 2), len(rss)})
    trace = ", ".join(f"{rss[m - 1]:,.0f} MB after step {m}" for m in marks)
    return (f"{name}: {row['seconds_per_step_median']:.2f} s/step, {row['words_per_second']:.0f} words/s; "
            f"RSS {trace}; peak {row['peak_rss_mb']:,.0f} MB")


def write_report(report: Path, header: str, results: dict) -> None:
    report.parent.mkdir(parents=True, exist_ok=True)
    report.with_suffix(".json").write_text(json.dumps({"command": header, "results": results}, indent=2))
    padding = next(iter(results.values()))["padding"]  # the same batches for every variant
    lines = [f"# Training steps: time and memory", "", f"`{header}`", "",
             "Encoder work on the timed steps' batches, against the windows' own pieces and attention cells: "
             f"one pass padded to the longest window {padding['one_pass_pieces'] / padding['pieces']:.2f}x the pieces, "
             f"{padding['one_pass_cells'] / padding['cells']:.2f}x the cells; passes of alike lengths "
             f"{padding['passes_pieces'] / padding['pieces']:.2f}x and {padding['passes_cells'] / padding['cells']:.2f}x.", "",
             "| variant | s/step (median) | words/s | RSS after step 10 | RSS at the end | peak RSS |",
             "|---|---|---|---|---|---|"]
    for name, row in results.items():
        rss = row["rss_mb"]
        lines.append(f"| {name} | {row['seconds_per_step_median']:.2f} | {row['words_per_second']:.0f} | "
                     f"{rss[min(9, len(rss) - 1)]:,.0f} MB | {rss[-1]:,.0f} MB | {row['peak_rss_mb']:,.0f} MB |")
    report.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main():
    from spacy.cli._util import parse_config_overrides

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--variant", action="append", default=[], help="NAME:KEY=VALUE;...")
    parser.add_argument("--rev", default=None, help="also run every variant on this commit's spacy_mtl")
    parser.add_argument("--report", type=Path, default=None)
    args, extra = parser.parse_known_args()
    base = parse_config_overrides(extra)
    variants = [parse_variant(v) for v in args.variant] or [("as configured", {})]
    header = " ".join(["python", "scripts/train_memory.py", *sys.argv[1:]])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("current", ROOT)]
        if args.rev:
            tree = Path(tmp) / "before"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.rev], check=True,
                           capture_output=True)
            trees.insert(0, (args.rev, tree))
        try:
            for name, overrides in variants:
                for code_name, code in trees:
                    label = f"{name} ({code_name})" if args.rev else name
                    results[label] = run_steps(code, args.config, {**base, **overrides}, args.steps)
                    print(describe(label, results[label]), flush=True)
        finally:
            if args.rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(trees[0][1])], check=False)
    if args.report:
        write_report(args.report, header, results)


if __name__ == "__main__":
    main()
