"""Doc extensions shared by the components (plain data, so they serialise)."""
from typing import Iterable, Optional, Set

from spacy.tokens import Doc

ALL_LAYERS = ("tok", "tag", "pos", "morph", "lemma", "dep", "ner", "srl", "sdp", "con", "amr")


def register_extensions() -> None:
    if not Doc.has_extension("mtl_layers"):
        # Which annotation layers a training document really carries (None = all it has).
        Doc.set_extension("mtl_layers", default=None)


def has_layer(doc: Doc, layer: str) -> bool:
    layers: Optional[Iterable[str]] = doc._.mtl_layers
    return True if layers is None else layer in set(layers)


def set_layers(doc: Doc, layers: Iterable[str]) -> None:
    doc._.mtl_layers = sorted(set(layers))


register_extensions()
