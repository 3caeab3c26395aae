"""Universal PropBank 2.0 (CoNLL-U Plus standoff) → ``doc._.srl`` on the UD docs.

UP_Chinese-GSD lists, per sentence id (train-sN, dev-sN, test-sN) and token id,
the predicate sense (UP:PRED), argument heads (UP:ARGHEADS, ``label:id``) and
spans (UP:ARGSPANS, ``label:start-end``). Sentences join the GSDSimp docs by
``sent_id``; token ids are the same.
"""
from pathlib import Path
from typing import Dict, List

from spacy.tokens import Doc
from wasabi import msg

from ..extensions import set_layers
from .ud import CorpusError, _blocks_with_lines


def _args(field: str, kind: str) -> List:
    if field in ("_", ""):
        return []
    out = []
    for item in field.split("|"):
        label, _, value = item.rpartition(":")
        if kind == "span":
            start, _, end = value.partition("-")
            out.append([int(start) - 1, int(end or start), label])
        else:
            out.append([int(value) - 1, label])
    return out


def read_up(path: Path, on_error: str = "stop") -> Dict[str, List[Dict]]:
    """{sent_id: frames}; frames are {"predicate", "sense", "arguments", "heads"} with 0-based token ids."""
    frames: Dict[str, List[Dict]] = {}
    for line_no, lines in _blocks_with_lines(Path(path)):
        sent_id = next((l.split("=", 1)[1].strip() for l in lines if l.startswith("# sent_id")), None)
        if sent_id is None:
            continue
        try:
            doc_frames = []
            for line in lines:
                if line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 4:
                    raise CorpusError(f"expected 4 columns, got {len(cols)}")
                if cols[1] == "_":
                    continue
                doc_frames.append({"predicate": int(cols[0]) - 1, "sense": cols[1],
                                   "arguments": _args(cols[3], "span"), "heads": _args(cols[2], "head")})
            frames[sent_id] = doc_frames
        except (CorpusError, ValueError) as err:
            if on_error == "stop":
                raise CorpusError(f"{path}:{line_no}: {err}") from err
            msg.warn(f"skipped {path}:{line_no}: {err}")
    return frames


def add_frames(docs: List[Doc], frames: Dict[str, List[Dict]]) -> int:
    """Attach frames to the docs whose ``user_data["sent_id"]`` matches; returns how many matched."""
    matched = 0
    for doc in docs:
        doc_frames = frames.get(doc.user_data.get("sent_id"))
        if doc_frames is None:
            continue
        n = len(doc)
        if any(f["predicate"] >= n or any(e > n or s < 0 or s >= e for s, e, _ in f["arguments"]) for f in doc_frames):
            continue  # token ids that do not fit this doc: leave it without SRL
        doc._.srl = [dict(f) for f in doc_frames]
        set_layers(doc, set(doc._.mtl_layers or []) | {"srl"})
        matched += 1
    return matched
