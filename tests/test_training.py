"""Training callbacks: memory release between updates."""
import platform

import pytest
from spacy.util import registry

from spacy_mtl import training


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
