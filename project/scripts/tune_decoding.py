"""Tune the heads' decoding knobs on dev sets, and save the pipeline with them.

    python scripts/tune_decoding.py MODEL OUTPUT_MODEL metrics/NAME --dev srl=corpus/ud_gsdsimp-dev.spacy \
        --dev amr=corpus/amr-dev.spacy --dev con=corpus/con-dev.spacy ... [--limit 0]
    python scripts/tune_decoding.py --render metrics/NAME.json   # Markdown again from the JSON
    (--set KEY=VALUE: a config override for loading MODEL, kept in OUTPUT_MODEL's config)

The knobs change what a head keeps from its scores, not the scores:
srl's ``no_predicate_penalty`` (taken off every word's "no predicate" score),
amr's ``no_concept_penalty`` (off every word's "no concept" score), con's
``span_threshold`` (a span of the best binary tree is a constituent above it),
sdp's arc ``threshold`` (a probability) and each NER head's ``o_penalty`` (off
every word's O-tag score). These heads learn from data where "nothing here"
dominates, and with few training steps they keep too little: recall far
below precision.

For each head named by --dev, its dev texts go once through the components
before it (srl and NER on raw text, amr, con and sdp on the corpus's own
words, as evaluate.py scores them); then the head alone decodes them at every
value of its grid and is scored as evaluate.py scores it. The value with the
best main score (srl_arg_f, amr_smatch_f, con_f, sdp_lf, the entity F) is
kept, the one nearest the default on a tie. The test sets are never read.
Writes OUTPUT_MODEL (the knobs are in each component's cfg, saved with it)
and NAME.json / NAME.md: every value's dev scores.
"""
import argparse
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, parse_overrides, render_again, write_report  # noqa: E402

def halves(low: int, high: int) -> List[float]:
    return [x / 2 for x in range(2 * low, 2 * high + 1)]


class Knob(NamedTuple):
    name: str
    grid: List[float]
    default: float
    gold_words: bool  # scored on the corpus's own words (else on raw text)


# by the component's factory
KNOBS = {
    "mtl_srl": Knob("no_predicate_penalty", halves(0, 8), 0.0, False),
    "mtl_amr": Knob("no_concept_penalty", halves(0, 8), 0.0, True),
    "mtl_con": Knob("span_threshold", halves(-4, 1), 0.0, True),
    "mtl_sdp": Knob("threshold", [x / 20 for x in range(6, 15)], 0.5, True),
    "mtl_ner": Knob("o_penalty", halves(-2, 3), 0.0, False),
}


def dev_docs(nlp, head: str, path: Path, gold_words: bool, limit: int):
    """(docs analysed by the components before ``head``, gold docs)."""
    from spacy.tokens import DocBin

    from spacy_mtl.corpora.readers import analyse_gold_words

    gold = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    gold = gold[:limit] if limit else gold
    before = nlp.pipe_names[: nlp.pipe_names.index(head)]
    if gold_words:  # as evaluate.py scores the head: the corpus's words kept (tok skipped)
        return analyse_gold_words(nlp, gold, enable=before), gold
    with nlp.select_pipes(enable=before):
        return list(nlp.pipe((r.text for r in gold), batch_size=32)), gold


def head_scores(component, weights: Dict[str, float], examples) -> Tuple[str, Dict]:
    """(the main score's key, every score) of one head, as evaluate.py scores it;
    ``weights``: its factory's default score weights (the main score weighs most)."""
    from spacy_mtl.pipeline.ner import CRFEntityRecognizer, score_entities

    if isinstance(component, CRFEntityRecognizer):
        key = component.cfg["spans_key"]
        scores = score_entities(examples, spans_key=key, layer=component.cfg["layer"])
        return (f"spans_{key}_f" if key else "ents_f"), scores
    return max(weights, key=lambda k: weights[k] or 0.0), component.scorer(examples)


def tune_head(nlp, head: str, path: Path, limit: int) -> Dict:
    from spacy.training import Example

    component, meta = nlp.get_pipe(head), nlp.get_pipe_meta(head)
    knob = KNOBS[meta.factory]
    docs, gold = dev_docs(nlp, head, path, knob.gold_words, limit)
    rows: List[Dict] = []
    for value in knob.grid:
        component.cfg[knob.name] = value
        predicted = list(component.pipe(docs))  # (each run replaces the head's annotations)
        main, scores = head_scores(component, meta.default_score_weights, [Example(p, g) for p, g in zip(predicted, gold)])
        rows.append({"value": value, **{k: v for k, v in scores.items() if isinstance(v, float)}})
    best = max(rows, key=lambda r: (r.get(main) or 0.0, -abs(r["value"] - knob.default)))
    component.cfg[knob.name] = best["value"]
    default_row = next(r for r in rows if r["value"] == knob.default)
    return {"knob": knob.name, "main": main, "dev": str(path), "docs": len(gold), "default": knob.default,
            "chosen": best["value"], "default_score": default_row.get(main), "chosen_score": best.get(main), "rows": rows}


def markdown(report: dict) -> str:
    loaded = "".join(f", `{k} = {v}`" for k, v in report.get("overrides", {}).items())
    lines = [f"Decoding knobs tuned on dev for `{report['model']}`{loaded} (saved to `{report['output']}`); "
             f"machine: {report['machine']}.", ""]
    for head, result in report["heads"].items():
        main = result["main"]
        prefix = main.rsplit("_", 1)[0]
        lines += [f"**{head}**, `{result['knob']}` on {result['dev']} ({result['docs']} docs): {main} "
                  f"{100 * (result['default_score'] or 0):.2f} at {result.get('default', 0.0):g} → "
                  f"{100 * (result['chosen_score'] or 0):.2f} "
                  f"at {result['chosen']:g}", "",
                  f"| {result['knob']} | {prefix}_p | {prefix}_r | {main} |", "|---|---|---|---|"]
        for row in result["rows"]:
            mark = " (chosen)" if row["value"] == result["chosen"] else ""
            cells = [f"{100 * row[k]:.2f}" if row.get(k) is not None else "–" for k in (f"{prefix}_p", f"{prefix}_r", main)]
            lines.append(f"| {row['value']:g}{mark} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    if render_again(sys.argv, markdown):
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path)
    parser.add_argument("output_model", type=Path)
    parser.add_argument("report", type=Path, help="report path without suffix")
    parser.add_argument("--dev", action="append", default=[], metavar="HEAD=FILE",
                        help="a head to tune and its dev .spacy file (repeat); heads the pipeline lacks are skipped")
    parser.add_argument("--limit", type=int, default=0, help=">0: only this many docs of each dev set")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="config override for loading the pipeline (repeatable; saved with OUTPUT_MODEL), "
                             "e.g. components.ner_weibo.units=characters")
    args = parser.parse_args()
    import spacy

    overrides = parse_overrides(args.overrides)
    nlp = spacy.load(args.model, config=overrides)
    heads = {}
    for item in args.dev:
        head, _, path = item.partition("=")
        if head in nlp.pipe_names and Path(path).exists():
            heads[head] = tune_head(nlp, head, Path(path), args.limit)
            print(f"{head}: {heads[head]['knob']} = {heads[head]['chosen']:g}", flush=True)
    nlp.to_disk(args.output_model)
    report = {"model": str(args.model), "output": str(args.output_model), "machine": machine(), "heads": heads}
    if overrides:
        report["overrides"] = overrides
    print(write_report(report, args.report, markdown))


if __name__ == "__main__":
    main()
