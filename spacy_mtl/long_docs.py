"""Long texts in bounded memory: analyse them in groups of whole sentences and join the results.

``nlp(text)`` keeps a whole document's encoder output, and each head's word
vectors for the whole document, in memory at once: about 7 MB per 1,000
characters on the default encoder. Every sentence is already an encoder window
of its own and every head decodes sentence by sentence, so a long text can be
cut where its sentences end, each group of sentences analysed as a document of
its own, and the groups joined into one ``Doc`` that holds the same analysis.
Memory then depends on the group size, not on the length of the text.

    from spacy_mtl.long_docs import pipe_long
    for doc in pipe_long(nlp, texts):        # like nlp.pipe
        ...

The joined ``Doc`` has every annotation (words, tags, morphology, lemmas,
dependencies, sentences, entities, span groups, and the ``srl``/``sdp``/``con``/
``amr`` extensions with their token offsets shifted) but not the encoder
output ``doc._.trf_data``, whose size is what this avoids. A text no longer
than ``max_chars`` is analysed by ``nlp`` as it is.
"""
import warnings
from typing import Iterable, Iterator, List, Sequence, Union

from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

from .extensions import GRAPH_EXTENSIONS, shift_annotation
from .ml.models.char_transformer import CLOSING, SENTENCE_FINAL, sentence_cuts
from .pipeline.segmenter import is_standalone_punct

DEFAULT_MAX_CHARS = 4000

# A group may end only where the encoder and the sentencizer both end a
# sentence, whatever words the segmenter makes: after punctuation that is
# always a word of its own and in the sentencizer's list (。！？), with any
# closing quotes, before a word that is not punctuation. (A cut at a line
# break or after ". " would start a sentence the whole text does not have.)
GROUP_FINAL = frozenset(c for c in SENTENCE_FINAL if is_standalone_punct(c) and c in Sentencizer.default_punct_chars)


def _group_cuts(doc: Doc) -> Iterator[int]:
    """Character offsets where a group of sentences may end (see GROUP_FINAL)."""
    for cut in sentence_cuts(doc):
        last = cut - 1
        while last > 0 and doc[last].text in CLOSING:
            last -= 1
        if doc[last].text in GROUP_FINAL and not doc[cut].is_punct:
            yield doc[cut].idx


def sentence_groups(nlp: Language, text: str, max_chars: int = DEFAULT_MAX_CHARS) -> List[str]:
    """``text`` cut into consecutive pieces of whole sentences, each at most
    ``max_chars`` characters unless one sentence alone is longer. The cuts are
    among the encoder's own sentence cuts (``sentence_cuts``), so each sentence
    is encoded exactly as it is inside the whole text, and where the
    sentencizer splits too (``GROUP_FINAL``). ``"".join`` of the pieces is
    ``text``."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if len(text) <= max_chars:
        return [text]
    doc = nlp.make_doc(text)
    starts = [0, *_group_cuts(doc)]
    groups, group_start = [], 0
    for start, end in zip(starts, starts[1:] + [len(text)]):
        if end - group_start > max_chars and start > group_start:
            groups.append(text[group_start:start])
            group_start = start
    groups.append(text[group_start:])
    return groups


def join_docs(docs: Sequence[Doc]) -> Doc:
    """One ``Doc`` from consecutive analysed pieces of a text: ``Doc.from_docs``
    with no whitespace added, then the graph extensions of every piece with
    their token offsets shifted (``from_docs`` keeps no doc-level extension)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\[W101\]")  # doc-level extensions: joined below
        joined = Doc.from_docs(list(docs), ensure_whitespace=False)
    for name in GRAPH_EXTENSIONS:
        if all(getattr(doc._, name) is None for doc in docs):
            continue
        values, offset = [], 0
        for doc in docs:
            values.extend(shift_annotation(name, item, offset) for item in getattr(doc._, name) or [])
            offset += len(doc)
        setattr(joined._, name, values)
    return joined


def analyse_long(nlp: Language, text: str, max_chars: int = DEFAULT_MAX_CHARS, disable: Iterable[str] = ()) -> Doc:
    """``nlp(text)`` in groups of whole sentences (see ``sentence_groups``),
    one group at a time, so memory is bounded by ``max_chars`` (or the longest
    sentence), whatever the length of ``text``."""
    groups = sentence_groups(nlp, text, max_chars)
    if len(groups) == 1:
        return nlp(text, disable=list(disable))
    docs = []
    for group in groups:
        doc = nlp(group, disable=list(disable))
        if Doc.has_extension("trf_data"):
            doc._.trf_data = None  # the encoder output of this group is what must not pile up
        docs.append(doc)
    joined = join_docs(docs)
    if joined.text != text:  # an invariant of the cuts; never hand back lost text
        raise RuntimeError("joining the sentence groups changed the text")
    return joined


def pipe_long(nlp: Language, texts: Iterable[Union[str, Doc]], *, max_chars: int = DEFAULT_MAX_CHARS,
              batch_size: int = 32, disable: Iterable[str] = ()) -> Iterator[Doc]:
    """Like ``nlp.pipe``, in the same order: texts up to ``max_chars`` characters
    (and ``Doc`` inputs) go through ``nlp.pipe`` in batches, a longer text through
    ``analyse_long``."""
    disable = list(disable)
    batch: List[Union[str, Doc]] = []
    for text in texts:
        if isinstance(text, str) and len(text) > max_chars:
            yield from nlp.pipe(batch, batch_size=batch_size, disable=disable)
            batch = []
            yield analyse_long(nlp, text, max_chars, disable)
            continue
        batch.append(text)
        if len(batch) == batch_size:
            yield from nlp.pipe(batch, batch_size=batch_size, disable=disable)
            batch = []
    yield from nlp.pipe(batch, batch_size=batch_size, disable=disable)
