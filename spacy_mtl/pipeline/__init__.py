"""Stateful components; one module per task head."""
from .segmenter import Segmenter, make_segmenter
from .biaffine_parser import BiaffineParser, make_biaffine_parser
from .ner import CRFEntityRecognizer, make_ner, make_ner_scorer

__all__ = ["Segmenter", "make_segmenter", "BiaffineParser", "make_biaffine_parser", "CRFEntityRecognizer", "make_ner", "make_ner_scorer"]
