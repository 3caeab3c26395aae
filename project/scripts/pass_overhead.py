"""Encoder-only time against pass_groups' per-pass overhead, in float32 and in bf16.

    python scripts/pass_overhead.py MODEL TEST.spacy metrics/NAME [--overheads 24,48,96,192,384] [--rounds 5]

pass_groups cuts a batch's windows into passes minimising padded pieces plus
OVERHEAD pieces per pass: the fixed cost of one more pass, in pieces. Under
bf16 a piece costs less and a pass's fixed cost does not, so the best
overhead differs. For each precision (a fresh process each, the pipeline
loaded with ``components.transformer.model.cpu_bfloat16`` false or true) the
encoder alone runs over TEST's texts (nlp.pipe, batch size 32, after a
64-sentence warm-up) once per overhead per round, the overheads interleaved;
medians over the rounds. Writes NAME.json and NAME.md.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate import machine, model_test_output_parser, render_again, write_report  # noqa: E402

SNIPPET = """
import json, statistics, sys, time
import spacy
from spacy.tokens import DocBin
from spacy_mtl.ml.models import char_transformer
model, test, bf16, overheads, rounds = sys.argv[1], sys.argv[2], sys.argv[3] == "1", json.loads(sys.argv[4]), int(sys.argv[5])
nlp = spacy.load(model, config={"components.transformer.model.cpu_bfloat16": bf16})
texts = [d.text for d in DocBin().from_disk(test).get_docs(nlp.vocab)]
seconds = {o: [] for o in overheads}
with nlp.select_pipes(enable=["transformer"]):
    list(nlp.pipe(texts[:64], batch_size=32))
    for _ in range(rounds):
        for o in overheads:
            char_transformer.PASS_OVERHEAD_PIECES = char_transformer.PASS_OVERHEAD_PIECES_BF16 = o
            start = time.perf_counter()
            list(nlp.pipe(texts, batch_size=32))
            seconds[o].append(time.perf_counter() - start)
print(json.dumps({str(o): statistics.median(s) for o, s in seconds.items()}))
"""


def markdown(report: dict) -> str:
    overheads = list(next(iter(report["seconds"].values())))
    lines = [f"`{report['command']}`", "", f"Machine: {report['machine']}. Encoder alone over {report['test']} "
             f"(nlp.pipe, batch size 32), median of {report['rounds']} rounds, the overheads interleaved.", "",
             "| precision | " + " | ".join(f"overhead {o}" for o in overheads) + " |",
             "|---|" + "---|" * len(overheads)]
    for precision, row in report["seconds"].items():
        best = min(row.values())
        lines.append(f"| {precision} | " + " | ".join(
            f"**{row[o]:.2f} s**" if row[o] == best else f"{row[o]:.2f} s" for o in overheads) + " |")
    return "\n".join(lines) + "\n"


def main():
    if render_again(sys.argv, markdown):
        return
    parser = model_test_output_parser(__doc__)
    parser.add_argument("--overheads", default="24,48,96,192,384")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    overheads = [int(o) for o in args.overheads.split(",")]
    seconds = {}
    for precision, flag in (("float32", "0"), ("bf16", "1")):
        out = subprocess.run([sys.executable, "-c", SNIPPET, str(args.model), str(args.test), flag,
                              json.dumps(overheads), str(args.rounds)], check=True, capture_output=True, text=True)
        seconds[precision] = json.loads(out.stdout.strip().splitlines()[-1])
    report = {"command": " ".join(["python", "scripts/pass_overhead.py", *sys.argv[1:]]), "machine": machine(),
              "test": str(args.test), "rounds": args.rounds, "seconds": seconds}
    print(write_report(report, args.output, markdown))


if __name__ == "__main__":
    main()
