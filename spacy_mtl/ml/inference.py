"""Inference helpers: thread safety for torch, BLAS threads, bf16 on the CPU, word vectors shared by the heads, the garbage collector.

thinc's PyTorchShim.predict switches its module to eval mode, runs it, and
switches it back to train mode; a second thread predicting with the same
module at that moment would run with dropout on. Every torch forward pass in
prediction holds this lock, so one loaded pipeline can serve many threads
(the heads that are pure thinc have no such mode and need no lock).
"""
import contextlib
import gc
import threading
from functools import lru_cache
from typing import List, Optional

import numpy
import torch
from spacy.tokens import Doc
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers.listener import TransformerListener
from thinc.api import Model
from threadpoolctl import ThreadpoolController

TORCH_PREDICT_LOCK = threading.RLock()


@lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas():
    """A context in which numpy's BLAS (OpenBLAS here) runs on one thread, for
    the products a head computes in numpy.

    OpenBLAS's worker threads keep spinning for a while after a multi-threaded
    product; on a small machine they hold the cores that torch's threads need
    next (the biaffine heads after srl ran at about half speed). One thread
    gives the same numbers, and those products are small.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


@lru_cache(maxsize=1)
def cpu_has_fast_bfloat16() -> bool:
    """Whether oneDNN runs bf16 matrix products natively here (AMX or
    AVX512-BF16); without them torch emulates bf16 and it is slower than float32."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class LoadTimeFlag:
    """A model setting read from the config each time the pipeline is built
    and never saved with the weights: thinc saves a model's attrs and restores
    them over the config's values on load, but skips attrs that msgpack cannot
    serialize, as this one. So ``spacy.load(path, config=...)`` can change it."""

    def __init__(self, on: bool):
        self.on = bool(on)

    def __bool__(self) -> bool:
        return self.on

    def __repr__(self) -> str:
        return f"LoadTimeFlag({self.on})"


def use_cpu_bfloat16(nlp, on: bool = True) -> List[str]:
    """Turn bf16 prediction on (or off) in a loaded pipeline, whatever its
    config says: the shared encoder (every CharTransformerModel). Works for
    pipelines trained before the ``system.cpu_bfloat16`` setting existed; it
    changes nothing on disk or in ``nlp.config``. Returns the names of the
    components switched."""
    from .models.char_transformer import CharTransformerModel

    switched = []
    for name, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if isinstance(model, Model):
            nodes = [node for node in model.walk() if isinstance(node, CharTransformerModel)]
            for node in nodes:
                node.attrs["cpu_bfloat16"] = LoadTimeFlag(on)
            if nodes:
                switched.append(name)
    return switched


def cpu_autocast(enabled: bool):
    """``torch.autocast("cpu", bfloat16)`` where ``enabled`` and the CPU has
    fast bf16 kernels, else a context that changes nothing. Only CPU tensors
    are affected: a model on a GPU runs as before."""
    if enabled and cpu_has_fast_bfloat16():
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def freeze_loaded_objects() -> None:
    """``gc.freeze()``, for a process that loads a pipeline once and then parses.

    Importing torch, transformers and spaCy leaves about 390,000 objects that
    CPython's cycle collector scans on each full collection, and parsing makes
    enough new objects (per-doc results, Spans, Tokens) to trigger about one
    per 500 sentences. Frozen, they are never scanned again: nlp.pipe took 2%
    less time here, of the 5% the collector costs in all
    (``project/scripts/gc_freeze.py``, ``metrics/gc_freeze.md``).
    The price: cyclic garbage that exists at this moment is never freed, so
    call it after loading, not in a loop. spacy-mtl parse and serve do.
    """
    gc.collect()
    gc.freeze()


# the word vectors a mean-pooled listener made of a doc's transformer output,
# kept on that output (a TransformerData): its lifetime, and a new one (tok's
# re-alignment, another encoder pass) starts empty
_WORD_VECTORS = "_spacy_mtl_mean_word_vectors"


def _is_mean_pooled_listener(tok2vec: Model) -> bool:
    layers = tok2vec.layers
    return (len(layers) == 2 and isinstance(layers[0], TransformerListener) and layers[1].name == "trfs2arrays"
            and [layer.name for layer in layers[1].layers] == ["reduce_mean"])


def transformer_output(doc: Doc) -> Optional[TransformerData]:
    """The doc's ``doc._.trf_data``, or None where there is none (yet)."""
    trf = doc._.trf_data if Doc.has_extension("trf_data") else None
    return trf if isinstance(trf, TransformerData) else None


def predict_word_vectors(tok2vec: Model, docs: List[Doc]) -> List[numpy.ndarray]:
    """``tok2vec.predict(docs)``, computed once per doc for all heads.

    Every head listens to the one transformer with the same mean pooling, so
    in prediction their word vectors are the same arrays; the first head to
    ask pools them and the others read them (read-only: shared). Anything
    else (another pooling, no transformer output yet) is predicted as usual.
    """
    if not _is_mean_pooled_listener(tok2vec):
        return tok2vec.predict(docs)
    return predict_once_per_output(tok2vec, docs, _WORD_VECTORS, [len(doc) for doc in docs])


def predict_once_per_output(model: Model, docs: List[Doc], key: str, n_rows: List[int]) -> List[numpy.ndarray]:
    """``model.predict(docs)``, kept on each doc's transformer output under
    ``key`` and read from there by the next head that asks (read-only: shared).
    A kept array is used only while it still has its doc's ``n_rows`` rows."""
    outputs: List[Optional[numpy.ndarray]] = []
    for doc, rows in zip(docs, n_rows):
        kept = getattr(transformer_output(doc), key, None)
        outputs.append(kept if kept is not None and len(kept) == rows else None)
    missing = [i for i, kept in enumerate(outputs) if kept is None]
    if missing:
        for i, vectors in zip(missing, model.predict([docs[i] for i in missing])):
            outputs[i] = vectors
            trf = transformer_output(docs[i])
            if trf is not None and isinstance(vectors, numpy.ndarray):
                vectors.flags.writeable = False
                setattr(trf, key, vectors)
    return outputs  # type: ignore[return-value]
