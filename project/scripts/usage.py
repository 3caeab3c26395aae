"""Run the README's everyday-use examples for real and write them, with their
output, as Markdown (pasted into the README by update_readme.py).

    python scripts/usage.py MODEL metrics/usage.md

Each example is a command line or a Python snippet; the command lines run in a
subprocess (the `spacy-mtl` console script, a real server on loopback and
curl), the snippets in this process. Nothing here is typed by hand.
"""
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

TEXT = "他在北京大学学习语言学。"
README_DIR = Path(__file__).resolve().parents[2]  # image links are relative to the README


def console(command: str, cwd: Path, stdin: str = None, limit: int = 40) -> str:
    """Run a shell command line; return it and what it printed, as a console block."""
    env = dict(os.environ, ANSI_COLORS_DISABLED="1")  # wasabi's colour codes would litter the README
    out = subprocess.run(command, shell=True, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=600,
                         env=env)
    printed = (out.stdout + out.stderr).strip("\n").splitlines()
    if len(printed) > limit:
        printed = printed[:limit] + [f"… ({len(printed) - limit} more lines)"]
    shown = command if stdin is None else f"echo '{stdin.strip()}' | {command}"
    return "```console\n$ " + shown + "\n" + "\n".join(printed) + "\n```\n"


def python(code: str, namespace: dict) -> str:
    """Execute a snippet; return it and what it printed, as a Python block plus output."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(code, namespace)
    return f"```python\n{code.strip()}\n```\n\nprints\n\n```\n{buffer.getvalue().rstrip()}\n```\n"


def free_port(preferred: int = 8000) -> int:
    """The preferred port if it is free (so the README does not change with every run), else any."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a port in TIME_WAIT is free
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshot(url: str, png: Path) -> bool:
    """The `serve --ui` page for TEXT, as headless Chromium draws it (needs a CJK font, e.g.
    Debian's fonts-wqy-microhei, or the characters come out as boxes)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--hide-scrollbars", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
                        "--window-size=1400,1500", f"--screenshot={png.resolve()}",
                        url + "/?" + urllib.parse.urlencode({"text": TEXT})],
                       capture_output=True, timeout=180)
    return png.exists()


def server_examples(model: str, bin_dir: Path, cwd: Path, namespace: dict, png: Path) -> list:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = f"spacy-mtl serve -m {model} --port {port} --max-chars 2000 --max-batch 8 --ui"
    # no shell in between: terminate() must reach the server itself
    server = subprocess.Popen([str(bin_dir / "spacy-mtl"), *command.split()[1:]], cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.5)
        body = json.dumps({"text": TEXT, "tasks": ["dep"]}, ensure_ascii=False)
        blocks = [f"```console\n$ {command} &\n```\n",
                  console(f"curl -s {url}/health", cwd),
                  console(f"curl -s {url}/parse -H 'Content-Type: application/json' -d '{body}'", cwd),
                  console(f"curl -s -w ' HTTP %{{http_code}}' {url}/parse -H 'Content-Type: application/json' "
                          f"-d '{{\"texts\": [\"好\", \"长\"], \"tasks\": [\"nope\"]}}'", cwd)]
        blocks.append(python(f'''
from spacy_mtl.client import parse
views = parse(["我爱北京天安门。", "今天天气很好！"], url="{url}", tasks=["pos"])
print(views)
''', namespace))
        if screenshot(url, png):
            link = os.path.relpath(png.resolve(), README_DIR)
            blocks.append(f"`--ui` serves a page that draws every view for a typed sentence "
                          f"(headless Chromium's screenshot of `{url}/?text={TEXT}`):\n\n![the --ui page]({link})\n")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return blocks


def main(model: str, out: str) -> None:
    here = Path.cwd()
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "spacy-mtl").exists() or not shutil.which("curl"):
        raise SystemExit("needs the installed spacy-mtl console script and curl")
    env_model = model
    parts = ["Generated by `project/scripts/usage.py` with the pipeline "
             f"`{Path(model).as_posix()}` standing in for `zh_mtl_base`.", ""]
    cli = f"{bin_dir}/spacy-mtl"
    parts.append("**Command line** (`python -m spacy_mtl` or the installed `spacy-mtl`): JSON lines by default "
                 "(the HanLP-style view below), CoNLL-U (semantic dependencies in DEPS, entities in MISC) or text.\n")
    for args, stdin in ((f'parse -m {env_model} --tasks pos,ner "{TEXT}"', None),
                        (f"parse -m {env_model} -f conllu --tasks dep,ner,sdp", TEXT + "\n"),
                        (f"parse -m {env_model} -f text --tasks dep", "我爱北京天安门。\n"),
                        ('parse -m zh_mtl_nope "好"', None)):
        block = console(f"{cli} {args}", here, stdin=stdin)
        parts.append(block.replace(f"{cli} ", "spacy-mtl ").replace(str(bin_dir) + "/", ""))
    namespace = {}
    parts.append("**Task selection** and **pre-tokenised input** (HanLP's `tasks=` / `skip_tasks=\"tok*\"`):\n")
    parts.append(python(f'''
import spacy
from spacy.tokens import Doc
from spacy_mtl.tasks import disabled_components
nlp = spacy.load("{Path(model).as_posix()}")
skip = disabled_components(nlp, tasks=["dep"])
print(skip)
doc = nlp("{TEXT}", disable=skip)
print(list(doc._.to_dict()))
words = Doc(nlp.vocab, words=["他", "在", "北京大学", "学习", "语言学", "。"])
doc = nlp(words, disable=disabled_components(nlp, skip_tasks=["tok"]))
print([(t.text, t.pos_, t.head.i, t.dep_) for t in doc])
''', namespace))
    parts.append("**Custom dictionaries** (saved with the pipeline):\n")
    parts.append(python(f'''
print([t.text for t in nlp("{TEXT}")])
nlp.get_pipe("tok").dict_force = ["北京大学"]            # always one word, whatever the model says
nlp.get_pipe("tok").dict_combine = ["学习", "语言学"]     # merge predicted words that spell an entry
nlp.get_pipe("ner").dict_entities = {{"北京大学": "ORG"}}
doc = nlp("{TEXT}")
print([t.text for t in doc], [(e.text, e.label_) for e in doc.ents])
''', namespace))
    parts.append("**REST server** and its client (curl's output as it came):\n")
    parts.extend(server_examples(env_model, bin_dir, here, namespace, Path(out).with_name("ui.png")))
    body = "\n".join(parts)
    Path(out).write_text(body, encoding="utf8")
    print(body)


if __name__ == "__main__":
    main(*sys.argv[1:])
