"""spacy_mtl: HanLP-style joint multi-task NLP as spaCy components on one shared encoder."""
from .about import __version__
from . import extensions  # noqa: F401  (importing registers the Doc extensions)
from .tokenizer import create_char_tokenizer
from .ml.models import build_biaffine_parser_model, build_crf_tagger, build_segmenter_model, build_srl_model, configure_piece_windows, configure_sentence_windows, create_char_transformer
from .pipeline import make_biaffine_parser, make_graph_parser, make_ner, make_ner_scorer, make_sdp_scorer, make_segmenter, make_srl, make_srl_scorer
from .scoring import make_attribute_scorer, make_parser_scorer, make_tokenization_scorer
from .corpora import create_mtl_corpus
from .training import component_learn_rates, create_scaled_adam
from .loading import name_broken_files

__all__ = [
    "__version__", "create_char_tokenizer", "create_char_transformer", "configure_piece_windows", "configure_sentence_windows",
    "build_segmenter_model", "build_biaffine_parser_model", "make_segmenter", "make_biaffine_parser",
    "build_crf_tagger", "make_ner", "make_ner_scorer", "build_srl_model", "make_srl", "make_srl_scorer",
    "make_graph_parser", "make_sdp_scorer", "make_tokenization_scorer", "component_learn_rates", "create_scaled_adam", "name_broken_files", "make_attribute_scorer", "make_parser_scorer", "create_mtl_corpus",
]
