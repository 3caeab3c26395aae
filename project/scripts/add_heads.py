"""Train new heads on a trained pipeline whose encoder and heads stay frozen.

    python scripts/add_heads.py BASE_MODEL OUTPUT --heads ner_weibo,ner_resume \\
        [--config configs/zh_mtl_base.cfg] [--max-steps 400] [--paths.train_weibo …]

Every component of BASE_MODEL is sourced and frozen; the new heads take their
blocks from the project config and learn from its corpora for those heads.
The encoder runs forward only (it annotates, as does `tok`, so the heads train
on the pipeline's own segmentation, as they will be used), so this costs a
fraction of a full run: the way to add a label set to a model without a GPU,
and without changing anything the model already predicts.
"""
import argparse
import copy
from pathlib import Path

# which corpus (config [paths] prefix train_/dev_) feeds which head
HEAD_CORPUS = {"ner_weibo": "weibo", "ner_resume": "resume", "ner": "ud", "srl": "ud", "sdp": "sdp",
               "con": "con", "amr": "amr"}


def build_config(base: Path, project_config: Path, heads: list, max_steps: int, overrides: dict):
    import spacy
    from spacy.util import load_config

    full = load_config(project_config, overrides=overrides, interpolate=True)
    nlp = spacy.load(base)
    config = copy.deepcopy(nlp.config)
    existing = list(nlp.pipe_names)
    components = {name: {"source": str(base.resolve())} for name in existing}
    for head in heads:
        if head in existing:
            raise SystemExit(f"{base} already has a component named {head!r}")
        components[head] = copy.deepcopy(full["components"][head])
    config["components"] = components
    config["nlp"]["pipeline"] = existing + heads
    config["nlp"]["disabled"] = []
    corpora = {HEAD_CORPUS[h]: None for h in heads}
    for split in ("train", "dev"):
        reader = config["corpora"][split]
        reader["paths"] = {c: full["paths"][f"{split}_{c}"] for c in corpora}
        # Sampling weights may name corpora this run does not read (ud): keep the
        # ones it does, or the reader rightly rejects a weight for a missing corpus.
        if reader.get("weights"):
            reader["weights"] = {c: w for c, w in reader["weights"].items() if c in corpora}
    training = config["training"]
    training.update({"frozen_components": existing, "annotating_components": ["transformer", "tok"],
                     "max_steps": max_steps, "eval_frequency": max(max_steps // 4, 1), "max_epochs": 0})
    training["optimizer"]["learn_rate"]["total_steps"] = max_steps
    training["score_weights"] = {**{k: None for k in training["score_weights"]},
                                 **{f"spans_{h}_f" if full["components"][h].get("spans_key") else "ents_f":
                                    1.0 / len(heads) for h in heads}}
    config["initialize"]["after_init"]["scales"] = {h: full["initialize"]["after_init"]["scales"].get(h, 1.0)
                                                    for h in heads}
    return config


def keep_base_performance(base: Path, output: Path, heads: list) -> None:
    """The dev scores in meta.json: the base model's for its heads (the new dev
    corpora carry no gold for them, so spaCy writes 0 there), the new heads' own."""
    import srsly

    before = srsly.read_json(base / "meta.json").get("performance", {})
    for folder in ("model-best", "model-last"):
        path = output / folder / "meta.json"
        meta = srsly.read_json(path)
        new = {k: v for k, v in meta.get("performance", {}).items()
               if any(k.startswith((f"spans_{h}_", f"{h}_")) for h in heads)}
        meta["performance"] = {**before, **new}
        srsly.write_json(path, meta)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--heads", required=True, help="comma-separated component names from the project config")
    parser.add_argument("--config", type=Path, default=Path("configs/zh_mtl_base.cfg"))
    parser.add_argument("--max-steps", type=int, default=400)
    args, rest = parser.parse_known_args()
    from spacy.cli._util import parse_config_overrides
    from spacy.cli.train import train

    overrides = parse_config_overrides(rest)
    config = build_config(args.base, args.config, args.heads.split(","), args.max_steps, overrides)
    args.output.mkdir(parents=True, exist_ok=True)
    config.to_disk(args.output / "config.cfg")
    train(args.output / "config.cfg", args.output, use_gpu=-1)
    keep_base_performance(args.base, args.output, args.heads.split(","))


if __name__ == "__main__":
    main()
