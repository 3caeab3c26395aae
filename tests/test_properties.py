"""Property-based checks over arbitrary Unicode (a few hundred examples in CI;
set HYPOTHESIS_PROFILE=soak for a long run)."""
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from spacy_mtl.tokenizer import CharTokenizer

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("soak", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# everything but lone surrogates, weighted towards the hard cases
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
    st.text(st.sampled_from("我爱北京。，！？“” \n\t\u200d\u200b\u0301\u05d0\u0627😀👍🏽🏳️‍🌈aZ09.-\x00\x1b"), max_size=80),
    st.builds(lambda c, n: c * n, st.sampled_from("啊 .a😀"), st.integers(1, 600)),
)


def check_doc(doc, text):
    assert doc.text == text
    position = 0
    for token in doc:  # tokens cover the text without gaps or overlaps
        assert token.idx == position and token.text
        position += len(token.text) + len(token.whitespace_)
    assert position == len(text)
    if doc.has_annotation("DEP"):
        for sent in doc.sents:
            assert sum(t.head.i == t.i for t in sent) == 1
            for t in sent:
                assert sent.start <= t.head.i < sent.end
    n = len(doc)
    for h, d, _ in doc._.sdp or []:
        assert -1 <= h < n and 0 <= d < n
    for frame in doc._.srl or []:
        assert 0 <= frame["predicate"] < n and all(0 <= s < e <= n for s, e, _ in frame["arguments"])
    for ent in doc.ents:
        assert 0 <= ent.start < ent.end <= n


@given(TEXT)
def test_tokenizer_on_any_text(text):
    from spacy.vocab import Vocab

    check_doc(CharTokenizer(Vocab())(text), text)


@given(TEXT)
def test_full_pipeline_on_any_text(trained_nlp, text):
    nlp, _ = trained_nlp
    check_doc(nlp(text), text)


@pytest.mark.parametrize("text", ["a\ud800b", "\udfff"])
def test_lone_surrogates_are_rejected_clearly(trained_nlp, text):
    nlp, _ = trained_nlp
    with pytest.raises(ValueError, match="lone surrogate"):
        nlp(text)
