from .char_transformer import configure_piece_windows, configure_sentence_windows, create_char_transformer
from .segmenter import build_segmenter_model
from .biaffine import build_biaffine_parser_model
from .crf_tagger import build_crf_tagger
from .srl import build_srl_model

__all__ = ["create_char_transformer", "configure_piece_windows", "configure_sentence_windows", "build_segmenter_model", "build_biaffine_parser_model",
           "build_crf_tagger", "build_srl_model"]
