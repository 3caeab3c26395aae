"""Every factory end to end on the tiny random encoder: train, predict, save, load elsewhere."""
import json

import numpy
import spacy
import pytest
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam

from spacy_mtl.corpora.readers import gold_words_doc
from spacy_mtl.extensions import set_layers

from .conftest import run_python
from .test_tokenizer_and_windows import BAD_INPUTS

TEXTS = ["我爱北京天安门。", "他在2008年去了上海，然后回到北京。", "iPhone售价很高", ""]


def analysis(doc):
    return doc._.to_dict()


def test_heads_are_wired_to_one_encoder(trained_nlp):
    nlp, _ = trained_nlp
    assert nlp.pipe_names == ["transformer", "tok", "sentencizer", "tag", "morph", "lemma", "dep", "ner", "srl", "sdp",
                              "con", "amr", "ner_weibo", "ner_resume"]
    assert len(nlp.get_pipe("transformer").listeners) == 12


def test_encoder_runs_once_per_batch_whatever_heads_run(trained_nlp):
    nlp, _ = trained_nlp
    model = nlp.get_pipe("transformer").model
    before = model.attrs.get("forward_calls", 0)
    docs = list(nlp.pipe(TEXTS[:3], batch_size=8))
    assert model.attrs["forward_calls"] - before == 1
    with nlp.select_pipes(disable=["tag", "lemma"]):
        nlp(TEXTS[1])
    assert model.attrs["forward_calls"] - before == 2
    assert all(len(d) for d in docs)


def test_segmentation_rewrites_alignment_for_later_heads(trained_nlp):
    nlp, _ = trained_nlp
    doc = nlp(TEXTS[1])
    trf = doc._.trf_data
    assert len(trf.align.lengths) == len(doc)
    for token, n in zip(doc, trf.align.lengths):
        assert n >= len(token.text)  # each character's piece, once per window that saw it


def test_heads_share_one_pooling_of_each_doc(trained_nlp):
    """The listening heads read one set of word vectors per doc (pooled by the
    first head that asks), equal to what each head's own listener computes;
    a re-aligned doc (after tok) pools afresh."""
    from spacy_mtl.ml.inference import predict_word_vectors

    nlp, _ = trained_nlp
    with nlp.select_pipes(enable=["transformer", "tok", "sentencizer"]):
        docs = list(nlp.pipe(TEXTS[:3]))
    dep_t2v, srl_t2v = nlp.get_pipe("dep").model.layers[0], nlp.get_pipe("srl").model.layers[0]
    own = dep_t2v.predict(docs)
    first = predict_word_vectors(dep_t2v, docs)
    second = predict_word_vectors(srl_t2v, docs)
    assert all(a is b for a, b in zip(first, second))  # computed once
    assert all(numpy.array_equal(a, b) for a, b in zip(own, first))
    assert not first[0].flags.writeable  # shared, so read-only
    with nlp.select_pipes(enable=["transformer"]):
        chars = nlp(TEXTS[1])
    assert len(predict_word_vectors(dep_t2v, [chars])[0]) == len(chars)  # one per character before tok
    assert len(predict_word_vectors(dep_t2v, [nlp.get_pipe("tok")(chars)])[0]) < len(chars)


def test_predictions_are_well_formed(trained_nlp):
    nlp, _ = trained_nlp
    for doc in nlp.pipe(TEXTS + BAD_INPUTS):
        assert doc.text in TEXTS + BAD_INPUTS
        for sent in doc.sents if doc.has_annotation("DEP") else []:
            roots = [t for t in sent if t.head.i == t.i]
            assert len(roots) == 1
            for t in sent:
                seen, node = set(), t
                while node.head.i != node.i:
                    assert node.i not in seen
                    seen.add(node.i)
                    node = node.head


def test_bad_inputs_keep_text(trained_nlp):
    nlp, _ = trained_nlp
    for text in BAD_INPUTS:
        assert nlp(text).text == text


def test_long_sentence_is_windowed_not_truncated(trained_nlp):
    nlp, _ = trained_nlp
    text = "我们今天在北京开会讨论问题" * 400  # 5,200 characters, no punctuation
    doc = nlp(text)
    assert doc.text == text
    assert doc.has_annotation("DEP")
    assert max(len(s) for s in doc.sents) <= nlp.get_pipe("dep").model.attrs["max_words"]


def piece_vectors(hidden, align):
    """Per token, the hidden states [rows, width, d] of its pieces (every window that saw it)."""
    flat = numpy.asarray(hidden).reshape(-1, hidden.shape[-1])
    return [flat[align[i].dataXd.ravel()] for i in range(len(align))]


def doc_piece_vectors(doc):
    return piece_vectors(doc._.trf_data.model_output.last_hidden_state, doc._.trf_data.align)


def test_each_window_is_encoded_exactly_as_that_text_alone(trained_nlp):
    """Window edges neither truncate nor leak: in a long document every token's
    pieces carry the hidden states of its window's text analysed alone (the tiny
    config's windows: a sentence each, a sentence over 24 pieces cut into windows
    overlapping by 8; prediction packs the windows into shared rows)."""
    nlp, _ = trained_nlp
    text = "今天北京下雨了。他说我们明天去上海开会。" * 3 + "一二三四五六七八九十" * 6 + "。好的。"
    others = [name for name in nlp.pipe_names if name != "transformer"]
    with nlp.select_pipes(disable=others):
        long_doc = nlp(text)
        spans = nlp.get_pipe("transformer").model.attrs["get_spans"]([long_doc])[0]
        assert [s.text for s in spans[:6]] == ["今天北京下雨了。", "他说我们明天去上海开会。"] * 3
        assert spans[-1].text == "好的。" and len(spans) > 9  # the 61-piece sentence takes 3+ windows
        in_doc = doc_piece_vectors(long_doc)
        seen = [0] * len(long_doc)
        for span in spans:
            alone = doc_piece_vectors(nlp(span.text))
            for k, vectors in enumerate(alone):
                i = span.start + k
                n = len(vectors)
                numpy.testing.assert_allclose(in_doc[i][seen[i]:seen[i] + n], vectors, atol=1e-5)
                seen[i] += n
        assert seen == [len(v) for v in in_doc]  # and no piece from anywhere else


def test_encoder_takes_a_long_document_a_few_windows_at_a_time(trained_nlp, monkeypatch):
    """At inference the windows go through the encoder at most WINDOWS_PER_PASS at
    a time, shortest first, in passes of alike lengths, each pass cut to its
    longest window (memory bounded whatever the length, little padding), and are
    stored packed; every piece's vector equals
    that of one padded pass with a row per window, and so does the analysis."""
    from spacy_mtl.ml.models import char_transformer

    nlp, _ = trained_nlp
    text = "今天北京下雨了。他说我们明天去上海开会。" * 8 + "嗯。"
    trf = nlp.get_pipe("transformer").model
    pieces = char_transformer.PieceVocab(trf.tokenizer)
    windows = char_transformer.Windows(pieces, trf.attrs["get_spans"]([nlp.make_doc(text)]), 510)
    wordpieces, align = char_transformer.row_per_window(windows, pieces.pad)
    assert wordpieces.input_ids.shape[0] == 17
    one_pass = piece_vectors(trf.layers[0].predict(wordpieces).last_hidden_state.numpy(), align)
    whole = nlp(text)
    monkeypatch.setattr(char_transformer, "WINDOWS_PER_PASS", 2)
    with nlp.select_pipes(enable=["transformer"]):
        packed = nlp(text)
    assert packed._.trf_data.model_output.last_hidden_state.shape[0] == 1  # 17 windows in one row
    for mine, reference in zip(doc_piece_vectors(packed), one_pass, strict=True):
        numpy.testing.assert_allclose(mine, reference, atol=1e-5)
    assert analysis(nlp(text)) == analysis(whole)


def _encoder_step(trf, docs, hf_model):
    """Hidden states of one training forward pass and the encoder's parameter
    gradients for a fixed gradient on every aligned piece (the listeners send
    none to padding, [CLS], [SEP] or spaces)."""
    import torch
    from transformers.file_utils import ModelOutput

    output, backprop = trf.begin_update(docs)
    hidden = output.model_output.last_hidden_state
    d_hidden = torch.zeros_like(hidden).reshape(-1, hidden.shape[-1])
    cells = torch.as_tensor(output.align.dataXd.ravel().astype("int64"))
    d_hidden[cells] = torch.linspace(-1, 1, len(cells) * hidden.shape[-1]).reshape(len(cells), -1)
    output.model_output = ModelOutput(output_0=d_hidden.reshape(hidden.shape))
    backprop(output)
    grads = {name: param.grad.clone() for name, param in params_with_grad(hf_model)}
    hf_model.zero_grad(set_to_none=True)
    return piece_vectors(hidden.detach().numpy(), output.align), grads


def params_with_grad(hf_model):
    return [(name, param) for name, param in hf_model.named_parameters() if param.grad is not None]


def test_training_passes_of_alike_lengths_equal_one_padded_pass(trained_nlp, monkeypatch):
    """In training the windows go through the encoder in passes of alike
    lengths, laid out a row per window, and each pass gets back its own rows of
    the gradient: with dropout off, every real piece's hidden state and every
    encoder weight's gradient equal those of one pass padded to the longest window."""
    import torch
    from spacy_mtl.ml.models import char_transformer

    nlp = spacy.load(trained_nlp[1])  # dropout is switched off below: not on the shared pipeline
    trf = nlp.get_pipe("transformer").model
    hf_model = trf.layers[0].shims[0]._model
    for module in hf_model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if hasattr(module, "dropout_prob"):
            module.dropout_prob = 0.0  # attention's own dropout, outside nn.Dropout
    docs = [nlp.make_doc(t) for t in ("我爱北京天安门。他说我们明天去上海开会。好的。", "一二三四五六七八九十" * 4 + "。", "嗯。")]
    real_groups = char_transformer.pass_groups
    passes = []
    monkeypatch.setattr(char_transformer, "WINDOWS_PER_PASS", 2)
    monkeypatch.setattr(char_transformer, "pass_groups", lambda *a: passes.append(real_groups(*a)) or passes[-1])
    in_passes, grads = _encoder_step(trf, docs, hf_model)
    assert len(passes[0]) >= 3  # the 8+ windows took several passes
    monkeypatch.setattr(char_transformer, "pass_groups", lambda lengths, *a: [(0, len(lengths))])
    in_one, one_grads = _encoder_step(trf, docs, hf_model)
    for mine, reference in zip(in_passes, in_one, strict=True):
        numpy.testing.assert_allclose(mine, reference, atol=1e-5)
    assert grads.keys() == one_grads.keys() and len(grads) > 10
    for name, grad in grads.items():
        numpy.testing.assert_allclose(grad.numpy(), one_grads[name].numpy(), atol=1e-5, err_msg=name)


def test_biaffine_heads_label_only_the_decoded_cells(trained_nlp, monkeypatch):
    """In prediction dep, sdp, con and amr decode the arc scores first and score
    labels only at the cells the decoder keeps: the same structure and cells as
    decoding the full scorer's output, and label ids equal to the argmax of the
    full label scores at those cells."""
    nlp, _ = trained_nlp
    docs = [nlp(text) for text in TEXTS[:2]]
    # What a 6-step tiny model keeps is arbitrary: con keeps only spans above its
    # threshold and amr labels no cell in a one-concept chunk. Knobs that keep
    # every CKY span and make every word a concept (restored after the test) give
    # each head cells in every chunk, so the comparisons below are never vacuous.
    monkeypatch.setitem(nlp.get_pipe("con").cfg, "span_threshold", -numpy.inf)
    monkeypatch.setitem(nlp.get_pipe("amr").cfg, "no_concept_penalty", 1e9)
    for name in ("dep", "sdp", "con", "amr"):
        component = nlp.get_pipe(name)
        chunks, parses = component.predict(docs)
        tok2vec, scorer = component.model.layers
        vectors = tok2vec.predict(docs)
        full, _ = scorer(([vectors[d][s:e] for d, s, e in chunks], None), False)  # no cells: every word pair's labels
        assert len(parses) == len(chunks)
        assert all(parse.cells for parse in parses), name
        for i, ((d, s, e), parse) in enumerate(zip(chunks, parses)):
            n = e - s + 1
            structure, cells = component.decode(full[0][i, :n, :n], full[2][i, :n] if len(full) > 2 else None)
            assert cells == parse.cells
            assert repr(structure) == repr(parse.structure)
            assert parse.label_ids.dtype.kind == "i"
            assert list(parse.label_ids) == [int(full[1][i, r, c].argmax()) for r, c in cells]


def test_hundred_thousand_characters(trained_nlp):
    nlp, _ = trained_nlp
    text = ("今天北京下雨了。他说：“我们明天去上海！”你觉得呢？" * 4000)[:100_000]
    doc = nlp(text)
    assert doc.text == text
    assert doc.has_annotation("DEP")
    assert len(list(doc.sents)) >= 8000  # sentence ends split it, not the word cap


def test_head_without_gold_adds_no_loss_but_encoder_still_learns(trained_nlp, gsd_docs):
    nlp = spacy.load(trained_nlp[1])  # a copy: updating the shared pipeline would change later tests
    ref = gsd_docs[0]
    seg_only = Doc(ref.vocab, words=[t.text for t in ref], spaces=[bool(t.whitespace_) for t in ref])
    set_layers(seg_only, ["tok"])
    egs = [Example(gold_words_doc(seg_only), seg_only)]
    losses = {}
    trf = nlp.get_pipe("transformer").model.layers[0].shims[0]._model
    before = trf.embeddings.word_embeddings.weight.detach().clone()
    optimizer = Adam(0.01)
    # spaCy applies a shared encoder's gradients one update late (it calls the
    # encoder's finish_update before the heads backprop into it): update twice.
    for _ in range(2):
        nlp.update(egs, sgd=optimizer, losses=losses)
    for head in ("tag", "morph", "lemma", "dep", "ner", "srl", "sdp", "con", "amr"):
        assert losses[head] == 0.0, head
    assert losses["tok"] > 0.0
    assert not numpy.allclose(before.numpy(), trf.embeddings.word_embeddings.weight.detach().numpy())


LOAD_AND_PARSE = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
print(json.dumps([d._.to_dict() for d in nlp.pipe(texts)]))
"""


def test_saved_pipeline_loads_in_fresh_process_with_same_predictions(trained_nlp, tmp_path):
    nlp, saved = trained_nlp
    expected = [analysis(d) for d in spacy.load(saved).pipe(TEXTS)]
    out = run_python(LOAD_AND_PARSE, saved, json.dumps(TEXTS))
    assert json.loads(out) == json.loads(json.dumps(expected))
    # and to_disk of a loaded pipeline round-trips too
    reloaded = spacy.load(saved)
    reloaded.to_disk(tmp_path / "again")
    assert [analysis(d) for d in spacy.load(tmp_path / "again").pipe(TEXTS)] == expected


def test_to_bytes_round_trip(trained_nlp):
    nlp, saved = trained_nlp
    original = spacy.load(saved)
    expected = [analysis(d) for d in original.pipe(TEXTS)]
    clone = spacy.blank("zh", config=original.config)
    clone = spacy.util.load_model_from_config(original.config, auto_fill=True)
    clone.from_bytes(original.to_bytes())
    assert [analysis(d) for d in clone.pipe(TEXTS)] == expected


def test_segmenter_keeps_chinese_punctuation_separate_and_never_crosses_spaces(trained_nlp):
    nlp, _ = trained_nlp
    text = "他说：“好！”然后 走了。OK 3.14"
    doc = nlp(text)
    assert doc.text == text
    for token in doc:
        assert " " not in token.text
        if any(c in token.text for c in "：“！”。"):
            assert len(token.text) == 1


def test_corrupted_model_file_is_named(trained_nlp, tmp_path):
    import shutil

    from spacy_mtl.loading import PipelineLoadError

    _, saved = trained_nlp
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    model_file = broken / "dep" / "model"
    model_file.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    with pytest.raises(PipelineLoadError, match=r"component 'dep': the file .*dep/model is corrupted or truncated"):
        spacy.load(broken)


def test_threads_give_the_same_results_as_sequential_use(trained_nlp):
    from concurrent.futures import ThreadPoolExecutor

    nlp, _ = trained_nlp
    texts = [f"第{i}个句子：他在北京工作了{i}年。" for i in range(24)]
    sequential = [analysis(nlp(t)) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda t: analysis(nlp(t)), texts))
    assert threaded == sequential


def test_cpu_autocast_only_where_bfloat16_is_fast(monkeypatch):
    """The switch turns on CPU autocast to bf16 where oneDNN has fast bf16
    kernels, and changes nothing where it is off or the CPU would emulate bf16."""
    import torch
    from spacy_mtl.ml import inference

    with inference.cpu_autocast(False):
        assert not torch.is_autocast_enabled("cpu")
    with inference.cpu_autocast(True):
        assert torch.is_autocast_enabled("cpu") == inference.cpu_has_fast_bfloat16()
        if inference.cpu_has_fast_bfloat16():
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    monkeypatch.setattr(inference, "cpu_has_fast_bfloat16", lambda: False)
    with inference.cpu_autocast(True):
        assert not torch.is_autocast_enabled("cpu")


def test_cpu_bfloat16_is_one_config_switch_for_the_encoder(trained_nlp):
    """system.cpu_bfloat16 reaches the encoder of a saved pipeline at load time;
    its products then run in bf16 (where the CPU has fast bf16 kernels) while
    the heads still read float32 states close to float32's, and every analysis
    stays well-formed with the text kept."""
    import torch
    from spacy_mtl.ml.inference import cpu_has_fast_bfloat16

    _, saved = trained_nlp
    exact = spacy.load(saved)
    fast = spacy.load(saved, config={"system": {"cpu_bfloat16": True}})
    assert bool(fast.get_pipe("transformer").model.attrs["cpu_bfloat16"]) is True
    assert bool(exact.get_pipe("transformer").model.attrs["cpu_bfloat16"]) is False
    hf_model = fast.get_pipe("transformer").model.layers[0].shims[0]._model
    seen = []
    hook = hf_model.encoder.layer[0].attention.self.query.register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype))
    try:
        docs = list(fast.pipe(TEXTS + BAD_INPUTS))
    finally:
        hook.remove()
    assert seen and set(seen) == {torch.bfloat16 if cpu_has_fast_bfloat16() else torch.float32}
    assert [d.text for d in docs] == TEXTS + BAD_INPUTS
    for doc, ref in zip(fast.pipe(TEXTS[:3]), exact.pipe(TEXTS[:3])):  # batched alike: the same packed rows
        assert doc._.trf_data.model_output.last_hidden_state.dtype == numpy.float32
        numpy.testing.assert_allclose(doc._.trf_data.model_output.last_hidden_state,
                                      ref._.trf_data.model_output.last_hidden_state, atol=0.1)
        for token in doc:
            assert token.head.i == token.i or token.head.sent == token.sent


def test_bfloat16_prediction_cuts_larger_passes(trained_nlp, monkeypatch):
    """Under bf16 a piece costs less and a pass's fixed cost does not, so the
    encoder weighs each pass as PASS_OVERHEAD_PIECES_BF16 pieces there, and
    as PASS_OVERHEAD_PIECES in float32 and in training."""
    from spacy_mtl.ml.inference import cpu_has_fast_bfloat16
    from spacy_mtl.ml.models import char_transformer

    _, saved = trained_nlp
    real_groups, overheads = char_transformer.pass_groups, []
    monkeypatch.setattr(char_transformer, "pass_groups",
                        lambda lengths, most, overhead: overheads.append(overhead) or real_groups(lengths, most, overhead))
    seen = {}
    for bf16 in (False, True):
        nlp = spacy.load(saved, config={"system": {"cpu_bfloat16": bf16}})
        example = Example(nlp.make_doc(TEXTS[0]), nlp(TEXTS[0]))  # a prediction
        nlp.update([example], sgd=Adam(0.0))  # and a training step
        seen[bf16], overheads[:] = list(overheads), []
    plain, fast = char_transformer.PASS_OVERHEAD_PIECES, char_transformer.PASS_OVERHEAD_PIECES_BF16
    assert fast > plain
    assert seen[False] == [plain, plain]
    assert seen[True] == [fast if cpu_has_fast_bfloat16() else plain, plain]


def test_use_cpu_bfloat16_switches_a_loaded_pipeline_whatever_its_config(trained_nlp):
    """The runtime switch reaches the encoder, also in a pipeline whose encoder
    carries no flag at all (trained before it existed), and turns off again;
    the config is left alone."""
    from spacy_mtl.ml.inference import use_cpu_bfloat16

    _, saved = trained_nlp
    nlp = spacy.load(saved)
    encoder = nlp.get_pipe("transformer").model
    encoder.attrs.pop("cpu_bfloat16")  # as in an older pipeline
    before = [analysis(d) for d in nlp.pipe(TEXTS)]
    assert use_cpu_bfloat16(nlp) == ["transformer"]
    assert bool(encoder.attrs["cpu_bfloat16"]) is True
    assert nlp.config["system"]["cpu_bfloat16"] is False
    assert [d.text for d in nlp.pipe(TEXTS)] == TEXTS
    use_cpu_bfloat16(nlp, False)
    assert bool(encoder.attrs["cpu_bfloat16"]) is False
    assert [analysis(d) for d in nlp.pipe(TEXTS)] == before


def test_rounded_pass_shapes_leave_every_window_as_it_was(trained_nlp):
    """Rounding a pass's shape up (extra [CLS][SEP] rows, extra padding
    columns) changes no real window's hidden states: attention never looks
    at padding, and no row is all padding."""
    import torch
    from spacy_mtl.ml.models import char_transformer as ct

    nlp, _ = trained_nlp
    trf = nlp.get_pipe("transformer").model
    transformer, pieces = trf.layers[0], ct.PieceVocab(trf.tokenizer)
    docs = [nlp.make_doc(t) for t in ("我爱北京天安门。他说我们明天去上海开会。好的。", "一二三四五六七八九十" * 3 + "。", "嗯。")]
    windows = ct.Windows(pieces, trf.attrs["get_spans"](docs), trf.attrs["max_pieces"])

    def states(step):
        out = {}
        for rows, batch in ct._alike_length_passes(windows, pieces.pad, 0, step):
            assert batch.input_ids.shape[0] % step[0] == 0 and batch.input_ids.shape[1] % step[1] == 0
            assert batch.attention_mask.any(axis=1).all()
            with torch.no_grad():
                hidden = transformer(batch, False)[0].last_hidden_state
            for j, w in enumerate(rows):
                out[w] = hidden[j, :len(windows.ids[w])].numpy()
        return out

    exact, rounded = states((1, 1)), states((4, 16))
    assert exact.keys() == rounded.keys() == set(range(len(windows.ids)))
    for w in exact:
        numpy.testing.assert_allclose(rounded[w], exact[w], atol=1e-5)
