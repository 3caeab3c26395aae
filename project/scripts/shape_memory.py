"""Resident memory and encoder time as new pass shapes arrive, float32 against bf16.

    python scripts/shape_memory.py MODEL TEST.spacy metrics/NAME [--batch-sizes 32,7,13,29,3,17,23,11,5,31] [--all-components]

oneDNN compiles (and keeps, with its buffers) a kernel for every matrix shape
it meets in bf16; each nlp.pipe batch size gives the encoder passes of other
shapes. Each variant runs in a fresh process: the pipeline's encoder alone
(with --all-components: the whole pipeline, bf16 switched on by
ml.inference.use_cpu_bfloat16) over TEST's texts once per batch size, in the order given, printing the
resident memory (RSS) after each and the time each took. Variants: float32;
bf16 with every pass shape as it comes (PASS_SHAPE_STEP_BF16 = (1, 1)); bf16
with the shapes rounded up as the encoder does (its PASS_SHAPE_STEP_BF16).
Writes NAME.json and NAME.md.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, model_test_output_parser, render_again, write_report  # noqa: E402

SNIPPET = """
import json, sys, time
import spacy
from spacy.tokens import DocBin
from spacy_mtl.ml import inference
from spacy_mtl.ml.models import char_transformer
model, test, bf16, step, sizes, every = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4]), json.loads(sys.argv[5]), sys.argv[6] == "1"
if step:
    char_transformer.PASS_SHAPE_STEP_BF16 = tuple(step)
nlp = spacy.load(model)
inference.use_cpu_bfloat16(nlp, bf16)
texts = [d.text for d in DocBin().from_disk(test).get_docs(nlp.vocab)]
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
rows = []
with nlp.select_pipes(enable=nlp.pipe_names if every else ["transformer"]):
    for size in sizes:
        start = time.perf_counter()
        list(nlp.pipe(texts, batch_size=size))
        rows.append({"batch_size": size, "seconds": time.perf_counter() - start, "rss_mb": rss_mb()})
print(json.dumps({"shape_step": list(char_transformer.PASS_SHAPE_STEP_BF16) if bf16 else None, "rows": rows}))
"""


def markdown(report: dict) -> str:
    variants = report["variants"]
    sizes = [r["batch_size"] for r in next(iter(variants.values()))["rows"]]
    what = "The whole pipeline" if report.get("all_components") else "The encoder alone"
    lines = [f"`{report['command']}`", "", f"Machine: {report['machine']}. {what} over {report['test']}, "
             "once per nlp.pipe batch size in this order; resident memory after each, and its time.", "",
             "| variant | " + " | ".join(f"batch {s}" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name, v in variants.items():
        lines.append(f"| {name} | " + " | ".join(f"{r['rss_mb']:,.0f} MB, {r['seconds']:.2f} s" for r in v["rows"]) + " |")
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = model_test_output_parser(__doc__)
    parser.add_argument("--batch-sizes", default="32,7,13,29,3,17,23,11,5,31")
    parser.add_argument("--all-components", action="store_true", help="run the whole pipeline, not the encoder alone")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    variants = {}
    for name, bf16, step in (("float32", "0", None), ("bf16, every shape as it comes", "1", [1, 1]),
                             ("bf16, shapes rounded up (the default)", "1", None)):
        out = subprocess.run([sys.executable, "-c", SNIPPET, str(args.model), str(args.test), bf16, json.dumps(step),
                              json.dumps(sizes), "1" if args.all_components else "0"], check=True, capture_output=True, text=True)
        variants[name] = json.loads(out.stdout.strip().splitlines()[-1])
        print(name, [round(r["rss_mb"]) for r in variants[name]["rows"]], flush=True)
    report = {"command": " ".join(["python", "scripts/shape_memory.py", *sys.argv[1:]]), "machine": machine(),
              "test": str(args.test), "all_components": args.all_components, "variants": variants}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
