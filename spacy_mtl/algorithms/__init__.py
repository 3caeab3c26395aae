"""Decoding algorithms, independent of any spaCy component."""
from .bmes import bmes_viterbi, words_from_bmes
from .cky import cky
from .mst import mst_one_root

__all__ = ["bmes_viterbi", "words_from_bmes", "cky", "mst_one_root"]
