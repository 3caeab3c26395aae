"""HanLP's ``tasks=`` / ``skip_tasks=`` in spaCy's idiom: which components to disable.

Task names are HanLP's where they exist (``tok``, ``pos``, ``dep``, ``ner``,
``srl``, ``sdp``, ``con``, ``amr``) plus the component names themselves; ``*`` patterns work
(``ner*``). Asking for a task keeps what it needs: every head needs the
encoder and ``tok``; ``dep``, ``sdp``, ``con`` and ``amr`` also need the sentencizer.

    with nlp.select_pipes(disable=disabled_components(nlp, tasks=["dep"])):
        doc = nlp(text)
    docs = nlp.pipe(texts, disable=disabled_components(nlp, skip_tasks=["srl", "sdp"]))
"""
from fnmatch import fnmatch
from typing import Dict, Iterable, List, Optional, Set

from spacy.language import Language

# HanLP task name -> factories that provide it
TASK_FACTORIES: Dict[str, Set[str]] = {
    "tok": {"mtl_segmenter"},
    "pos": {"tagger"},
    "upos": {"morphologizer"},
    "feats": {"morphologizer"},
    "lemma": {"trainable_lemmatizer", "lemmatizer"},
    "dep": {"mtl_biaffine_parser", "parser"},
    "ner": {"mtl_ner", "ner"},
    "srl": {"mtl_srl"},
    "sdp": {"mtl_sdp"},
    "con": {"mtl_con"},
    "amr": {"mtl_amr"},
}
ENCODER_FACTORIES = {"transformer", "tok2vec"}
SENTENCE_FACTORIES = {"sentencizer", "senter"}
NEEDS_SENTENCES = {"mtl_biaffine_parser", "mtl_sdp", "mtl_con", "mtl_amr", "parser"}


def _factories(nlp: Language) -> Dict[str, str]:
    return {name: nlp.get_pipe_meta(name).factory for name in nlp.component_names}


def _matching(nlp: Language, patterns: Iterable[str]) -> Set[str]:
    factories = _factories(nlp)
    found: Set[str] = set()
    for pattern in patterns:
        hits = {n for n in factories if fnmatch(n, pattern)}
        hits |= {n for task, facs in TASK_FACTORIES.items() if fnmatch(task, pattern)
                 for n, f in factories.items() if f in facs}
        if not hits:
            raise ValueError(f"no component or task matches {pattern!r}; this pipeline has {nlp.component_names}")
        found |= hits
    return found


def required_components(nlp: Language, names: Iterable[str]) -> Set[str]:
    """The components plus everything they need to run."""
    factories = _factories(nlp)
    keep = set(names)
    for name in list(keep):
        if factories[name] in ENCODER_FACTORIES | SENTENCE_FACTORIES:
            continue
        keep |= {n for n, f in factories.items() if f in ENCODER_FACTORIES}
        if factories[name] != "mtl_segmenter":
            keep |= {n for n, f in factories.items() if f == "mtl_segmenter"}
        if factories[name] in NEEDS_SENTENCES:
            keep |= {n for n, f in factories.items() if f in SENTENCE_FACTORIES}
    return keep


def disabled_components(nlp: Language, tasks: Optional[Iterable[str]] = None,
                        skip_tasks: Optional[Iterable[str]] = None) -> List[str]:
    """Names to pass as ``disable=``: everything ``tasks`` does not need, and ``skip_tasks``.

    Skipping wins, as in HanLP: ``skip_tasks=["tok"]`` on a Doc of given words
    keeps those words while later heads still run."""
    enabled = set(nlp.pipe_names) if tasks is None else required_components(nlp, _matching(nlp, tasks))
    enabled -= _matching(nlp, skip_tasks or [])
    return [name for name in nlp.pipe_names if name not in enabled]
