"""The alternatives on the same GSDSimp test set, scored by the same code.

* jieba (default dictionary, HMM on): word segmentation only.
* spaCy's own Chinese pipeline: `spacy init config --lang zh --pipeline
  tagger,morphologizer,parser --optimize efficiency` (the CNN tok2vec), jieba as
  its segmenter, trained by `spacy train` on the same GSDSimp train/dev files.
* the same with `--optimize accuracy --gpu` (spacy-transformers), its encoder
  set to the one spacy_mtl uses (`--encoder`, default the converted e5-small).

    python scripts/baselines.py corpus/ud_gsdsimp-train.spacy corpus/ud_gsdsimp-dev.spacy \
        corpus/ud_gsdsimp-test.spacy metrics/baselines [--max-steps 2000] [--trf-steps 600] \
        [--systems jieba,cnn,trf] [--compare metrics/zh_mtl_full.json]

Writes NAME.json and NAME.md: one row per system, with spacy_mtl's rows taken
from the reports named by --compare (measured by evaluate.py on this machine).
Rows of systems not rerun (`--systems`) are kept from an existing NAME.json.
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, write_report  # noqa: E402

CNN = "spaCy CNN (efficiency config, jieba words)"
TRF = "spaCy transformer (accuracy config, same encoder, jieba words)"
KEYS = ("token_f", "pos_acc", "tag_acc", "morph_acc", "uas", "las")


def _scores(preds, refs) -> dict:
    from spacy.training import Example

    from spacy_mtl.scoring import score_tokenization, score_words

    examples = [Example(p, r) for p, r in zip(preds, refs)]
    scores = score_tokenization(examples)
    scores.update(score_words(examples, ["pos", "tag", "morph"], deps=True))
    return {k: scores.get(k) for k in KEYS}


def _timed(fn, runs: int):
    seconds = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t)
    return out, statistics.median(seconds)


def jieba_row(refs, runs: int) -> dict:
    import jieba
    from spacy.tokens import Doc

    jieba.setLogLevel(60)
    jieba.initialize()
    texts = [r.text for r in refs]

    def segment():
        return [list(jieba.cut(t, HMM=True)) for t in texts]

    words, seconds = _timed(segment, runs)
    preds = [Doc(refs[0].vocab, words=ws, spaces=[False] * len(ws)) for ws in words]
    assert all(p.text == t for p, t in zip(preds, texts))
    row = _scores(preds, refs)
    row.update({k: None for k in KEYS if k != "token_f"})
    row["words_per_second"] = sum(len(r) for r in refs) / seconds
    return row


def spacy_row(train: Path, dev: Path, refs, out: Path, max_steps: int, runs: int, encoder: Path = None,
              reuse: Optional[dict] = None) -> dict:
    """Train spaCy's own zh pipeline (CNN, or transformer when `encoder` is given) and score it.
    With `reuse` (that system's earlier row), a model already trained in `out` is only
    scored and timed again, its training time taken from the earlier row."""
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.cli.train import train as spacy_train

    optimize = "efficiency" if encoder is None else "accuracy"
    config = init_config(lang="zh", pipeline=["tagger", "morphologizer", "parser"], optimize=optimize,
                         gpu=encoder is not None)
    config["nlp"]["tokenizer"]["segmenter"] = "jieba"
    config["training"]["max_steps"] = max_steps
    config["training"]["eval_frequency"] = 500 if encoder is None else 200
    if encoder is not None:
        config["components"]["transformer"]["model"]["name"] = str(encoder.resolve())
        # The schedule spans the run actually made, as spacy_mtl's own does.
        config["training"]["optimizer"]["learn_rate"]["total_steps"] = max_steps
    config["paths"]["train"], config["paths"]["dev"] = str(train), str(dev)
    out.mkdir(parents=True, exist_ok=True)
    if reuse and (out / "model" / "model-best").exists():
        train_seconds, max_steps = reuse["train_seconds"], reuse["max_steps"]
    else:
        config.to_disk(out / "config.cfg")
        start = time.time()
        spacy_train(out / "config.cfg", out / "model", use_gpu=-1)
        train_seconds = time.time() - start
    nlp = spacy.load(out / "model" / "model-best")
    texts = [r.text for r in refs]
    preds, seconds = _timed(lambda: list(nlp.pipe(texts, batch_size=32)), runs)
    row = _scores(preds, refs)
    row.update({"words_per_second": sum(len(p) for p in preds) / seconds, "train_seconds": train_seconds,
                "max_steps": max_steps})
    return row


def markdown(report: dict) -> str:
    def cell(row, key):
        return "–" if row.get(key) is None else f"{100 * row[key]:.2f}"

    lines = [f"GSDSimp test (official, 500 sentences), predicted segmentation, same scorer for every row; "
             f"machine: {report['machine']}.", "",
             "| system | tokens F | UPOS | XPOS | UFeats | UAS | LAS | words/s | training here |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, row in report["systems"].items():
        speed = f"{row['words_per_second']:.0f}" if row.get("words_per_second") else "–"
        trained = (f"{row['max_steps']} steps, {row['train_seconds'] / 60:.0f} min" if row.get("train_seconds")
                   else "–")
        label = f"{name} (earlier run)" if row.get("earlier_run") else name
        lines.append(f"| {label} | " + " | ".join(cell(row, k) for k in KEYS) + f" | {speed} | {trained} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", type=Path)
    parser.add_argument("dev", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("output", type=Path, help="report path without suffix")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--trf-steps", type=int, default=600, help="steps for the transformer config")
    parser.add_argument("--encoder", type=Path, default=Path("encoders/e5-small"))
    parser.add_argument("--systems", default="cnn,trf,jieba", help="which to (re)run: cnn,trf,jieba")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse-trained", action="store_true",
                        help="score and time models already trained under --work again instead of training")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="evaluate.py reports to list beside")
    parser.add_argument("--work", type=Path, default=Path("training/baselines"))
    args = parser.parse_args()
    import jieba
    import spacy
    from spacy.tokens import DocBin

    refs = list(DocBin().from_disk(args.test).get_docs(spacy.blank("zh").vocab))
    systems = {}
    for path in args.compare:
        if not path.exists():  # e.g. a report of a model this checkout never built
            print(f"(no {path}: its row is left out)")
            continue
        report = json.loads(path.read_text())
        row = {k: report["test"].get(k) for k in KEYS}
        if report.get("speed"):
            row["words_per_second"] = report["speed"]["words"] / report["speed"]["seconds_median"]
        systems[f"spacy_mtl ({path.stem})"] = row
    previous = args.output.with_suffix(".json")
    kept = json.loads(previous.read_text())["systems"] if previous.exists() else {}
    names = {"cnn": CNN, "trf": TRF, "jieba": f"jieba {jieba.__version__} (segmentation only)"}
    wanted = set(args.systems.split(","))
    for key, name in names.items():
        if key not in wanted:
            if name in kept:  # measured by an earlier run of this script; the table says so
                systems[name] = dict(kept[name], earlier_run=True)
        elif key == "cnn":
            systems[name] = spacy_row(args.train, args.dev, refs, args.work, args.max_steps, args.runs,
                                      reuse=kept.get(name) if args.reuse_trained else None)
        elif key == "trf":
            systems[name] = spacy_row(args.train, args.dev, refs, args.work / "trf", args.trf_steps, args.runs,
                                      encoder=args.encoder, reuse=kept.get(name) if args.reuse_trained else None)
        else:
            systems[name] = jieba_row(refs, args.runs)
    report = {"machine": machine(), "systems": systems}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
