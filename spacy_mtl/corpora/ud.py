"""Universal Dependencies CoNLL-U → spaCy Docs, keeping the text exactly."""
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import conllu
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from wasabi import msg

from ..extensions import set_layers

UD_LAYERS = ("tok", "tag", "pos", "morph", "lemma", "dep")


class CorpusError(ValueError):
    """A malformed sentence, reported with its file and line."""


def _blocks_with_lines(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """(first line number, lines) of every blank-line separated block."""
    block: List[str] = []
    first = 0
    with Path(path).open(encoding="utf8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.strip():
                if not block:
                    first = n
                block.append(line)
            elif block:
                yield first, block
                block = []
    if block:
        yield first, block


def _sentence_lines(path: Path) -> List[int]:
    """1-based line number where each sentence block starts."""
    return [first for first, _ in _blocks_with_lines(path)]


def _check_tree(heads: List[int]) -> Optional[str]:
    n = len(heads)
    if any(h < 0 or h > n for h in heads):
        return "a head points outside the sentence"
    for start in range(1, n + 1):
        seen, node = set(), start
        while node != 0:
            if node in seen:
                return "the heads contain a cycle"
            seen.add(node)
            node = heads[node - 1]
    return None


def sentence_to_doc(vocab: Vocab, sentence: conllu.TokenList) -> Doc:
    tokens = [t for t in sentence if isinstance(t["id"], int)]
    words = [t["form"] for t in tokens]
    spaces = [not (t["misc"] or {}).get("SpaceAfter") == "No" for t in tokens]
    spaces[-1] = False if tokens else False
    heads_1 = [t["head"] if t["head"] is not None else 0 for t in tokens]
    problem = _check_tree(heads_1)
    if problem:
        raise CorpusError(problem)
    feats = ["|".join(f"{k}={v}" for k, v in sorted((t["feats"] or {}).items())) for t in tokens]
    doc = Doc(
        vocab, words=words, spaces=spaces,
        tags=[t["xpos"] or "" for t in tokens], pos=[t["upos"] for t in tokens],
        morphs=feats, lemmas=[t["lemma"] or t["form"] for t in tokens],
        heads=[h - 1 if h else i for i, h in enumerate(heads_1)],
        deps=[t["deprel"] for t in tokens],
        sent_starts=[True] + [False] * (len(tokens) - 1),
    )
    text = sentence.metadata.get("text")
    if text is not None and text.strip() != doc.text.strip():
        raise CorpusError(f"the words do not spell the sentence text {text!r}")
    set_layers(doc, UD_LAYERS)
    if "sent_id" in sentence.metadata:
        doc.user_data["sent_id"] = sentence.metadata["sent_id"]
    return doc


def read_conllu(path: Path, vocab: Optional[Vocab] = None, on_error: str = "stop") -> Iterator[Doc]:
    """One Doc per sentence. on_error: "stop" raises, "skip" warns and goes on."""
    path = Path(path)
    vocab = vocab or Vocab()
    lines = _sentence_lines(path)
    with path.open(encoding="utf8") as f:
        for i, sentence in enumerate(conllu.parse_incr(f)):
            where = f"{path}:{lines[i] if i < len(lines) else '?'} (sent_id {sentence.metadata.get('sent_id', i)})"
            try:
                yield sentence_to_doc(vocab, sentence)
            except (CorpusError, KeyError, TypeError, ValueError) as err:
                if on_error == "stop":
                    raise CorpusError(f"{where}: {err}") from err
                msg.warn(f"skipped {where}: {err}")


def convert_conllu(path: Path, output: Path, on_error: str = "stop") -> int:
    docs = list(read_conllu(path, on_error=on_error))
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=True).to_disk(output)
    return len(docs)
