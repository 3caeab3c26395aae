"""Emission scores per word plus CRF transition parameters (decoding lives in the component)."""
from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Model, chain, with_array
from thinc.types import Floats2d


def crf_forward(model: Model, docs: List[Doc], is_train: bool):
    emissions, backprop = model.layers[0](docs, is_train)
    return emissions, backprop


def crf_init(model: Model, X=None, Y=None):
    n_tags = model.get_dim("nO")
    linear = model.layers[0].layers[-1].layers[0]  # the Linear inside with_array
    if linear.has_dim("nO") is None:
        linear.set_dim("nO", n_tags)
    model.layers[0].initialize(X=X)
    for name, shape in (("transitions", (n_tags, n_tags)), ("start", (n_tags,)), ("end", (n_tags,))):
        model.set_param(name, model.ops.alloc(shape, dtype="f"))


@registry.architectures("spacy_mtl.CRFTagger.v1")
def build_crf_tagger(tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None) -> Model:
    """Per doc emission scores [n_words, n_tags]; params transitions [T, T], start [T], end [T]."""
    emitter = chain(tok2vec, with_array(Linear(nO=nO)))
    return Model(
        "crf_tagger", crf_forward, init=crf_init, layers=[emitter], dims={"nO": nO},
        params={"transitions": None, "start": None, "end": None},
    )
