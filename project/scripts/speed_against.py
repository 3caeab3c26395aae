"""Time one model under the current code and under an earlier commit, interleaved.

    python scripts/speed_against.py MODEL TEST.spacy REV [--rounds 1] [--runs 3] [--report metrics/NAME]

Each round runs evaluate.py's speed measurement (a fresh process, full pipeline
against encoder only, median of --runs) first with REV's spacy_mtl (checked out
in a temporary git worktree), then with this checkout's, so drift on a noisy
machine hits both alike. Prints one line per measurement; --report writes JSON.
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
sys.path.insert(0, str(HERE))

from evaluate import measure_speed  # noqa: E402


def summary(speed: dict) -> dict:
    return {"ratio": speed["seconds_median"] / speed["encoder_only_seconds_median"],
            "words_per_second": speed["words"] / speed["seconds_median"], "peak_rss_mb": speed["peak_rss_mb"],
            # nlp.pipe time above the encoder pass: what the heads cost as users run them
            "seconds_median": speed["seconds_median"], "encoder_only_seconds_median": speed["encoder_only_seconds_median"],
            "above_encoder_seconds": speed["seconds_median"] - speed["encoder_only_seconds_median"],
            "per_component_seconds": speed["per_component_seconds"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("rev", help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args()
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
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.with_suffix(".json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
