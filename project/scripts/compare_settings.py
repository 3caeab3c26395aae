"""One trained pipeline loaded with different settings, scored and timed side by side.

    python scripts/compare_settings.py MODEL TEST.spacy metrics/NAME \\
        --variant "float32:" --variant "bfloat16:system.cpu_bfloat16=true" \\
        [--rounds 2] [--runs 3] [evaluate.py's --sdp-test/--con-test/--amr-test/--ner-test]

A variant is NAME:KEY=VALUE;... (config overrides for spacy.load, spaCy's dot
notation, JSON values; none: the pipeline as saved), or NAME@OTHER_MODEL:...
for another saved pipeline in MODEL's place (e.g. the same training's
model-best before `tune`: settings a component keeps in its saved cfg, such
as the decoding knobs, are restored over config overrides on load). Every variant is scored
with evaluate.py's scorer on the same test sets, and its analyses of TEST are
compared with the first variant's (how many docs come out identical). Speed is
evaluate.py's measurement (a fresh process per measurement, full pipeline
against encoder only, median of --runs), the variants interleaved round after
round so that drift on a noisy machine hits all alike. Writes NAME.json and
NAME.md; `compare_settings.py --render metrics/NAME.json` writes the Markdown
again from the JSON.
"""
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import (machine, measure_speed, model_test_output_parser, parse_overrides,  # noqa: E402
                      render_again, score_model, write_report)

SCORES = [("token_f", "tokens F"), ("pos_acc", "UPOS"), ("tag_acc", "XPOS"), ("morph_acc", "UFeats"),
          ("lemma_acc", "lemma"), ("uas", "UAS"), ("las", "LAS"), ("ents_f", "UNER F"),
          ("spans_ner_weibo_f", "Weibo F"), ("spans_ner_resume_f", "Resume F"), ("srl_arg_f", "SRL arg F"),
          ("sdp_lf", "SDP LF"), ("con_f", "con F"), ("amr_smatch_f", "Smatch")]


def parse_variant(text: str, model: Path):
    """"NAME[@MODEL]:KEY=VALUE;..." -> (NAME, (the model, the overrides))."""
    head, _, pairs = text.partition(":")
    name, _, other = head.partition("@")
    if not name:
        raise SystemExit(f"--variant takes NAME[@MODEL]:KEY=VALUE;..., got {text!r}")
    return name, (Path(other) if other else model, parse_overrides(filter(None, pairs.split(";"))))


def analyses(model: Path, test: Path, overrides: Dict[str, Any]) -> List[str]:
    """Every test doc's full analysis (doc._.to_dict()) as JSON, under these settings."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(model, config=overrides)
    texts = [d.text for d in DocBin().from_disk(test).get_docs(nlp.vocab)]
    return [json.dumps(doc._.to_dict(), sort_keys=True, ensure_ascii=False) for doc in nlp.pipe(texts, batch_size=32)]


def speed_summary(rounds: List[dict]) -> dict:
    seconds = [r["seconds_median"] for r in rounds]
    encoder = [r["encoder_only_seconds_median"] for r in rounds]
    return {"words_per_second": [r["words"] / s for r, s in zip(rounds, seconds)],
            "ratio": [s / e for s, e in zip(seconds, encoder)], "seconds": seconds, "encoder_only_seconds": encoder,
            "above_encoder_seconds": [s - e for s, e in zip(seconds, encoder)],
            "peak_rss_mb": [r["peak_rss_mb"] for r in rounds],
            "per_component_seconds": [r["per_component_seconds"] for r in rounds]}


def _span(values: List[float], fmt: str, unit: str = "") -> str:
    """The rounds' values as one number where they agree once rounded, else low–high."""
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return (low if low == high else f"{low}–{high}") + unit


def markdown(report: dict) -> str:
    rows = report["variants"]
    scores = [(k, name) for k, name in SCORES if all(r["test"].get(k) is not None for r in rows.values())]
    first = next(iter(rows))
    lines = [f"`{report['command']}`", "", f"Machine: {report['machine']}. Test: {report['test_file']} "
             f"({report['docs']} docs). Speed: {report['rounds']} rounds of evaluate.py's measurement "
             f"(median of {report['runs']} runs each), the variants interleaved; ranges over the rounds.", "",
             "| variant | settings | " + " | ".join(name for _, name in scores)
             + f" | docs analysed as by {first} |", "|---|---|" + "---|" * len(scores) + "---|"]
    for name, r in rows.items():
        settings = ", ".join(([f"`{r['model']}`"] if r.get("model") else [])
                             + [f"`{k}={json.dumps(v)}`" for k, v in r["overrides"].items()]) or "as saved"
        lines.append(f"| {name} | {settings} | " + " | ".join(f"{100 * r['test'][k]:.2f}" for k, _ in scores)
                     + f" | {r['identical_docs']} of {report['docs']} |")
    lines += ["", "| variant | words/s | full / encoder only | encoder only | above the encoder | peak RSS |",
              "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        sp = r["speed"]
        lines.append(f"| {name} | {_span(sp['words_per_second'], '{:,.0f}')} | {_span(sp['ratio'], '{:.2f}', 'x')} | "
                     f"{_span(sp['encoder_only_seconds'], '{:.2f}', ' s')} | "
                     f"{_span(sp['above_encoder_seconds'], '{:.2f}', ' s')} | {_span(sp['peak_rss_mb'], '{:,.0f}', ' MB')} |")
    lines += ["", "Each component alone, one pass over the test texts (median over the rounds):", "",
              "| variant | " + " | ".join(next(iter(rows.values()))["speed"]["per_component_seconds"][0]) + " |",
              "|---|" + "---|" * len(next(iter(rows.values()))["speed"]["per_component_seconds"][0])]
    for name, r in rows.items():
        parts = r["speed"]["per_component_seconds"]
        lines.append(f"| {name} | " + " | ".join(f"{statistics.median(p[c] for p in parts):.2f} s" for c in parts[0]) + " |")
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = model_test_output_parser(__doc__)
    parser.add_argument("--variant", action="append", required=True, help="NAME[@OTHER_MODEL]:KEY=VALUE;...")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sdp-test", type=Path, default=None)
    parser.add_argument("--con-test", type=Path, default=None)
    parser.add_argument("--amr-test", type=Path, default=None)
    parser.add_argument("--ner-test", action="append", default=[], metavar="HEAD=PATH")
    args = parser.parse_args()
    variants = dict(parse_variant(v, args.model) for v in args.variant)
    ner_tests = {k: Path(v) for k, v in (item.split("=", 1) for item in args.ner_test)}
    # timed first, while this process holds no pipeline: a child starts with its
    # parent's resident pages, and its peak RSS would count them
    speeds: Dict[str, List[dict]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, (model, overrides) in variants.items():
            speed = measure_speed(model, args.test, args.runs, overrides)
            speeds[name].append(speed)
            print(f"{name} round {r}: {speed['words'] / speed['seconds_median']:,.0f} words/s, "
                  f"{speed['seconds_median'] / speed['encoder_only_seconds_median']:.2f}x the encoder's "
                  f"{speed['encoder_only_seconds_median']:.2f} s, peak RSS {speed['peak_rss_mb']:,.0f} MB", flush=True)
    rows: Dict[str, dict] = {}
    reference = None
    for name, (model, overrides) in variants.items():
        docs = analyses(model, args.test, overrides)
        reference = docs if reference is None else reference
        rows[name] = {"overrides": overrides, "identical_docs": sum(a == b for a, b in zip(docs, reference)),
                      "test": score_model(model, args.test, args.sdp_test, args.con_test, args.amr_test,
                                          ner_tests, overrides)}
        if model != args.model:
            rows[name]["model"] = str(model)
        print(f"{name}: scored; {rows[name]['identical_docs']} of {len(docs)} docs as the first variant", flush=True)
    for name in variants:
        rows[name]["speed"] = speed_summary(speeds[name])
    report = {"command": shlex.join(["python", "scripts/compare_settings.py", *sys.argv[1:]]), "machine": machine(),
              "test_file": str(args.test), "docs": len(reference or []), "rounds": args.rounds, "runs": args.runs,
              "variants": rows}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
