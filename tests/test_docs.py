"""The README's and project/EXPERIMENTS.md's tables are reports copied in by
project/scripts/update_readme.py, never typed: copying every report in again
(``replace_block``, what the script does) must leave each document unchanged."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "project" / "EXPERIMENTS.md"]
sys.path.insert(0, str(ROOT / "project" / "scripts"))
from update_readme import replace_block  # noqa: E402


def markers(text: str, which: str):
    return re.findall(rf"^<!-- metrics:(\S+) {which} -->$", text, re.M)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_table_is_its_report(doc):
    text = doc.read_text(encoding="utf8")
    names = markers(text, "start")
    assert names, f"{doc.name} has no metrics blocks"
    for name in names:
        report = ROOT / "project" / "metrics" / f"{name}.md"
        assert report.exists(), f"{doc.name}: block {name!r} has no report {report.relative_to(ROOT)}"
        assert replace_block(text, name, report.read_text(encoding="utf8")) == text, (
            f"{doc.name}: block {name!r} differs from {report.relative_to(ROOT)}; "
            f"copy it in with project/scripts/update_readme.py")


def test_each_report_is_copied_once():
    names = [name for doc in DOCS for name in markers(doc.read_text(encoding="utf8"), "start")]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


def test_start_and_end_markers_pair_up():
    for doc in DOCS:
        text = doc.read_text(encoding="utf8")
        assert markers(text, "start") == markers(text, "end"), f"{doc.name}: unpaired metrics markers"
