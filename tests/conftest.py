import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("SPACY_MTL_CORPORA", ROOT.parent / "shared" / "corpora"))
GSDSIMP = CORPORA / "UD_Chinese-GSDSimp"
CONFIG = ROOT / "project" / "configs" / "zh_mtl_base.cfg"
TINY_WIDTH = 32


@pytest.fixture(scope="session")
def gsd_docs():
    from spacy.vocab import Vocab

    from spacy_mtl.corpora.ner import add_entities, read_uner
    from spacy_mtl.corpora.ud import read_conllu

    from spacy_mtl.corpora.srl import add_frames, read_up

    vocab = Vocab()
    docs = list(read_conllu(GSDSIMP / "zh_gsdsimp-ud-dev.conllu", vocab))[:40]
    add_entities(docs, list(read_uner(CORPORA / "UNER_Chinese-GSDSIMP" / "zh_gsdsimp-ud-dev.iob2", vocab)))
    add_frames(docs, read_up(CORPORA / "UP_Chinese-GSD" / "zh_gsd-up-dev.conllup"))
    return docs


@pytest.fixture(scope="session")
def sdp_docs():
    from spacy.vocab import Vocab

    from spacy_mtl.corpora.sdp import read_semeval

    return list(read_semeval(CORPORA / "SemEval-2016" / "validation" / "news.valid.conll", Vocab()))[:30]


@pytest.fixture(scope="session")
def con_docs():
    from spacy.vocab import Vocab

    from spacy_mtl.corpora.trees import read_sinica

    docs = []
    for _, doc in read_sinica(CORPORA / "sinica_treebank" / "sinica_treebank.zip", Vocab()):
        docs.append(doc)
        if len(docs) == 30:
            return docs


@pytest.fixture(scope="session")
def amr_docs():
    from spacy.vocab import Vocab

    from spacy_mtl.corpora.amr import read_amr

    return read_amr(CORPORA / "AMR-LittlePrince" / "amr-bank-struct-v1.6-test.txt", Vocab(), text_field="zh")[:30]


@pytest.fixture(scope="session")
def ner_docs():
    """Weibo and Resume docs for the ner_weibo and ner_resume heads (20 each)."""
    from spacy.vocab import Vocab

    from spacy_mtl.corpora.ner import read_resume, read_weibo

    vocab = Vocab()
    weibo = list(read_weibo(CORPORA / "WeiboNER" / "weiboNER_2nd_conll.dev", vocab, layer="ner_weibo"))[:20]
    resume = list(read_resume(CORPORA / "ResumeNER" / "dev.char.bmes", vocab, layer="ner_resume"))[:20]
    return weibo, resume


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, gsd_docs, con_docs, amr_docs, ner_docs):
    from spacy_mtl.encoder.tiny import build_tiny_encoder

    chars = set("".join(d.text for d in gsd_docs + con_docs + amr_docs + ner_docs[0] + ner_docs[1])) | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789。，！？")
    return build_tiny_encoder(tmp_path_factory.mktemp("encoder") / "tiny", chars)


def tiny_config(encoder: Path, train: Path, dev: Path, train_sdp: Path, dev_sdp: Path, train_con: Path = None,
                dev_con: Path = None, train_amr: Path = None, dev_amr: Path = None, train_weibo: Path = None,
                dev_weibo: Path = None, train_resume: Path = None, dev_resume: Path = None, steps: int = 4):
    from spacy.util import load_config

    overrides = {
        "paths.encoder": str(encoder), "paths.train_ud": str(train), "paths.dev_ud": str(dev),
        "paths.train_sdp": str(train_sdp), "paths.dev_sdp": str(dev_sdp),
        "paths.train_con": str(train_con or ""), "paths.dev_con": str(dev_con or ""),
        "paths.train_amr": str(train_amr or ""), "paths.dev_amr": str(dev_amr or ""),
        "paths.train_weibo": str(train_weibo or ""), "paths.dev_weibo": str(dev_weibo or ""),
        "paths.train_resume": str(train_resume or ""), "paths.dev_resume": str(dev_resume or ""),
        "components.dep.model.arc_width": 16, "components.dep.model.label_width": 8,
        "components.con.model.arc_width": 16, "components.con.model.label_width": 8,
        "components.amr.model.arc_width": 16, "components.amr.model.label_width": 8,
        "components.lemma.min_tree_freq": 1, "components.transformer.model.get_spans.window": 24,
        "components.transformer.model.get_spans.overlap": 8,
        "training.max_steps": steps, "training.eval_frequency": steps,
    }
    return load_config(CONFIG, overrides=overrides, interpolate=False)


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory, gsd_docs, sdp_docs, con_docs, amr_docs, ner_docs):
    from spacy.tokens import DocBin

    folder = tmp_path_factory.mktemp("corpus")
    DocBin(docs=gsd_docs[:30], store_user_data=True).to_disk(folder / "train.spacy")
    DocBin(docs=gsd_docs[30:], store_user_data=True).to_disk(folder / "dev.spacy")
    DocBin(docs=sdp_docs[:20], store_user_data=True).to_disk(folder / "sdp-train.spacy")
    DocBin(docs=sdp_docs[20:], store_user_data=True).to_disk(folder / "sdp-dev.spacy")
    DocBin(docs=con_docs[:20], store_user_data=True).to_disk(folder / "con-train.spacy")
    DocBin(docs=con_docs[20:], store_user_data=True).to_disk(folder / "con-dev.spacy")
    DocBin(docs=amr_docs[:20], store_user_data=True).to_disk(folder / "amr-train.spacy")
    DocBin(docs=amr_docs[20:], store_user_data=True).to_disk(folder / "amr-dev.spacy")
    for name, docs in zip(("weibo", "resume"), ner_docs):
        DocBin(docs=docs[:15], store_user_data=True).to_disk(folder / f"{name}-train.spacy")
        DocBin(docs=docs[15:], store_user_data=True).to_disk(folder / f"{name}-dev.spacy")
    return tuple(folder / f"{name}.spacy" for name in ("train", "dev", "sdp-train", "sdp-dev", "con-train", "con-dev",
                                                       "amr-train", "amr-dev", "weibo-train", "weibo-dev",
                                                       "resume-train", "resume-dev"))


@pytest.fixture(scope="session")
def trained_nlp(tiny_encoder, corpus_files, tmp_path_factory):
    """A tiny pipeline trained for a few steps with `spacy train` and saved."""
    from spacy.training.loop import train
    from spacy.training.initialize import init_nlp

    config = tiny_config(tiny_encoder, *corpus_files, steps=6)
    nlp = init_nlp(config)
    out = tmp_path_factory.mktemp("model")
    nlp, _ = train(nlp, out, stdout=io.StringIO(), stderr=io.StringIO())
    return nlp, out / "model-last"


def run_python(code: str, *args) -> str:
    """Run code in a fresh interpreter; return its stdout."""
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise AssertionError(result.stderr[-3000:])
    return result.stdout
