"""Training helpers.

Per-component learning rates: the encoder fine-tunes slowly, fresh heads learn
fast. ``spacy_mtl.component_learn_rates.v1`` (an ``[initialize.after_init]``
callback) records which parameters belong to which component; the
``spacy_mtl.Adam.v1`` optimizer multiplies its learning rate by that
component's factor.

``spacy_mtl.release_freed_memory.v1`` (a ``[training.before_update]`` callback)
hands memory freed by the previous step back to the system.
"""
import ctypes
import ctypes.util
from typing import Callable, Dict, Optional, Set, Tuple

from spacy.language import Language
from spacy.util import registry
from thinc.api import Optimizer
from wasabi import msg

# optimizer key (owner id, parameter name) -> learning-rate factor
_LR_SCALES: Dict[Tuple[int, str], float] = {}


def parameter_keys(model) -> Set[Tuple[int, str]]:
    """The keys the optimizer sees for ``model``'s parameters: (node id, name) for
    thinc's and (shim id, torch name) for wrapped torch modules'.

    Keyed by the pair, not the id alone: thinc numbers models and shims with two
    separate counters, so a head's node and the encoder's shim can share an id
    (in a process that builds a second pipeline the encoder then took that
    head's factor, and reruns stopped reproducing)."""
    keys = set()
    for node in model.walk():
        keys.update((node.id, name) for name in node.param_names)
        for shim in node.shims:
            named = getattr(shim._model, "named_parameters", None)  # torch modules only
            keys.update((shim.id, name) for name, _ in (named() if named else ()))
    return keys


@registry.callbacks("spacy_mtl.component_learn_rates.v1")
def component_learn_rates(scales: Dict[str, float]) -> Callable[[Language], Language]:
    def set_scales(nlp: Language) -> Language:
        unknown = set(scales) - set(nlp.component_names)
        if unknown:
            msg.warn(f"learning-rate factors for components not in the pipeline: {sorted(unknown)}")
        for name, scale in scales.items():
            if name in unknown:
                continue
            pipe = nlp.get_pipe(name)
            # listeners inside a head own no parameters, so a head's factor never reaches the encoder
            for key in parameter_keys(pipe.model):
                _LR_SCALES[key] = float(scale)
        return nlp

    return set_scales


class ScaledAdam(Optimizer):
    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        return super().__call__(key, weights, gradient, lr_scale=lr_scale * _LR_SCALES.get(key, 1.0))


@registry.optimizers("spacy_mtl.Adam.v1")
def create_scaled_adam(
    learn_rate=0.001, *, L2: float = 0.0, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
    grad_clip: float = 1.0, use_averages: bool = False, L2_is_weight_decay: bool = True,
) -> Optimizer:
    """Adam whose rate is multiplied by the owning component's factor."""
    return ScaledAdam(
        learn_rate, L2=L2, beta1=beta1, beta2=beta2, eps=eps, grad_clip=grad_clip,
        use_averages=use_averages, L2_is_weight_decay=L2_is_weight_decay, use_radam=False,
    )


def _glibc_malloc_trim() -> Optional[Callable[[int], int]]:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to call
        return None


@registry.callbacks("spacy_mtl.release_freed_memory.v1")
def release_freed_memory(every: int = 1) -> Callable[[Language, dict], None]:
    """Before every ``every``-th update, return the memory glibc holds free to the system.

    A training step allocates and frees gigabytes of tensors of ever-changing
    shapes (batches and encoder passes differ in size). glibc keeps freed
    blocks below its mmap threshold, which it raises as large blocks are freed,
    in its heaps, and the fragments add up: without a trim, training's resident
    memory kept growing with the steps (metrics/train_memory). Elsewhere than
    glibc this does nothing."""
    trim = _glibc_malloc_trim()

    def before_update(nlp: Language, args: dict) -> None:
        if trim is not None and args["step"] % every == 0:
            trim(0)

    return before_update
