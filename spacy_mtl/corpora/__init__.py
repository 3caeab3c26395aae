from .ud import read_conllu, convert_conllu
from .readers import create_mtl_corpus

__all__ = ["read_conllu", "convert_conllu", "create_mtl_corpus"]
