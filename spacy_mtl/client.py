"""Python client for the REST server (standard library only).

    from spacy_mtl.client import parse
    views = parse(["我爱北京天安门。"], url="http://127.0.0.1:8000", tasks=["dep"])
"""
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from typing import Dict, Iterable, List, Optional, Union


class ServerError(RuntimeError):
    def __init__(self, status: int, detail: str):
        super().__init__(f"server answered {status}: {detail}")
        self.status, self.detail = status, detail


def parse(texts: Union[str, Iterable[str]], url: str = "http://127.0.0.1:8000", tasks: Optional[List[str]] = None,
          skip_tasks: Optional[List[str]] = None, timeout: float = 120.0) -> Union[Dict, List[Dict]]:
    """The HanLP-style view of one text (a dict) or of several (a list)."""
    single = isinstance(texts, str)
    body = {"text": texts} if single else {"texts": list(texts)}
    if tasks is not None:
        body["tasks"] = list(tasks)
    if skip_tasks is not None:
        body["skip_tasks"] = list(skip_tasks)
    request = urllib.request.Request(url.rstrip("/") + "/parse", data=json.dumps(body).encode("utf8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            docs = json.loads(response.read())["docs"]
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf8", "replace")
        try:
            detail = json.loads(detail).get("detail", detail)
        except ValueError:
            pass
        raise ServerError(err.code, str(detail)) from None
    return docs[0] if single else docs


def health(url: str = "http://127.0.0.1:8000", timeout: float = 10.0) -> Dict:
    with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as response:
        return json.loads(response.read())


def free_port(preferred: Optional[int] = None) -> int:
    """A free loopback port for a server to start on: ``preferred`` if it is free
    (a port in TIME_WAIT counts as free, as uvicorn reuses it), else any."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred or 0))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float = 120.0, process: Optional[subprocess.Popen] = None) -> Dict:
    """Poll ``/health`` until the server answers; RuntimeError if ``process`` exits
    first or ``seconds`` pass."""
    deadline = time.time() + seconds
    while True:
        try:
            return health(url, timeout=1)
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the server exited with code {process.returncode} before answering") from None
            if time.time() > deadline:
                raise RuntimeError(f"no answer from {url}/health within {seconds:.0f} s") from None
            time.sleep(0.5)
