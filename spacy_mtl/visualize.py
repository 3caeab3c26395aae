"""HTML views of an analysis: displaCy for dependencies and entities, plus
renderers for SRL frames, semantic dependency graphs, constituency trees and
AMR graphs, and the ``serve --ui`` page."""
import html
from typing import Dict, List

from spacy import displacy
from spacy.tokens import Doc


def render_dep(doc: Doc) -> str:
    return displacy.render(doc, style="dep", page=False, options={"compact": True}) if doc.has_annotation("DEP") else ""


def render_ents(doc: Doc) -> str:
    return displacy.render(doc, style="ent", page=False) if doc.has_annotation("ENT_IOB") else ""


def render_srl(doc: Doc) -> str:
    """One row per predicate; each word shows its role for that predicate."""
    if not doc._.srl:
        return '<p class="srl-empty">no predicates</p>' if doc._.srl is not None else ""
    head = "".join(f"<th>{html.escape(t.text)}</th>" for t in doc)
    rows = []
    for frame in doc._.srl:
        roles = [""] * len(doc)
        for start, end, label in frame["arguments"]:
            for i in range(start, end):
                roles[i] = label
        roles[frame["predicate"]] = f"V:{frame['sense']}"
        cells = "".join(f'<td class="{"pred" if r.startswith("V:") else "arg" if r else ""}">{html.escape(r)}</td>' for r in roles)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="srl"><tr>{head}</tr>{"".join(rows)}</table>'


def render_sdp(doc: Doc, step: int = 60) -> str:
    """Words on a line, every arc drawn above them (several heads per word allowed)."""
    if doc._.sdp is None:
        return ""
    width, height = step * (len(doc) + 1), 40 + 18 * min(len(doc), 12)
    base = height - 30
    x = lambda i: step * (i + 1)  # noqa: E731  (-1, the root, sits at the left edge)
    parts: List[str] = [f'<svg class="sdp" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, t in enumerate(doc):
        parts.append(f'<text x="{x(i)}" y="{base + 20}" text-anchor="middle">{html.escape(t.text)}</text>')
    for h, d, label in doc._.sdp:
        x1, x2 = x(h), x(d)
        top = base - 12 - 9 * min(abs(d - h), 12)
        parts.append(f'<path d="M{x1},{base} C{x1},{top} {x2},{top} {x2},{base}" fill="none" stroke="#446" '
                     f'marker-end="url(#arrow)"/><text x="{(x1 + x2) / 2}" y="{top + 10}" font-size="10" '
                     f'text-anchor="middle">{html.escape(label)}</text>')
    parts.insert(1, '<defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="3" refY="3" orient="auto">'
                    '<path d="M0,0 L6,3 L0,6 z" fill="#446"/></marker></defs>')
    parts.append("</svg>")
    return "".join(parts)


def _tree_svg(tree, words: List[str], step: int = 56, level: int = 44) -> str:
    """One constituency tree: words along the bottom, each phrase above the middle of its children."""
    nodes, edges = [], []  # (x, depth, label, is_word), (parent index, child index)

    def depth_of(node) -> int:
        return 0 if isinstance(node, int) else 1 + max(depth_of(c) for c in node[1:])

    height_levels = depth_of(tree)
    first = min(_leaves(tree))

    def place(node, depth):
        if isinstance(node, int):
            nodes.append((step * (node - first + 1), height_levels, words[node], True))
            return len(nodes) - 1
        kids = [place(child, depth + 1) for child in node[1:]]
        nodes.append((sum(nodes[k][0] for k in kids) / len(kids), depth, node[0], False))
        edges.extend((len(nodes) - 1, k) for k in kids)
        return len(nodes) - 1

    place(tree, 0)
    width = step * (len(_leaves(tree)) + 1)
    height = level * (height_levels + 1)
    y = lambda d: 20 + level * d  # noqa: E731
    parts = [f'<svg class="con" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for p, c in edges:
        parts.append(f'<line x1="{nodes[p][0]}" y1="{y(nodes[p][1]) + 4}" x2="{nodes[c][0]}" y2="{y(nodes[c][1]) - 12}" stroke="#889"/>')
    for x, d, label, is_word in nodes:
        style = 'class="word"' if is_word else 'class="phrase" fill="#335" font-weight="bold"'
        parts.append(f'<text {style} x="{x}" y="{y(d)}" text-anchor="middle">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _leaves(tree) -> List[int]:
    return [tree] if isinstance(tree, int) else [leaf for c in tree[1:] for leaf in _leaves(c)]


def render_con(doc: Doc) -> str:
    """Every sentence's constituency tree as SVG."""
    if doc._.con is None:
        return ""
    words = [t.text for t in doc]
    return "".join(_tree_svg(tree, words) for tree in doc._.con)


def _amr_svg(graph: Dict, doc: Doc, step: int = 120, level: int = 70) -> str:
    """One AMR graph: concepts in layers by distance from the top, roles on the edges."""
    concepts = {s: t for s, r, t in graph["triples"] if r == ":instance"}
    edges = [(s, r, t) for s, r, t in graph["triples"] if r != ":instance" and t in concepts]
    depth = {graph["top"]: 0}
    frontier = [graph["top"]]
    while frontier:  # breadth first, following edges either way
        nxt = []
        for v in frontier:
            for s, _, t in edges:
                for a, b in ((s, t), (t, s)):
                    if a == v and b not in depth:
                        depth[b] = depth[v] + 1
                        nxt.append(b)
        frontier = nxt
    for v in concepts:
        depth.setdefault(v, max(depth.values()) + 1)
    layers: Dict[int, List[str]] = {}
    for v in sorted(concepts, key=lambda v: (depth[v], graph["alignments"].get(v, 0))):
        layers.setdefault(depth[v], []).append(v)
    pos = {v: (step * (i + 0.5), 30 + level * d) for d, vs in layers.items() for i, v in enumerate(vs)}
    width = step * max(len(vs) for vs in layers.values())
    height = 30 + level * (max(layers) + 1)
    parts = [f'<svg class="amr" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for s, r, t in edges:
        (x1, y1), (x2, y2) = pos[s], pos[t]
        parts.append(f'<line x1="{x1}" y1="{y1 + 6}" x2="{x2}" y2="{y2 - 14}" stroke="#668"/>'
                     f'<text x="{(x1 + x2) / 2}" y="{(y1 + y2) / 2}" font-size="10" fill="#a33">{html.escape(r)}</text>')
    for v, (x, yy) in pos.items():
        word = graph["alignments"].get(v)
        anchor = f" ({html.escape(doc[word].text)})" if word is not None and word < len(doc) else ""
        parts.append(f'<text x="{x}" y="{yy}" text-anchor="middle" font-weight="bold">{html.escape(v)}/{html.escape(concepts[v])}</text>'
                     f'<text x="{x}" y="{yy + 13}" text-anchor="middle" font-size="10" fill="#777">{anchor}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_amr(doc: Doc) -> str:
    """Every sentence's AMR graph as SVG, with its PENMAN text."""
    if doc._.amr is None:
        return ""
    return "".join(f'<div class="amr">{_amr_svg(g, doc)}<pre>{html.escape(g["penman"])}</pre></div>' for g in doc._.amr)


def render_all(doc: Doc) -> Dict[str, str]:
    return {"dep": render_dep(doc), "ner": render_ents(doc), "srl": render_srl(doc), "sdp": render_sdp(doc),
            "con": render_con(doc), "amr": render_amr(doc)}


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>spacy_mtl</title>
<style>body{font-family:sans-serif;margin:2em} textarea{width:100%;height:4em} section{margin:1em 0}
table.srl td,table.srl th{border:1px solid #ccc;padding:2px 6px} td.pred{background:#fd8} td.arg{background:#cef}</style>
</head><body>
<h1>spacy_mtl</h1>
<form id="form"><textarea id="text" name="text">我爱北京天安门。</textarea><br><button type="submit">Analyse</button></form>
<section><h2>Entities</h2><div id="ner"></div></section>
<section><h2>Dependencies</h2><div id="dep"></div></section>
<section><h2>Semantic roles</h2><div id="srl"></div></section>
<section><h2>Semantic dependencies</h2><div id="sdp"></div></section>
<section><h2>Constituency</h2><div id="con"></div></section>
<section><h2>AMR</h2><div id="amr"></div></section>
<script>
document.getElementById("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/render", {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({text: document.getElementById("text").value})});
  const views = await r.json();
  for (const key of ["ner", "dep", "srl", "sdp", "con", "amr"]) document.getElementById(key).innerHTML = views[key] || "";
  document.body.dataset.rendered = "yes";
});
// /?text=... analyses that text on load (links, and headless checks)
const given = new URLSearchParams(location.search).get("text");
if (given) { document.getElementById("text").value = given; document.getElementById("form").requestSubmit(); }
</script></body></html>
"""


def mount_ui(app, nlp) -> None:
    """GET / serves the page; POST /render returns the HTML views of one text."""
    from fastapi import HTTPException
    from fastapi.responses import HTMLResponse
    from pydantic import BaseModel

    class RenderRequest(BaseModel):
        text: str

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.post("/render")
    def render(request: RenderRequest) -> Dict[str, str]:
        if len(request.text) > 5000:
            raise HTTPException(413, "the page renders texts of up to 5,000 characters")
        return render_all(nlp(request.text))


def headless_chromium(url: str, profile: str, *options: str) -> List[str]:
    """The command line that loads a page of the ``--ui`` in headless Chromium
    (Debian's ``chromium``) with no network of its own and a throwaway profile;
    ``options`` add e.g. ``--dump-dom`` or ``--screenshot=PATH``. Raises if no
    Chromium is installed."""
    import shutil

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("no chromium on PATH (Debian: apt-get install chromium)")
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--virtual-time-budget=20000", *options, url]
