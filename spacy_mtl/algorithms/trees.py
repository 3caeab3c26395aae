"""Constituency trees as plain data, and their spans.

A tree is a nested list ``[label, child, ...]`` whose leaves are token indices
(ints). Preterminals are not stored: a word's POS lives on its token. The
outermost node of a sentence is always ``TOP``.
"""
from typing import Dict, List, Sequence, Tuple, Union

Tree = List  # [label, *children]; a child is a Tree or an int token index
Spans = Dict[Tuple[int, int], List[str]]  # (start, end) -> labels, outermost first

TOP = "TOP"
CHAIN = "+"  # a unary chain S→VP over one span is the single label "S+VP"


def leaves(tree: Union[Tree, int]) -> List[int]:
    if isinstance(tree, int):
        return [tree]
    return [leaf for child in tree[1:] for leaf in leaves(child)]


def tree_spans(tree: Tree) -> Spans:
    """Constituents below TOP as {(first leaf, last leaf + 1): labels outermost first}."""
    spans: Spans = {}

    def visit(node):
        if isinstance(node, int):
            return node, node + 1
        bounds = [visit(child) for child in node[1:]]
        start, end = bounds[0][0], bounds[-1][1]
        if node[0] != TOP:
            spans.setdefault((start, end), []).append(node[0])
        return start, end

    visit(tree)
    # visit() adds inner nodes first; unary chains read outermost first
    return {span: labels[::-1] for span, labels in spans.items()}


def _properly_nested(spans: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """Spans sorted by (start, -end), dropping any that crosses one kept earlier."""
    kept: List[Tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda se: (se[0], -se[1])):
        if all(e <= ks or s >= ke or (ks <= s and e <= ke) for ks, ke in kept):
            kept.append((s, e))
    return kept


def tree_from_spans(start: int, end: int, spans: Spans) -> Tree:
    """The tree over tokens start..end-1 with the given constituents under TOP.

    Spans outside start..end, with no label, or crossing a larger kept span are
    ignored, so the result is always a well-formed tree covering every token once."""
    kept = _properly_nested([se for se, labels in spans.items() if labels and start <= se[0] < se[1] <= end])

    def children(s: int, e: int, i: int) -> Tuple[List, int]:
        out: List = []
        pos = s
        while i < len(kept) and kept[i][1] <= e and kept[i][0] < e:
            ks, ke = kept[i]
            out.extend(range(pos, ks))
            labels = spans[(ks, ke)]
            node: Tree = [labels[0]]
            inner = node
            for label in labels[1:]:
                inner.append([label])
                inner = inner[-1]
            kids, i = children(ks, ke, i + 1)
            inner.extend(kids)
            out.append(node)
            pos = ke
        out.extend(range(pos, e))
        return out, i

    kids, _ = children(start, end, 0)
    return [TOP] + kids


def bracketed(tree: Union[Tree, int], words: Sequence[str], tags: Sequence[str]) -> str:
    """PTB-style string; preterminals are the tokens' tags ("_" when untagged)."""
    if isinstance(tree, int):
        word = words[tree].replace("(", "-LRB-").replace(")", "-RRB-")
        return f"({tags[tree] or '_'} {word})"
    return "(" + tree[0] + " " + " ".join(bracketed(c, words, tags) for c in tree[1:]) + ")"
