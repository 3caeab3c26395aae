"""A tiny randomly initialised encoder for tests and smoke runs (no download)."""
from pathlib import Path
from typing import Iterable

import numpy

from .build import SPECIALS, write_tokenizer


def build_tiny_encoder(output: Path, chars: Iterable[str], hidden: int = 32, layers: int = 2, heads: int = 2, seed: int = 0) -> Path:
    """A BERT encoder over ``chars`` (one piece each, plus ``▁`` and the specials)."""
    import torch
    from transformers import BertConfig, BertModel

    pieces = list(SPECIALS) + ["\u2581"] + sorted(set(c for c in chars if not c.isspace()) - set(SPECIALS) - {"\u2581"})
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(pieces), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=hidden * 2, max_position_embeddings=512, type_vocab_size=2, pad_token_id=1,
    )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(output))
    write_tokenizer(output, pieces, -numpy.arange(len(pieces), dtype="f"), 512)
    return output
