"""Semantic role labelling layers: a predicate/sense classifier per word and,
for each predicate, argument emission scores for every word.

The argument scorer sees [word; predicate; word * predicate] for every word of
the predicate's doc. The component runs the pieces itself because arguments
depend on which predicates are there (gold in training, predicted otherwise).
"""
from typing import List, Optional, Tuple

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Linear, Maxout, Model, Softmax_v2, chain
from thinc.types import Floats2d


def pair_features(X: Floats2d, p: int) -> Tuple[Floats2d, callable]:
    """[n, 3d] features of every word with predicate p, and their backprop to X."""
    xp = X[p]
    F = numpy.hstack([X, numpy.broadcast_to(xp, X.shape), X * xp])

    def backprop(dF: Floats2d) -> Floats2d:
        d = X.shape[1]
        dA, dB, dC = dF[:, :d], dF[:, d : 2 * d], dF[:, 2 * d :]
        dX = dA + dC * xp
        dX[p] += dB.sum(0) + (dC * X).sum(0)
        return dX

    return F, backprop


def srl_forward(model: Model, docs: List[Doc], is_train: bool):
    # Only the word vectors: the component calls the predicate and argument layers.
    return model.layers[0](docs, is_train)


def srl_init(model: Model, X=None, Y=None):
    tok2vec, predicates, arguments = model.layers
    tok2vec.initialize(X=X)
    sample = next((v for v in tok2vec.predict(X) if len(v)), None) if X else None
    if sample is None:
        raise ValueError("SRLModel needs sample docs with words to initialize")
    predicates.set_dim("nO", model.get_dim("nP"))
    next(node for node in arguments.walk() if node.name == "linear").set_dim("nO", model.get_dim("nA"))
    predicates.initialize(X=sample)
    arguments.initialize(X=pair_features(sample, 0)[0])
    n_tags = model.get_dim("nA")
    for name, shape in (("transitions", (n_tags, n_tags)), ("start", (n_tags,)), ("end", (n_tags,))):
        model.set_param(name, model.ops.alloc(shape, dtype="f"))


@registry.architectures("spacy_mtl.SRLModel.v1")
def build_srl_model(tok2vec: Model[List[Doc], List[Floats2d]], hidden_width: int = 256, dropout: float = 0.1,
                    nP: Optional[int] = None, nA: Optional[int] = None) -> Model:
    """Layers: word vectors; predicate classes [n, nP] (class 0 = no predicate);
    argument emissions [n, nA] from pair features; CRF params for the argument tags."""
    predicates = Softmax_v2()
    arguments = chain(Maxout(nO=hidden_width, dropout=dropout, normalize=True), Linear())
    return Model(
        "srl", srl_forward, init=srl_init, layers=[tok2vec, predicates, arguments],
        dims={"nP": nP, "nA": nA}, params={"transitions": None, "start": None, "end": None},
    )
