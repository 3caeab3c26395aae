"""Training: per-component learning rates, memory release between updates, reproducible reruns."""
import platform
from types import SimpleNamespace

import numpy

import pytest
from spacy.util import registry

from spacy_mtl import training


def test_learning_rate_factor_reaches_only_its_components_parameters(monkeypatch):
    """A head's factor scales its own parameters, not the encoder's torch ones,
    even where thinc gave the encoder's shim the same id as the head's node
    (its models and shims are numbered by two separate counters)."""
    import torch
    from thinc.api import Linear, PyTorchWrapper

    head = Linear(2, 2).initialize()
    encoder = PyTorchWrapper(torch.nn.Linear(2, 2))
    encoder.shims[0].id = head.id
    monkeypatch.setattr(training, "_LR_SCALES", {})
    nlp = SimpleNamespace(component_names=["head", "encoder"], get_pipe=lambda name: SimpleNamespace(model=head))
    registry.callbacks.get("spacy_mtl.component_learn_rates.v1")({"head": 10.0})(nlp)
    adam = registry.optimizers.get("spacy_mtl.Adam.v1")(learn_rate=0.001, grad_clip=0.0)
    # Adam's first step moves every weight by the learning rate (times the factor)
    for name, rate in (("W", 0.01), ("weight", 0.001)):
        weights, gradient = numpy.zeros(4, dtype="f"), numpy.ones(4, dtype="f")
        updated, _ = adam((head.id, name), weights, gradient)
        assert updated == pytest.approx(numpy.full(4, -rate), rel=1e-3)


def test_release_freed_memory_trims_every_nth_step(monkeypatch):
    calls = []
    monkeypatch.setattr(training, "_glibc_malloc_trim", lambda: lambda pad: calls.append(pad) or 1)
    make = registry.callbacks.get("spacy_mtl.release_freed_memory.v1")  # through the entry point
    before_update = make(every=3)
    for step in range(7):
        before_update(None, {"step": step, "epoch": 0})
    assert calls == [0, 0, 0]  # steps 0, 3 and 6


def test_release_freed_memory_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(training, "_glibc_malloc_trim", lambda: None)
    training.release_freed_memory()(None, {"step": 0, "epoch": 0})  # no error, nothing to call


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_malloc_trim_is_found_and_runs():
    trim = training._glibc_malloc_trim()
    assert trim is not None and trim(0) in (0, 1)


def _train_weights(config, out) -> dict:
    """Every component's serialised model after `spacy train`'s loop (a fresh pipeline from the config)."""
    import io

    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train

    out.mkdir()
    nlp = init_nlp(config)
    nlp, _ = train(nlp, out, stdout=io.StringIO(), stderr=io.StringIO())
    # thinc's to_bytes holds every parameter, its torch modules' included
    return {name: proc.model.to_bytes() for name, proc in nlp.pipeline if hasattr(proc, "model")}


def test_training_with_the_same_seed_gives_the_same_weights(tiny_encoder, corpus_files, tmp_path):
    """The issue's "seed fixed so that reruns reproduce scores": two runs of the
    training loop with one seed end with byte-identical weights in every
    component (encoder, heads, CRF transitions); another seed gives others."""
    from .conftest import tiny_config

    config = tiny_config(tiny_encoder, *corpus_files, steps=4)
    first = _train_weights(config, tmp_path / "first")
    again = _train_weights(config, tmp_path / "again")
    assert list(first) == list(again)
    assert [name for name in first if first[name] != again[name]] == []
    other = tiny_config(tiny_encoder, *corpus_files, steps=4)
    other["system"]["seed"] = 1
    reseeded = _train_weights(other, tmp_path / "other")
    assert [name for name in first if first[name] != reseeded[name]] != []
