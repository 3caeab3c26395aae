"""Stateful components; one module per task head."""
from .segmenter import Segmenter, make_segmenter
from .biaffine_parser import BiaffineParser, make_biaffine_parser

__all__ = ["Segmenter", "make_segmenter", "BiaffineParser", "make_biaffine_parser"]
