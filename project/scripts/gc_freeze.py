"""What CPython's cycle collector costs nlp.pipe, and what gc.freeze() after loading saves.

    python scripts/gc_freeze.py MODEL TEST.spacy metrics/gc_freeze [--rounds 5]

One process loads the pipeline, warms it up on 64 sentences, then pipes the
test texts --rounds times each three ways, interleaved so drift on a noisy
machine hits all alike: as loaded (the collector on, as nlp.pipe runs for any
user); after ``spacy_mtl.ml.inference.freeze_loaded_objects()`` (what
spacy-mtl parse and serve do; unfrozen again after the run); and with the
collector off (the floor: nothing scanned at all). Reports medians, the
number of objects the collector tracks after loading, and full collections
per run. Writes NAME.json and NAME.md.
"""
import gc
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, model_test_output_parser, render_again, write_report  # noqa: E402

WAYS = ("collector on (as loaded)", "after freeze_loaded_objects()", "collector off")


def time_pipe(nlp, texts, way: str) -> dict:
    from spacy_mtl.ml.inference import freeze_loaded_objects

    if way == WAYS[1]:
        freeze_loaded_objects()
    elif way == WAYS[2]:
        gc.disable()
    full_before = gc.get_stats()[2]["collections"]
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    seconds = time.perf_counter() - start
    full = gc.get_stats()[2]["collections"] - full_before
    gc.enable()
    gc.unfreeze()
    return {"seconds": seconds, "full_collections": full}


def markdown(report: dict) -> str:
    base = report["median_seconds"][WAYS[0]]
    lines = [f"{report['texts']} GSDSimp test texts, nlp.pipe(batch_size=64), {report['rounds']} rounds interleaved, "
             f"medians; model `{report['model']}`; {report['tracked_objects']:,} objects tracked by the collector "
             f"after loading; machine: {report['machine']}.", "",
             "| run | seconds | vs collector on | full collections per run |", "|---|---|---|---|"]
    for way in WAYS:
        seconds = report["median_seconds"][way]
        lines.append(f"| {way} | {seconds:.2f} | {seconds / base:.3f}x | {report['median_full_collections'][way]:g} |")
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = model_test_output_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(args.model)
    texts = [doc.text for doc in DocBin().from_disk(args.test).get_docs(nlp.vocab)]
    for _ in nlp.pipe(texts[:64]):
        pass
    gc.collect()
    tracked = len(gc.get_objects())
    runs = {way: [] for way in WAYS}
    for r in range(args.rounds):
        for way in WAYS:
            runs[way].append(time_pipe(nlp, texts, way))
            print(f"round {r}, {way}: {runs[way][-1]['seconds']:.2f} s, "
                  f"{runs[way][-1]['full_collections']} full collections", flush=True)
    report = {"model": str(args.model), "texts": len(texts), "rounds": args.rounds, "tracked_objects": tracked,
              "machine": machine(), "runs": runs,
              "median_seconds": {w: statistics.median(r["seconds"] for r in runs[w]) for w in WAYS},
              "median_full_collections": {w: statistics.median(r["full_collections"] for r in runs[w]) for w in WAYS}}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
