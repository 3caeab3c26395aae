"""REST server: ``python -m spacy_mtl serve --model zh_mtl_base``.

POST /parse   {"text": "..."} or {"texts": [...]}, optional "tasks" / "skip_tasks"
              → {"docs": [HanLP-style view, ...]}
GET  /health  → {"status": "ok", "pipeline": [...]}
OpenAPI docs at /docs. The pipeline is loaded once and shared by all requests
(its torch inference is thread-safe); a long text is analysed in groups of
whole sentences (``spacy_mtl.long_docs``), so its memory stays bounded;
oversized or malformed requests get a 4xx; a request that runs past the time
limit gets 504 while the server stays up.
"""
import asyncio
from functools import partial
from typing import Dict, List, Optional

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from spacy.language import Language

from .long_docs import pipe_long
from .tasks import disabled_components


class ParseRequest(BaseModel):
    text: Optional[str] = Field(None, description="one text")
    texts: Optional[List[str]] = Field(None, description="a batch of texts")
    tasks: Optional[List[str]] = Field(None, description="run only these tasks (and what they need)")
    skip_tasks: Optional[List[str]] = Field(None, description="tasks to skip")


class ParseResponse(BaseModel):
    docs: List[Dict]


def create_app(nlp: Language, *, max_chars: int = 100_000, max_batch: int = 64, timeout_s: float = 60.0,
               ui: bool = False) -> FastAPI:
    app = FastAPI(title="spacy_mtl", description="Joint multi-task analysis on one shared encoder.",
                  version=nlp.meta.get("version", "0"))

    @app.get("/health")
    def health() -> Dict:
        return {"status": "ok", "pipeline": nlp.pipe_names, "model": f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}"}

    @app.post("/parse", response_model=ParseResponse)
    async def parse(request: ParseRequest) -> Dict:
        if (request.text is None) == (request.texts is None):
            raise HTTPException(422, "give exactly one of 'text' or 'texts'")
        texts = [request.text] if request.text is not None else request.texts
        if len(texts) > max_batch:
            raise HTTPException(413, f"batch of {len(texts)} texts; the limit is {max_batch}")
        too_long = [i for i, t in enumerate(texts) if len(t) > max_chars]
        if too_long:
            raise HTTPException(413, f"text {too_long[0]} has {len(texts[too_long[0]])} characters; the limit is {max_chars}")
        try:
            disable = disabled_components(nlp, request.tasks, request.skip_tasks)
        except ValueError as err:
            raise HTTPException(400, str(err))
        work = partial(lambda: [d._.to_dict() for d in pipe_long(nlp, texts, disable=disable)])
        try:
            docs = await asyncio.wait_for(run_in_threadpool(work), timeout=timeout_s)
        except asyncio.TimeoutError:
            raise HTTPException(504, f"the analysis took longer than {timeout_s} s")
        except (TypeError, ValueError) as err:
            raise HTTPException(400, str(err))
        return {"docs": docs}

    if ui:
        from .visualize import mount_ui

        mount_ui(app, nlp)
    return app


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, cpu_bfloat16: bool = False, **kwargs) -> None:
    import uvicorn

    from .__main__ import load_pipeline

    uvicorn.run(create_app(load_pipeline(model, cpu_bfloat16), **kwargs), host=host, port=port)
