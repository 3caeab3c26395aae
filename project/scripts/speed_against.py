"""Time one model under the current code and under an earlier commit, interleaved.

    python scripts/speed_against.py MODEL TEST.spacy REV [--rounds 1] [--runs 3] [--report metrics/NAME]
        [--same-outputs A.spacy B.spacy ...]

Each round runs evaluate.py's speed measurement (a fresh process, full pipeline
against encoder only, median of --runs) first with REV's spacy_mtl (checked out
in a temporary git worktree), then with this checkout's, so drift on a noisy
machine hits both alike. Prints one line per measurement; --report NAME writes
NAME.json and NAME.md (``--render NAME.json`` writes the Markdown again).
--same-outputs: both codes also analyse the raw texts of these files (a fresh
process each), and the docs whose ``doc._.to_dict()`` is identical are counted.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from evaluate import machine, measure_speed, render_again, write_report  # noqa: E402


def summary(speed: dict) -> dict:
    return {"ratio": speed["seconds_median"] / speed["encoder_only_seconds_median"],
            "words_per_second": speed["words"] / speed["seconds_median"], "peak_rss_mb": speed["peak_rss_mb"],
            # nlp.pipe time above the encoder pass: what the heads cost as users run them
            "seconds_median": speed["seconds_median"], "encoder_only_seconds_median": speed["encoder_only_seconds_median"],
            "above_encoder_seconds": speed["seconds_median"] - speed["encoder_only_seconds_median"],
            "per_component_seconds": speed["per_component_seconds"]}


OUTPUTS_SNIPPET = """
import json, sys
import spacy
from spacy.tokens import DocBin
nlp = spacy.load(sys.argv[1])
texts = [d.text for path in sys.argv[3:] for d in DocBin().from_disk(path).get_docs(nlp.vocab)]
with open(sys.argv[2], "w", encoding="utf8") as out:
    for doc in nlp.pipe(texts, batch_size=32):
        out.write(json.dumps(doc._.to_dict(), ensure_ascii=False, sort_keys=True) + "\\n")
"""


def doc_views(code: Path, model: Path, files, out: Path) -> list:
    """``doc._.to_dict()`` of every text of ``files``, analysed by ``code``'s spacy_mtl in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run([sys.executable, "-c", OUTPUTS_SNIPPET, str(model), str(out), *map(str, files)], check=True,
                   env=env, cwd=out.parent)
    return out.read_text(encoding="utf8").splitlines()


def markdown(report: dict) -> str:
    runs = report["runs"]
    components = list(next(iter(runs.values()))[0]["per_component_seconds"])
    lines = [f"Model `{report['model']}` on `{report['test']}`, the code of {report['rev']} against this commit's, "
             f"{report['rounds']} rounds interleaved, each evaluate.py's speed measurement (median of {report['runs_per_round']} "
             f"runs); machine: {report['machine']}.", "",
             "| code | round | full / encoder only | above the encoder | encoder only | words/s | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for name, rows in runs.items():
        for r, row in enumerate(rows):
            lines.append(f"| {name} | {r} | {row['ratio']:.2f}x | {row['above_encoder_seconds']:.2f} s | "
                         f"{row['encoder_only_seconds_median']:.2f} s | {row['words_per_second']:,.0f} | {row['peak_rss_mb']:,.0f} MB |")
    lines += ["", "Each component alone, one pass (seconds, median over the rounds):", "",
              "| code | " + " | ".join(components) + " |", "|---|" + "---|" * len(components)]
    for name, rows in runs.items():
        cells = [statistics.median(row["per_component_seconds"][c] for row in rows) for c in components]
        lines.append(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    same = report.get("same_outputs")
    if same:
        lines += ["", f"Outputs: {same['identical']:,} of {same['docs']:,} docs have the same `doc._.to_dict()` "
                  f"under both codes (the raw texts of {', '.join(f'`{f}`' for f in same['files'])})."]
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--same-outputs", type=Path, nargs="*", default=[], help=".spacy files whose texts both codes analyse")
    args = parser.parse_args()
    same = None
    results = {args.rev: [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.rev], check=True,
                       capture_output=True)
        try:
            for r in range(args.rounds):
                for name, code in ((args.rev, tree), ("current", ROOT)):
                    os.environ["PYTHONPATH"] = str(code)  # the measuring process imports this spacy_mtl
                    row = summary(measure_speed(args.model, args.test, args.runs))
                    results[name].append(row)
                    seconds = ", ".join(f"{k} {v:.2f}" for k, v in row["per_component_seconds"].items())
                    print(f"{name} round {r}: {row['ratio']:.2f}x ({row['above_encoder_seconds']:.2f} s above the encoder's "
                          f"{row['encoder_only_seconds_median']:.2f} s), {row['words_per_second']:.0f} words/s, "
                          f"peak RSS {row['peak_rss_mb']:.0f} MB; {seconds}", flush=True)
            if args.same_outputs:
                before, after = (doc_views(code, args.model.resolve(), [f.resolve() for f in args.same_outputs],
                                           Path(tmp) / f"{name}.jsonl") for name, code in (("before", tree), ("after", ROOT)))
                same = {"files": [str(f) for f in args.same_outputs], "docs": len(after),
                        "identical": sum(a == b for a, b in zip(before, after)) if len(before) == len(after) else 0}
                print(f"outputs: {same['identical']} of {same['docs']} docs identical", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    if args.report:
        report = {"model": str(args.model), "test": str(args.test), "rev": args.rev, "rounds": args.rounds,
                  "runs_per_round": args.runs, "machine": machine(), "runs": results, "same_outputs": same}
        print(write_report(report, args.report.with_suffix(""), markdown))


if __name__ == "__main__":
    main()
