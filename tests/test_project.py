"""The project workflow end to end with the tiny encoder: convert → train → tune → package → install → load."""
import json
import shutil
import subprocess
import sys

import srsly

from .conftest import CORPORA, ROOT

TEXTS = ["我爱北京天安门。", "他在2008年去了上海，然后回到北京。", ""]
LOAD = """
import json, sys, spacy
nlp = spacy.load(sys.argv[1])
doc = nlp("我爱北京天安门。")
assert doc.text == "我爱北京天安门。"
assert doc.has_annotation("DEP")
print(nlp.pipe_names, spacy.util.get_package_path("zh_mtl_tiny") if sys.argv[1] == "zh_mtl_tiny" else "")
print(json.dumps([d._.to_dict() for d in nlp.pipe(json.loads(sys.argv[2]))]))
"""


def spacy_project(command: str, project, *overrides: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", command, str(project), *overrides],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_workflow_builds_a_wheel_that_loads_in_a_fresh_process(tiny_encoder, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "project", project, ignore=shutil.ignore_patterns(
        "encoders", "corpus", "training", "packages", "metrics", "assets", "__pycache__"))
    # set the vars in the copy (weasel's --vars overrides mangle some lists)
    config = srsly.read_yaml(project / "project.yml")
    config["vars"].update({
        "encoder": str(tiny_encoder), "corpora": str(CORPORA), "name": "mtl_tiny", "max_steps": 2, "limit": 16,
    })
    srsly.write_yaml(project / "project.yml", config)
    for command in ("convert", "train", "tune", "package"):
        spacy_project(command, project)
    wheels = list((project / "packages").glob("zh_mtl_tiny-*/dist/zh_mtl_tiny-0.1.0-py3-none-any.whl"))
    assert len(wheels) == 1
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheels[0])], check=True)
    # a fresh process, no --code, the wheel on the path: factories come from entry points
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    texts = json.dumps(TEXTS)
    out = subprocess.run([sys.executable, "-c", LOAD, "zh_mtl_tiny", texts], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'dep'" in out.stdout and str(site) in out.stdout
    # the installed wheel predicts exactly what the tuned folder (the trained one, decoding tuned on dev) predicts
    tuned = project / "training" / "mtl_tiny" / "model-tuned"
    assert (project / "metrics" / "mtl_tiny_decoding.md").exists()
    source = subprocess.run([sys.executable, "-c", LOAD, str(tuned), texts],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert source.returncode == 0, source.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == json.loads(source.stdout.splitlines()[-1])
    requirements = (project / "packages" / "zh_mtl_tiny-0.1.0" / "meta.json").read_text()
    assert "spacy_mtl" in requirements or "spacy-mtl" in requirements


def test_workflow_and_config_give_the_encoder_the_same_learning_rate():
    # `all` passes vars.encoder_lr_scale to spacy train; quick-train and the tests
    # read the config's value: one default, written twice, must not drift apart
    from spacy.util import load_config

    variables = srsly.read_yaml(ROOT / "project" / "project.yml")["vars"]
    config = load_config(ROOT / "project" / "configs" / "zh_mtl_base.cfg", interpolate=False)
    assert config["initialize"]["after_init"]["scales"]["transformer"] == variables["encoder_lr_scale"]


def test_workflow_and_config_train_the_same_schedule_and_mix():
    # `spacy train configs/zh_mtl_base.cfg` by hand must train what `all` trains
    from spacy.util import load_config

    variables = srsly.read_yaml(ROOT / "project" / "project.yml")["vars"]
    config = load_config(ROOT / "project" / "configs" / "zh_mtl_base.cfg", interpolate=False)
    assert config["training"]["max_steps"] == variables["max_steps"]
    assert config["training"]["eval_frequency"] == variables["eval_frequency"]
    assert config["corpora"]["train"]["weights"]["ud"] == variables["ud_weight"]
    train = (ROOT / "project" / "project.yml").read_text(encoding="utf8")
    for option in ("--training.max_steps ${vars.max_steps}", "--training.eval_frequency ${vars.eval_frequency}",
                   "--corpora.train.weights.ud ${vars.ud_weight}"):
        assert option in train
