"""evaluate.py's reports side by side: the test-score rows that differ between them.

    python scripts/compare_reports.py metrics/mtl_base_untuned.json metrics/mtl_base.json --output metrics/mtl_base_tuning_test

Every number is read from the reports (the rows and their labels are evaluate.py's);
a row appears when its numbers differ between any two reports, and the rows that
are the same in all of them are named below the table. Writes OUTPUT.md and
OUTPUT.json (the rows) and prints the table.
"""
import argparse
import json
from pathlib import Path

from evaluate import SCORE_ROWS, score_rows, write_report


def compare(reports: dict) -> dict:
    """{report name: evaluate report} -> {"differ": [[label, value, ...]], "same": [label, ...]}."""
    columns = [dict(score_rows(report["test"])) for report in reports.values()]
    differ, same = [], []
    for label in (label for label, _, _ in SCORE_ROWS if any(label in column for column in columns)):
        values = [column.get(label, "–") for column in columns]
        if len(set(values)) > 1:
            differ.append([label, *values])
        else:
            same.append(label)
    return {"reports": list(reports), "differ": differ, "same": same}


def markdown(rows: dict) -> str:
    lines = ["| test score | " + " | ".join(f"`{name}`" for name in rows["reports"]) + " |",
             "|---|" + "---|" * len(rows["reports"])]
    lines += ["| " + " | ".join(row) + " |" for row in rows["differ"]]
    if rows["same"]:
        lines += ["", "The same in every report: " + "; ".join(rows["same"]) + "."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", type=Path, nargs="+")
    parser.add_argument("--output", type=Path, required=True, help="path without suffix")
    args = parser.parse_args()
    rows = compare({path.stem: json.loads(path.read_text()) for path in args.reports})
    print(write_report(rows, args.output, markdown))


if __name__ == "__main__":
    main()
