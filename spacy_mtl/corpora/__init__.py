"""Corpus readers and converters: UD CoNLL-U, NER formats, multi-corpus training reader."""
from .ud import read_conllu, convert_conllu
from .ner import read_uner, read_weibo, read_resume, add_entities
from .readers import create_mtl_corpus

__all__ = ["read_conllu", "convert_conllu", "read_uner", "read_weibo", "read_resume", "add_entities", "create_mtl_corpus"]
