"""Python client for the REST server (standard library only).

    from spacy_mtl.client import parse
    views = parse(["我爱北京天安门。"], url="http://127.0.0.1:8000", tasks=["dep"])
"""
import json
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
