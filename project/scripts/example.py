"""Print a worked example from a trained pipeline as Markdown (pasted into the README by update_readme.py).

    python scripts/example.py MODEL metrics/example.md
"""
import sys
from pathlib import Path

import spacy

TEXT = "2024年，他在北京大学学习语言学。"

CODE = f'''```python
import spacy
nlp = spacy.load("zh_mtl_base")          # or a folder, e.g. training/mtl_base/model-best
doc = nlp("{TEXT}")
for t in doc:
    print(t.i, t.text, t.tag_, t.pos_, t.morph, t.lemma_, t.head.i, t.dep_)
print(doc.ents, doc._.srl, doc._.con_strings, [g["penman"] for g in doc._.amr], sep="\n")
```
'''


def main(model: str, out: str) -> None:
    nlp = spacy.load(model)
    doc = nlp(TEXT)
    rows = [f"{t.i} {t.text} {t.tag_} {t.pos_} {t.morph} {t.lemma_} {t.head.i} {t.dep_}" for t in doc]
    if "ner" in nlp.pipe_names:
        rows += [str(doc.ents), str(doc._.srl), str(doc._.con_strings), str([g["penman"] for g in doc._.amr or []])]
    body = CODE + "\nprints (this pipeline, " + Path(model).as_posix() + "):\n\n```\n" + "\n".join(rows) + "\n```\n"
    Path(out).write_text(body, encoding="utf8")
    print(body)


if __name__ == "__main__":
    main(*sys.argv[1:])
