"""The REST server, for real: uvicorn on loopback, the Python client over HTTP."""
import json
import subprocess
import sys

import pytest

from spacy_mtl.client import ServerError, free_port, health, parse, wait_until_up

from .conftest import ROOT


@pytest.fixture(scope="module")
def server(trained_nlp):
    _, saved = trained_nlp
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "spacy_mtl", "serve", "-m", str(saved), "--port", str(port),
                             "--max-chars", "2000", "--max-batch", "8", "--timeout", "20", "--ui"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, 60, proc)
    except RuntimeError as err:
        raise RuntimeError(f"{err}: {proc.stdout.read().decode()}") from None
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_health_and_parse(server, trained_nlp):
    import spacy

    nlp = spacy.load(trained_nlp[1])  # what the server loaded
    assert health(server)["status"] == "ok"
    view = parse("我爱北京天安门。", url=server)
    assert view == json.loads(json.dumps(nlp("我爱北京天安门。")._.to_dict()))
    batch = parse(["你好", "他去了上海。"], url=server, tasks=["pos"])
    assert len(batch) == 2 and "pos" in batch[1] and "dep" not in batch[1]


def test_limits_and_bad_requests_get_4xx_and_the_server_stays_up(server):
    with pytest.raises(ServerError) as err:
        parse("长" * 2001, url=server)
    assert err.value.status == 413
    with pytest.raises(ServerError) as err:
        parse(["a"] * 9, url=server)
    assert err.value.status == 413
    with pytest.raises(ServerError) as err:
        parse("你好", url=server, tasks=["coref"])
    assert err.value.status == 400
    import urllib.error
    import urllib.request

    bad = urllib.request.Request(server + "/parse", data=b"{not json", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as http_err:
        urllib.request.urlopen(bad, timeout=10)
    assert http_err.value.code == 422
    openapi = json.loads(urllib.request.urlopen(server + "/openapi.json", timeout=10).read())
    assert "/parse" in openapi["paths"]
    assert health(server)["status"] == "ok"


def test_concurrent_clients(server):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"第{i}句：今天北京天气很好。" for i in range(16)]
    expected = [parse(t, url=server) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: parse(t, url=server), texts))
    assert got == expected


def test_ui_page_and_views(server):
    import urllib.request

    page = urllib.request.urlopen(server + "/", timeout=10).read().decode()
    assert "<form" in page and "/render" in page
    request = urllib.request.Request(server + "/render", data=json.dumps({"text": "我爱北京天安门。"}).encode(),
                                     headers={"Content-Type": "application/json"})
    views = json.loads(urllib.request.urlopen(request, timeout=30).read())
    assert "<svg" in views["dep"] and "<svg" in views["sdp"] and "<svg" in views["con"]
    assert "<svg" in views["amr"] and "<pre>" in views["amr"]
    assert views["srl"].startswith("<table") or "no predicates" in views["srl"]


def test_ui_renders_in_headless_chromium(server, tmp_path):
    import urllib.parse

    from spacy_mtl.visualize import headless_chromium

    url = server + "/?" + urllib.parse.urlencode({"text": "他在北京大学学习。"})
    # (.ci/setup installs Debian's chromium; without it headless_chromium raises)
    out = subprocess.run(headless_chromium(url, str(tmp_path), "--dump-dom"), capture_output=True, text=True, timeout=120)
    dom = out.stdout
    assert 'data-rendered="yes"' in dom, out.stderr[-2000:]
    assert dom.count('class="con"') >= 1 and dom.count('class="amr"') >= 1
    assert dom.count("<svg") >= 4 and "北京" in dom


def test_bounded_load_on_loopback(trained_nlp):
    sys.path.insert(0, str(ROOT / "scripts"))
    from load_test import run

    _, saved = trained_nlp
    report = run(str(saved), n_requests=150, clients=4, max_seconds=120)
    assert report["requests_sent"] == 150
    assert report["unexpected_status"] == 0, report["unexpected_examples"]
    assert report["expected_4xx"] > 0 and report["server_alive_after"]


def test_a_request_past_the_time_limit_gets_504_and_the_app_keeps_serving(trained_nlp):
    from fastapi.testclient import TestClient

    from spacy_mtl.server import create_app

    nlp, _ = trained_nlp
    client = TestClient(create_app(nlp, timeout_s=0.000001))
    assert client.post("/parse", json={"text": "我爱北京天安门。" * 50}).status_code == 504
    assert client.get("/health").json()["status"] == "ok"
    patient = TestClient(create_app(nlp, timeout_s=60))
    assert patient.post("/parse", json={"text": "好"}).status_code == 200
