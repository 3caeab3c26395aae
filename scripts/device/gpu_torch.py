"""Run spaCy training/evaluation with every torch module on a CUDA GPU while
thinc's own layers, the heads' losses and the decoders stay in NumPy on the CPU.

spacy_mtl's heads are written against NumPy; rather than port them to CuPy,
this launcher moves only the torch side (the transformer and the biaffine
scorers: nearly all the arithmetic) to the GPU: torch modules are created on
``--device`` and every torch→array conversion returns NumPy. Used on a lent
GPU machine; nothing in the package depends on it.

    python scripts/device/gpu_torch.py train CONFIG OUTPUT [--device cuda:0] [spacy train overrides...]
    python scripts/device/gpu_torch.py half MODEL OUT      # torch weights as float16, for transport
"""
import sys
from pathlib import Path

import torch
import thinc.api
import thinc.util

DEVICE = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def _get_device() -> "torch.device":
    return DEVICE


def _torch2xp(tensor, *, ops=None):
    return tensor.detach().cpu().numpy()


def patch() -> None:
    """Point every imported reference of the two thinc helpers at the GPU-side versions."""
    import spacy  # noqa: F401  (import everything that holds references first)
    import spacy_transformers  # noqa: F401
    import spacy_mtl.pipeline  # noqa: F401
    import thinc.shims.pytorch  # noqa: F401

    originals = {"torch2xp": (thinc.util.torch2xp, _torch2xp),
                 "get_torch_default_device": (thinc.util.get_torch_default_device, _get_device)}
    for module in list(sys.modules.values()):
        for name, (old, new) in originals.items():
            if getattr(module, name, None) is old:
                setattr(module, name, new)


def half(model: str, out: str) -> None:
    import spacy

    nlp = spacy.load(model)
    for _, proc in nlp.pipeline:
        for node in getattr(proc, "model", None).walk() if hasattr(proc, "model") else []:
            for shim in node.shims:
                shim._model.half()
    nlp.to_disk(out)


def main(argv):
    global DEVICE
    if "--device" in argv:
        i = argv.index("--device")
        DEVICE = torch.device(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    patch()
    action = argv[0]
    if action == "train":
        from spacy.cli._util import parse_config_overrides
        from spacy.cli.train import train

        train(argv[1], argv[2], use_gpu=-1, overrides=parse_config_overrides(argv[3:]))
    elif action == "half":
        half(argv[1], argv[2])
    elif action == "evaluate":
        sys.argv = ["evaluate.py"] + argv[1:]
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "project" / "scripts"))
        import evaluate

        evaluate.main()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
