"""Side by side: several benchmark_gsdsimp.py reports (e.g. the same heads on encoders of different depth).

    python scripts/compare_runs.py metrics/gsdsimp_l12.json metrics/gsdsimp_l6.json --output metrics/encoder_layers

Every number is read from the reports (each measured by benchmark_gsdsimp.py on
this machine); the last column is each run's training time against the first's.
Writes OUTPUT.md (and OUTPUT.json, the rows) and prints the table.
"""
import argparse
import json
from pathlib import Path

from evaluate import write_report

SCORES = [("token_f", "tokens F"), ("pos_acc", "UPOS"), ("tag_acc", "XPOS"), ("morph_acc", "UFeats"),
          ("lemma_acc", "lemma"), ("uas", "UAS"), ("las", "LAS")]


def row(path: Path) -> dict:
    report = json.loads(path.read_text())
    speed = report["speed"]
    return {"report": path.stem, "encoder_layers": report.get("encoder_layers"), "max_steps": report["max_steps"],
            "train_seconds": report["train_seconds"], **{k: report["test"][k] for k, _ in SCORES},
            "words_per_second": speed["words"] / speed["seconds_median"],
            "ratio_to_encoder": speed["seconds_median"] / speed["encoder_only_seconds_median"],
            "peak_rss_mb": speed["peak_rss_mb"], "machine": report["machine"]}


def markdown(rows: list) -> str:
    first = rows[0]
    lines = [f"GSDSimp test (official, 500 sentences), predicted segmentation; machine: {first['machine']}.", "",
             "| run | encoder layers | steps | training | " + " | ".join(name for _, name in SCORES)
             + " | words/s | full / encoder only | peak RSS | training time vs first |",
             "|---|---|---|---|" + "---|" * len(SCORES) + "---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['report']} | {r['encoder_layers'] or '–'} | {r['max_steps']} | {r['train_seconds'] / 60:.1f} min | "
                     + " | ".join(f"{100 * r[k]:.2f}" for k, _ in SCORES)
                     + f" | {r['words_per_second']:.0f} | {r['ratio_to_encoder']:.2f}x | {r['peak_rss_mb']:.0f} MB"
                     f" | {r['train_seconds'] / first['train_seconds']:.2f}x |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, required=True, help="path without suffix")
    args = parser.parse_args()
    print(write_report([row(p) for p in args.reports], args.output, markdown))


if __name__ == "__main__":
    main()
