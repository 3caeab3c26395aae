"""The README's and project/EXPERIMENTS.md's tables are reports copied in by
project/scripts/update_readme.py, never typed: every block between
``<!-- metrics:NAME start -->`` and its end marker must equal
project/metrics/NAME.md as that script would copy it."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "project" / "EXPERIMENTS.md"]
BLOCK = re.compile(r"^<!-- metrics:(\S+) start -->\n(.*?)^<!-- metrics:(\S+) end -->$", re.S | re.M)


def blocks(doc: Path):
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(doc.read_text(encoding="utf8"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_table_is_its_report(doc):
    found = blocks(doc)
    assert found, f"{doc.name} has no metrics blocks"
    for name, body, end_name in found:
        assert end_name == name, f"{doc.name}: block {name!r} closed by {end_name!r}"
        report = ROOT / "project" / "metrics" / f"{name}.md"
        assert report.exists(), f"{doc.name}: block {name!r} has no report {report.relative_to(ROOT)}"
        assert body == report.read_text(encoding="utf8").rstrip() + "\n", (
            f"{doc.name}: block {name!r} differs from {report.relative_to(ROOT)}; "
            f"copy it in with project/scripts/update_readme.py")


def test_each_report_is_copied_once():
    names = [name for doc in DOCS for name, _, _ in blocks(doc)]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_start_and_end_markers_pair_up():
    for doc in DOCS:
        text = doc.read_text(encoding="utf8")
        starts = re.findall(r"^<!-- metrics:(\S+) start -->$", text, re.M)
        ends = re.findall(r"^<!-- metrics:(\S+) end -->$", text, re.M)
        assert starts == ends, f"{doc.name}: unpaired metrics markers"
