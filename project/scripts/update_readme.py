"""Copy generated Markdown reports into a document between their markers.

    python project/scripts/update_readme.py README.md project/metrics/mtl_base_run19.md ...
    python project/scripts/update_readme.py project/EXPERIMENTS.md project/metrics/gsdsimp.md ...

For every report NAME.md, the document's block between
``<!-- metrics:NAME start -->`` and ``<!-- metrics:NAME end -->`` is replaced
(tests/test_docs.py checks that every block equals its report).
"""
import re
import sys
from pathlib import Path


def replace_block(readme: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- metrics:{re.escape(name)} start -->\n).*?(<!-- metrics:{re.escape(name)} end -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"no block for {name!r}: add its start and end markers first")
    return pattern.sub(lambda m: m.group(1) + body.rstrip() + "\n" + m.group(2), readme)


def main(readme_path: str, *reports: str) -> None:
    readme = Path(readme_path).read_text(encoding="utf8")
    for report in map(Path, reports):
        readme = replace_block(readme, report.stem, report.read_text(encoding="utf8"))
    Path(readme_path).write_text(readme, encoding="utf8")


if __name__ == "__main__":
    main(*sys.argv[1:])
