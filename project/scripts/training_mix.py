"""What one training epoch is made of: docs, words and characters from each corpus,
for the sampling weights given (MultiCorpus's quotas, ``sample_sizes``).

    python scripts/training_mix.py configs/zh_mtl_base.cfg metrics/training_mix --weights ud=1 --weights ud=3

spaCy's batcher counts words, and the NER corpora's words are single characters,
so a corpus's share of the words a step sees is not its share of the docs (nor
of the characters the encoder reads); this prints all three. Corpus paths are
the config's [corpora.train.paths] (relative to the project folder). Writes
OUTPUT.json and OUTPUT.md and prints the table.
"""
import argparse
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.util import load_config

from evaluate import write_report
from spacy_mtl.corpora.readers import sample_sizes


def corpus_sizes(paths: dict) -> dict:
    """{corpus: {"docs", "words", "chars"}} of each .spacy file."""
    vocab = spacy.blank("xx").vocab
    sizes = {}
    for name, path in paths.items():
        docs = list(DocBin().from_disk(path).get_docs(vocab))
        sizes[name] = {"docs": len(docs), "words": sum(len(d) for d in docs),
                       "chars": sum(len(d.text.replace(" ", "")) for d in docs)}
    return sizes


def epoch_mix(sizes: dict, exponent: float, weights: dict) -> dict:
    """{corpus: {"docs", "words", "chars"}} that one epoch takes, each as (count, share)."""
    quota = sample_sizes({name: s["docs"] for name, s in sizes.items()}, exponent, weights)
    counts = {name: {unit: quota[name] * s[unit] / s["docs"] for unit in ("docs", "words", "chars")}
              for name, s in sizes.items()}
    totals = {unit: sum(c[unit] for c in counts.values()) for unit in ("docs", "words", "chars")}
    return {name: {unit: [round(c[unit]), c[unit] / totals[unit]] for unit in c} for name, c in counts.items()}


def parse_weights(text: str) -> dict:
    """"ud=3,weibo=0.5" -> {"ud": 3.0, "weibo": 0.5}."""
    weights = {}
    for item in filter(None, text.split(",")):
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--weights takes NAME=NUMBER[,NAME=NUMBER], got {item!r}")
        weights[name.strip()] = float(value)
    return weights


def markdown(report: dict) -> str:
    lines = [f"Corpora: {report['config']} [corpora.train.paths]; exponent {report['exponent']}. "
             "Each cell: what one epoch takes from the corpus, and its share of the epoch.", ""]
    for setting in report["settings"]:
        lines += [f"**weights {setting['weights'] or '1 each'}**", "",
                  "| corpus | docs in the file | docs | words | characters |", "|---|---:|---:|---:|---:|"]
        for name, mix in setting["mix"].items():
            cells = [f"{count:,} ({share:.1%})" for count, share in (mix[u] for u in ("docs", "words", "chars"))]
            lines.append(f"| {name} | {report['sizes'][name]['docs']:,} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("output", type=Path, help="path without suffix")
    parser.add_argument("--weights", action="append", default=[], help="NAME=NUMBER[,…], one setting each time")
    args = parser.parse_args()
    train = load_config(args.config, interpolate=True)["corpora"]["train"]
    sizes = corpus_sizes({name: Path(path) for name, path in train["paths"].items() if path})
    settings = [{"weights": parse_weights(text)} for text in (args.weights or [""])]
    for setting in settings:
        setting["mix"] = epoch_mix(sizes, train["exponent"], setting["weights"])
    report = {"config": str(args.config), "exponent": train["exponent"], "sizes": sizes, "settings": settings}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
