"""HTML views of an analysis: displaCy for dependencies and entities, plus
renderers for SRL frames and semantic dependency graphs, and the ``serve --ui`` page."""
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


def render_all(doc: Doc) -> Dict[str, str]:
    return {"dep": render_dep(doc), "ner": render_ents(doc), "srl": render_srl(doc), "sdp": render_sdp(doc)}


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
<script>
document.getElementById("form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/render", {method: "POST", headers: {"Content-Type": "application/json"},
                                    body: JSON.stringify({text: document.getElementById("text").value})});
  const views = await r.json();
  for (const key of ["ner", "dep", "srl", "sdp"]) document.getElementById(key).innerHTML = views[key] || "";
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
