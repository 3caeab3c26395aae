"""Clear errors for corrupted or truncated pipeline folders.

``spacy_mtl.name_broken_files.v1`` (config: ``[nlp.after_pipeline_creation]``)
wraps every component's ``from_disk``: if loading fails, the error names the
component and the first of its files that does not parse, instead of a bare
"Unpack failed: incomplete input" from deep inside msgpack.
"""
from pathlib import Path
from typing import Callable, Optional

import srsly
from spacy.language import Language
from spacy.util import registry


class PipelineLoadError(OSError):
    pass


def first_unreadable_file(folder: Path) -> Optional[Path]:
    """The first file under ``folder`` that is neither valid JSON nor msgpack (None if all read)."""
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix in (".json", ".cfg") or path.name == "cfg":
            try:
                srsly.json_loads(data) if path.suffix != ".cfg" else data.decode("utf8")
                continue
            except ValueError:
                return path
        if path.suffix in ("", ".bin") and path.name not in ("cfg",):
            try:
                srsly.msgpack_loads(data)
            except Exception:
                return path
    return None


def _wrap(name: str, from_disk: Callable) -> Callable:
    def from_disk_naming_files(path, *args, **kwargs):
        try:
            return from_disk(path, *args, **kwargs)
        except Exception as err:
            broken = first_unreadable_file(Path(path)) if Path(path).is_dir() else Path(path)
            where = f"the file {broken}" if broken else f"the folder {path}"
            raise PipelineLoadError(
                f"Cannot load component '{name}': {where} is corrupted or truncated "
                f"({type(err).__name__}: {err}). Re-copy or re-install the pipeline."
            ) from err

    return from_disk_naming_files


@registry.callbacks("spacy_mtl.name_broken_files.v1")
def name_broken_files() -> Callable[[Language], Language]:
    def wrap_components(nlp: Language) -> Language:
        for name, proc in nlp.components:
            if hasattr(proc, "from_disk"):
                proc.from_disk = _wrap(name, proc.from_disk)
        return nlp

    return wrap_components
