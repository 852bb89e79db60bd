"""One classifier engine per active project version, cached per process (LRU, PETCLF_MAX_ENGINES).

Every prediction reads the project's active version from the store, so a version activated by a
worker, or by another web host, answers from the next request on: no restart, no signal.
"""

import os
import threading
from collections import OrderedDict

from classifier import Engine, load_engine
from projects.errors import Conflict
from store import Project, home

DEFAULT_MAX_ENGINES = 8
# interpreters per engine: each costs memory, and one project rarely sees concurrent requests
ENGINE_THREADS = 1


def max_engines() -> int:
    value = os.environ.get("PETCLF_MAX_ENGINES") or str(DEFAULT_MAX_ENGINES)
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"PETCLF_MAX_ENGINES must be a whole number, 1 or more, not {value!r}")
    return int(value)


class EngineCache:
    def __init__(self, size: int | None = None):
        self.size = size or max_engines()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    def for_version(self, relative_path: str, sha256: str) -> Engine:
        """The engine of a stored version's .h5 (a path relative to PETCLF_HOME, and its sha256: a
        project deleted and created again reuses the path for another model)."""
        key = f"{relative_path}@{sha256}"
        with self._lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._engines.move_to_end(key)
                return engine
        # slow: outside the lock
        engine = load_engine(home() / relative_path, threads=ENGINE_THREADS)
        with self._lock:
            self._engines[key] = engine
            self._engines.move_to_end(key)
            while len(self._engines) > self.size:
                self._engines.popitem(last=False)
        return engine

    def __len__(self) -> int:
        return len(self._engines)


_cache: EngineCache | None = None


def engine_for(db, project: Project) -> Engine:
    """The engine of the project's active version. Raises Conflict (409) when it has none."""
    from projects.service import active

    global _cache
    version = active(db, project)
    if version is None:
        raise Conflict(f"The project {project.name} has no trained model yet; train it first.")
    if _cache is None:
        _cache = EngineCache()
    return _cache.for_version(version.path, version.card["h5_sha256"])
