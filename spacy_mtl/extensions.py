"""Doc extensions (plain lists/dicts/ints, so they survive DocBin, to_bytes and n_process).

* ``doc._.mtl_layers``: the annotation layers a training doc really carries.
* ``doc._.sdp``: semantic dependency arcs ``[head, dep, label]``, head -1 = root.
* ``doc._.srl``: ``[{"predicate": i, "sense": str, "arguments": [[start, end, label], ...]}]``,
  token offsets, end exclusive.
* ``doc._.con``: one constituency tree per sentence, nested ``[label, child, ...]`` lists
  whose leaves are token indices, outermost label ``TOP`` (see ``algorithms/trees.py``).
* ``doc._.amr``: one AMR graph per sentence, ``{"penman": str, "triples": [[source,
  role, target], ...], "top": var, "alignments": {var: token index}}``.
* ``token._.sdp_heads`` / ``doc._.srl_frames``: accessors returning Tokens and Spans;
  ``doc._.con_trees`` (``nltk.Tree`` per sentence) and ``doc._.con_strings`` (bracketed).
* ``doc._.to_dict()``: the HanLP-style view of the whole analysis.
"""
from typing import Dict, Iterable, List, Optional

from spacy.tokens import Doc, Span, Token

ALL_LAYERS = ("tok", "tag", "pos", "morph", "lemma", "dep", "ner", "srl", "sdp", "con", "amr")


def _sdp_heads(token: Token) -> List:
    arcs = token.doc._.sdp or []
    return [(None if h < 0 else token.doc[h], label) for h, d, label in arcs if d == token.i]


def _srl_frames(doc: Doc) -> List[Dict]:
    return [
        {"predicate": doc[f["predicate"]], "sense": f["sense"],
         "arguments": [Span(doc, s, e, label=label) for s, e, label in f["arguments"]]}
        for f in (doc._.srl or [])
    ]


def _con_strings(doc: Doc) -> List[str]:
    from .algorithms.trees import bracketed

    words, tags = [t.text for t in doc], [t.tag_ for t in doc]
    return [bracketed(tree, words, tags) for tree in (doc._.con or [])]


def _con_trees(doc: Doc) -> List:
    from nltk.tree import Tree

    return [Tree.fromstring(s) for s in _con_strings(doc)]


def to_dict(doc: Doc) -> Dict:
    """The analysis as HanLP users know it: ``tok``, ``pos``, ``ner`` as (text, label, start, end), ``dep`` as (head, rel) with 1-based heads (0 = root), ``srl``, ``sdp``, ``con`` as bracketed trees, ``amr`` as PENMAN."""
    out: Dict = {"tok": [t.text for t in doc]}
    if doc.has_annotation("TAG"):
        out["pos"] = [t.tag_ for t in doc]
    if doc.has_annotation("POS"):
        out["upos"] = [t.pos_ for t in doc]
    if doc.has_annotation("LEMMA"):
        out["lemma"] = [t.lemma_ for t in doc]
    if doc.has_annotation("MORPH"):
        out["feats"] = [str(t.morph) for t in doc]
    if doc.has_annotation("ENT_IOB"):
        out["ner"] = [(e.text, e.label_, e.start, e.end) for e in doc.ents]
    for key, group in doc.spans.items():
        out[key] = [(s.text, s.label_, s.start, s.end) for s in group]
    if doc.has_annotation("DEP"):
        out["dep"] = [(0 if t.head.i == t.i else t.head.i + 1, t.dep_) for t in doc]
    if doc._.srl is not None:
        out["srl"] = [
            [(doc[s:e].text, label, s, e) for s, e, label in f["arguments"]]
            + [(doc[f["predicate"]].text, "PRED", f["predicate"], f["predicate"] + 1)]
            for f in doc._.srl
        ]
    if doc._.sdp is not None:
        heads: List[List] = [[] for _ in doc]
        for h, d, label in doc._.sdp:
            heads[d].append((h + 1, label))
        out["sdp"] = heads
    if doc._.con is not None:
        out["con"] = _con_strings(doc)
    if doc._.amr is not None:
        out["amr"] = [graph["penman"] for graph in doc._.amr]
    return out


GRAPH_EXTENSIONS = ("srl", "sdp", "con", "amr")  # doc-level lists whose items hold token offsets


def _shift_tree(node, offset: int):
    if isinstance(node, int):
        return node + offset
    return [node[0], *(_shift_tree(child, offset) for child in node[1:])]


def shift_annotation(name: str, item, offset: int):
    """One item of ``doc._.<name>`` (a GRAPH_EXTENSIONS name) with its token
    offsets moved by ``offset``: what joining docs one after another needs."""
    if name == "sdp":
        head, dep, label = item
        return [head + offset if head >= 0 else head, dep + offset, label]
    if name == "srl":
        return {**item, "predicate": item["predicate"] + offset,
                "arguments": [[s + offset, e + offset, label] for s, e, label in item["arguments"]]}
    if name == "con":
        return _shift_tree(item, offset)
    if name == "amr":
        return {**item, "alignments": {var: i + offset for var, i in item["alignments"].items()}}
    raise ValueError(f"no token offsets known for doc._.{name}")


def register_extensions() -> None:
    for name in ("mtl_layers", "sdp", "srl", "con", "amr"):
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=None)
    if not Token.has_extension("sdp_heads"):
        Token.set_extension("sdp_heads", getter=_sdp_heads)
    if not Doc.has_extension("srl_frames"):
        Doc.set_extension("srl_frames", getter=_srl_frames)
    if not Doc.has_extension("con_strings"):
        Doc.set_extension("con_strings", getter=_con_strings)
    if not Doc.has_extension("con_trees"):
        Doc.set_extension("con_trees", getter=_con_trees)
    if not Doc.has_extension("to_dict"):
        Doc.set_extension("to_dict", method=to_dict)


def has_layer(doc: Doc, layer: str) -> bool:
    layers: Optional[Iterable[str]] = doc._.mtl_layers
    return True if layers is None else layer in set(layers)


def set_layers(doc: Doc, layers: Iterable[str]) -> None:
    doc._.mtl_layers = sorted(set(layers))


register_extensions()
