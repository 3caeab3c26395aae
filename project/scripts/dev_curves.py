"""Dev scores by training step, several runs side by side, read from spaCy's training tables.

    python scripts/dev_curves.py metrics/mtl_base_run8_train_log.txt metrics/mtl_base_run9_train_log.txt --output metrics/dev_curves

Each input is `spacy train`'s table as printed (comment lines starting with
"#" are skipped). One Markdown table per score (default TOKEN_F, POS_ACC, UAS,
LAS: the columns the accuracy targets name), a row per evaluated step, a column
per run, and under each table the gain over each run's last evaluation
interval. Writes OUTPUT.md and OUTPUT.json ({run: {score: {step: value}}}) and
prints the Markdown.
"""
import argparse
import re
from pathlib import Path
from typing import Dict, List

from evaluate import write_report

DEFAULT_SCORES = ["TOKEN_F", "POS_ACC", "UAS", "LAS"]


def read_table(text: str) -> List[Dict[str, str]]:
    """spaCy's training table -> one {column: cell} per row. The rule of dashes
    under the header gives each column's extent, so headers with spaces
    ("LOSS TOK") or cut short ("LOSS TRANS...") are read whole."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rule_at = next((i for i, line in enumerate(lines) if re.fullmatch(r"[\s-]+", line) and "-" in line), None)
    if rule_at is None or rule_at == 0:
        raise ValueError("no training table (a header line, then a rule of dashes) in the text")
    spans = [m.span() for m in re.finditer(r"-+", lines[rule_at])]
    header = lines[rule_at - 1]
    names = [header[start:end].strip() for start, end in spans]
    rows = []
    for line in lines[rule_at + 1:]:
        cells = line.split()
        if len(cells) != len(names):
            raise ValueError(f"a row with {len(cells)} cells under {len(names)} columns: {line[:60]!r}")
        rows.append(dict(zip(names, cells)))
    return rows


def curves(tables: Dict[str, List[Dict[str, str]]], scores: List[str]) -> Dict[str, Dict[str, Dict[int, float]]]:
    """{run: rows} -> {run: {score: {step: value}}}; a score missing from a run's table is an error."""
    out = {}
    for run, rows in tables.items():
        missing = [s for s in scores if rows and s not in rows[0]]
        if missing:
            raise ValueError(f"{run}: no column {', '.join(missing)} (it has {', '.join(rows[0])})")
        out[run] = {s: {int(row["#"]): float(row[s]) for row in rows} for s in scores}
    return out


def markdown(data: Dict[str, Dict[str, Dict[int, float]]]) -> str:
    runs = list(data)
    scores = list(next(iter(data.values()))) if data else []
    parts = []
    for score in scores:
        steps = sorted({step for run in runs for step in data[run][score]})
        lines = [f"Dev {score} by step", "", "| step | " + " | ".join(f"`{run}`" for run in runs) + " |",
                 "|---:|" + "---:|" * len(runs)]
        for step in steps:
            cells = [f"{data[run][score][step]:.2f}" if step in data[run][score] else "–" for run in runs]
            lines.append(f"| {step:,} | " + " | ".join(cells) + " |")
        gains = []
        for run in runs:
            last = sorted(data[run][score])[-2:]
            if len(last) == 2:
                gain = data[run][score][last[1]] - data[run][score][last[0]]
                gains.append(f"`{run}` {gain:+.2f} ({last[0]:,} → {last[1]:,})")
        lines += ["", "Last interval: " + "; ".join(gains) + "."] if gains else []
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+", type=Path, help="spacy train tables as printed (e.g. metrics/*_train_log.txt)")
    parser.add_argument("--output", type=Path, required=True, help="report path without suffix")
    parser.add_argument("--score", action="append", dest="scores", help=f"a column to show (default {DEFAULT_SCORES})")
    args = parser.parse_args()
    tables = {path.name.removesuffix("_train_log.txt").removesuffix(".txt"): read_table(path.read_text())
              for path in args.logs}
    data = curves(tables, args.scores or DEFAULT_SCORES)
    print(write_report(data, args.output, render=markdown))


if __name__ == "__main__":
    main()
