"""Semantic role labelling layers: a predicate/sense classifier per word and,
for each predicate, argument emission scores for every word.

The argument scorer sees [word; predicate; word * predicate] for every word of
the predicate's doc. The component runs the pieces itself because arguments
depend on which predicates are there (gold in training, predicted otherwise).
"""
from typing import List, Optional, Tuple

import numpy
import torch
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


def _node(model: Model, name: str) -> Model:
    return next(node for node in model.walk() if node.name == name)


def _times_transposed(A: Floats2d, W: Floats2d) -> Floats2d:
    """A @ W.T in torch: on every core, where numpy's BLAS is kept to one
    thread in prediction (see ``single_threaded_blas``); a third of SRL's time."""
    with torch.no_grad():
        return (torch.from_numpy(numpy.ascontiguousarray(A)) @ torch.from_numpy(numpy.ascontiguousarray(W)).T).numpy()


def argument_emissions(arguments: Model, stretches: List[Floats2d], predicates: List[Tuple[int, int]]) -> Floats2d:
    """Argument emissions [rows, nA] of many predicates, row for row what
    ``arguments.predict`` gives for the stacked ``pair_features``.

    stretches: word vectors [n_s, d] of the stretches searched; predicates:
    (stretch s, predicate position p in it), in output order (n_s rows each).

    The first layer's weights W = [W_word; W_pred; W_prod] split the product
    with [x; x_p; x * x_p] in three: x W_word is computed once per word of a
    stretch (not once per predicate), x_p W_pred once per predicate, and only
    (x * x_p) W_prod per pair: a third of the work of the stacked features.
    """
    maxout, norm, linear = (_node(arguments, name) for name in ("maxout", "layernorm", "linear"))
    nO, nP = maxout.get_dim("nO"), maxout.get_dim("nP")
    W = maxout.ops.reshape2f(maxout.get_param("W"), nO * nP, -1)
    d = W.shape[1] // 3
    W_word, W_pred, W_prod = W[:, :d], W[:, d : 2 * d], W[:, 2 * d :]
    b = maxout.ops.reshape1f(maxout.get_param("b"), nO * nP)
    ends = numpy.cumsum([len(X) for X in stretches])
    stacked = _times_transposed(numpy.vstack(stretches), W_word) + b  # every stretch's words, one product
    own = [stacked[end - len(X) : end] for X, end in zip(stretches, ends)]  # [n_s, nO * nP] each
    products = numpy.vstack([stretches[s] * stretches[s][p] for s, p in predicates])
    pre = _times_transposed(products, W_prod)  # [rows, nO * nP]
    per_predicate = _times_transposed(numpy.vstack([stretches[s][p] for s, p in predicates]), W_pred)
    offset = 0
    for (s, _), pred_row in zip(predicates, per_predicate):
        n = len(stretches[s])
        pre[offset : offset + n] += own[s] + pred_row
        offset += n
    hidden, _ = maxout.ops.maxout(maxout.ops.reshape3f(pre, len(pre), nO, nP))
    return linear.predict(norm.predict(hidden))


def predicate_classes(predicates: Model, X: Floats2d, no_predicate_penalty: float = 0.0) -> numpy.ndarray:
    """The best class [n] of every word: the argmax of the predicate layer's
    scores, which is its softmax's argmax without the softmax (over hundreds
    of senses per word, most of that layer's time). ``no_predicate_penalty`` is
    taken off class 0's score ("no predicate") first."""
    W, b = predicates.get_param("W"), predicates.get_param("b")
    scores = _times_transposed(X, W) + b
    scores[:, 0] -= no_predicate_penalty
    return scores.argmax(1)


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
    _node(arguments, "linear").set_dim("nO", model.get_dim("nA"))
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
