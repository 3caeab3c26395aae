"""Writers for parsed Docs: CoNLL-U, JSON lines (the HanLP-style view), plain text."""
import json
from typing import Iterable, Iterator

from spacy.tokens import Doc


def to_conllu(doc: Doc) -> str:
    """One block per sentence. DEPS holds the semantic dependency arcs (head:label),
    MISC holds SpaceAfter=No and the entity tag (NER=B-PER)."""
    sdp = {}
    for h, d, label in doc._.sdp or []:
        sdp.setdefault(d, []).append((h, label))
    sents = list(doc.sents) if doc.has_annotation("SENT_START") or doc.has_annotation("DEP") else [doc[:]]
    blocks = []
    for sent in sents:
        lines = [f"# text = {sent.text}"]
        for t in sent:
            head = 0 if t.head.i == t.i else t.head.i - sent.start + 1
            deps = "|".join(f"{0 if h < 0 else h - sent.start + 1}:{label}" for h, label in sorted(sdp.get(t.i, []))) or "_"
            misc = [] if t.whitespace_ else ["SpaceAfter=No"]
            if t.ent_iob_ in ("B", "I"):
                misc.append(f"NER={t.ent_iob_}-{t.ent_type_}")
            cols = [str(t.i - sent.start + 1), t.text, t.lemma_ or "_", t.pos_ or "_", t.tag_ or "_",
                    str(t.morph) or "_", str(head) if doc.has_annotation("DEP") else "_",
                    t.dep_ or "_", deps, "|".join(misc) or "_"]
            lines.append("\t".join(c.replace("\t", " ").replace("\n", " ") or "_" for c in cols))
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_json(doc: Doc) -> str:
    return json.dumps(doc._.to_dict(), ensure_ascii=False)


def to_text(doc: Doc) -> str:
    view = doc._.to_dict()
    lines = [" ".join(f"{w}/{p}" for w, p in zip(view["tok"], view.get("pos", ["_"] * len(view["tok"]))))]
    if "ner" in view:
        lines.append("ner: " + ", ".join(f"{text}[{label}]" for text, label, _, _ in view["ner"]))
    if "dep" in view:
        lines.append("dep: " + " ".join(f"{w}<-{view['tok'][h - 1] if h else 'ROOT'}:{rel}"
                                        for w, (h, rel) in zip(view["tok"], view["dep"])))
    for frame in view.get("srl", []):
        lines.append("srl: " + " ".join(f"[{label} {text}]" for text, label, _, _ in sorted(frame, key=lambda a: a[2])))
    return "\n".join(lines) + "\n"


WRITERS = {"conllu": to_conllu, "json": to_json, "text": to_text}


def write_docs(docs: Iterable[Doc], fmt: str) -> Iterator[str]:
    writer = WRITERS[fmt]
    for doc in docs:
        yield writer(doc)
