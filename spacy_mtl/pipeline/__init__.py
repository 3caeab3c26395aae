"""Stateful components; one module per task head.

| head | factory | module |
|---|---|---|
| tok | mtl_segmenter | segmenter.py |
| dep | mtl_biaffine_parser | biaffine_parser.py |
| ner | mtl_ner | ner.py |
| srl | mtl_srl | srl.py |
| sdp | mtl_sdp | graph_parser.py |
| con | mtl_con | constituency.py |
| amr | mtl_amr | amr.py |
"""
from .segmenter import Segmenter, make_segmenter
from .biaffine_parser import BiaffineParser, make_biaffine_parser
from .ner import CRFEntityRecognizer, make_ner, make_ner_scorer
from .srl import SemanticRoleLabeler, make_srl, make_srl_scorer
from .graph_parser import GraphParser, make_graph_parser, make_sdp_scorer
from .constituency import ConstituencyParser, make_constituency_parser, make_con_scorer
from .amr import AMRParser, make_amr_parser, make_amr_scorer

__all__ = [
    "Segmenter", "make_segmenter", "BiaffineParser", "make_biaffine_parser", "CRFEntityRecognizer", "make_ner",
    "make_ner_scorer", "SemanticRoleLabeler", "make_srl", "make_srl_scorer", "GraphParser", "make_graph_parser",
    "make_sdp_scorer", "ConstituencyParser", "make_constituency_parser", "make_con_scorer",
    "AMRParser", "make_amr_parser", "make_amr_scorer",
]
