import json
import subprocess
import sys

import conllu

from .conftest import ROOT


def spacy_mtl(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "spacy_mtl", *map(str, args)], input=stdin,
                          capture_output=True, text=True, cwd=ROOT)


def test_parse_json_conllu_and_stdin(trained_nlp, tmp_path):
    _, model = trained_nlp
    out = spacy_mtl("parse", "-m", model, "我爱北京天安门。", "他去了上海")
    assert out.returncode == 0, out.stderr
    views = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(views) == 2 and "".join(views[0]["tok"]) == "我爱北京天安门。" and "dep" in views[0]
    conll = spacy_mtl("parse", "-m", model, "-f", "conllu", stdin="今天下雨了。\n明天晴。\n")
    assert conll.returncode == 0, conll.stderr
    sentences = conllu.parse(conll.stdout)
    assert "".join(t["form"] for s in sentences for t in s) == "今天下雨了。明天晴。"
    assert all(sum(t["head"] == 0 for t in s) == 1 for s in sentences)
    only_pos = spacy_mtl("parse", "-m", model, "--tasks", "pos", "你好")
    view = json.loads(only_pos.stdout)
    assert "pos" in view and "dep" not in view and "srl" not in view
    bf16 = spacy_mtl("parse", "-m", model, "--cpu-bfloat16", "我爱北京天安门。")
    assert bf16.returncode == 0, bf16.stderr
    assert "".join(json.loads(bf16.stdout)["tok"]) == "我爱北京天安门。"


def test_parse_reports_a_missing_model_clearly():
    out = spacy_mtl("parse", "-m", "zh_no_such_model", "你好")
    assert out.returncode == 1
    assert "Cannot load the pipeline 'zh_no_such_model'" in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_readme_usage_examples_run_for_real(trained_nlp, tmp_path, monkeypatch):
    """project/scripts/usage.py, which writes the README's everyday-use examples,
    runs every one of them (console script, server on loopback, curl, client)."""
    sys.path.insert(0, str(ROOT / "project" / "scripts"))
    from usage import main

    monkeypatch.chdir(tmp_path)
    main(str(trained_nlp[1]), str(tmp_path / "usage.md"))
    page = (tmp_path / "usage.md").read_text()
    assert "Traceback" not in page
    assert page.count('"tok": [') >= 1 and "# text = 他在北京大学学习语言学。" in page
    assert "Cannot load the pipeline 'zh_mtl_nope'" in page
    assert "('北京大学', " in page  # the pre-tokenised word kept
    forced = page.split("**Custom dictionaries**")[1].split("prints")[1]
    assert "'北京大学'" in forced and "('北京大学', 'ORG')" in forced  # forced word and whitelisted entity
    assert '{"status":"ok"' in page and "HTTP 400" in page and '"docs":[{"tok":' in page


def test_serve_passes_the_bf16_switch_to_the_loader(monkeypatch):
    from spacy_mtl import __main__ as cli
    from spacy_mtl import server

    calls = []
    monkeypatch.setattr(server, "serve", lambda model, **kwargs: calls.append((model, kwargs)))
    cli.main(["serve", "-m", "some_model", "--cpu-bfloat16"])
    cli.main(["serve", "-m", "some_model"])
    assert [kwargs["cpu_bfloat16"] for _, kwargs in calls] == [True, False]
    assert calls[0][0] == "some_model"


def test_the_cli_loader_freezes_what_is_loaded(trained_nlp):
    """load_pipeline (parse, serve) leaves the loaded objects to the permanent
    generation: the collector no longer scans them while parsing."""
    out = subprocess.run([sys.executable, "-c", "import gc; from spacy_mtl.__main__ import load_pipeline; "
                          f"nlp = load_pipeline({str(trained_nlp[1])!r}); print(gc.get_freeze_count())"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) > 100_000  # torch, spaCy, transformers and the pipeline
