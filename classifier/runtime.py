"""The fast runtime: a TFLite file derived from the .h5, cached beside it, checked before use.

Files beside `models/<name>.h5`:
- `<name>.tflite`        the converted model;
- `<name>.runtime.json`  which .h5 (sha256) and .tflite (sha256) it belongs to, and the Keras
                         outputs on a fixed probe batch, so every process can check its runtime
                         against the .h5 without importing TensorFlow.

Building needs TensorFlow, so it runs in a child process (`classifier.export`): a web worker
that finds a valid cache never imports TensorFlow. A lock on the model's folder makes concurrent
workers build once; files appear by atomic rename, the metadata last.
"""

import fcntl
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import numpy as np

from classifier.artifact import ModelArtifact
from classifier.card import check_output_size
from classifier.errors import ModelError
from preprocessing.dataset import sha256_hex

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
PARITY_TOLERANCE = 1e-4  # max absolute difference in any label probability
PROBE_SEED = 240
BUILD_TIMEOUT_S = 900


def runtime_paths(h5_path: Path) -> tuple[Path, Path]:
    return h5_path.with_suffix(".tflite"), h5_path.with_suffix(".runtime.json")


def probe_batch(size: int) -> np.ndarray:
    """A fixed batch (white, noise, gradient, blocks), the same on every machine."""
    rng = np.random.RandomState(PROBE_SEED)
    white = np.full((size, size, 3), 255.0)
    noise = rng.uniform(0, 255, (size, size, 3))
    ramp = np.linspace(0, 255, size)
    gradient = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size))], -1)
    blocks = np.kron(rng.uniform(0, 255, (8, 8, 3)), np.ones((size // 8 + 1, size // 8 + 1, 1)))[:size, :size]
    return np.stack([white, noise, gradient, blocks]).astype(np.float32)


class TFLiteRunner:
    """Raw outputs from the TFLite file; a pool of interpreters so threads never share one."""

    name = "tflite"

    def __init__(self, model_content: bytes, interpreters: int = 4):
        self._idle: queue.LifoQueue = queue.LifoQueue()
        # All made now, while the process is still single-threaded (see _quiet_native_stderr).
        with _quiet_native_stderr():
            for _ in range(max(1, interpreters)):
                self._idle.put(_Interpreter(model_content))

    def run(self, batch: np.ndarray) -> np.ndarray:
        interpreter = self._idle.get()
        try:
            return interpreter.run(batch)
        finally:
            self._idle.put(interpreter)


class _Interpreter:
    def __init__(self, content: bytes):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interpreter = Interpreter(model_content=content, num_threads=1)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"The TFLite runtime can't load the converted model ({exc})") from None
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def run(self, batch: np.ndarray) -> np.ndarray:
        outputs = []
        for image in np.asarray(batch, dtype=np.float32):  # batch 1: no re-allocation per call
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(image[None]))
            self._interpreter.invoke()
            outputs.append(self._interpreter.get_tensor(self._output)[0].copy())
        return np.stack(outputs)


class KerasRunner:
    """The fallback when the model can't be converted faithfully: a compiled Keras call."""

    name = "keras"

    def __init__(self, h5_path: Path, input_size: int):
        from classifier import export  # imports TensorFlow: only on this path

        self._call = export.compiled_call(export.load_keras_model(h5_path), input_size)
        self._lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(self._call(np.asarray(batch, dtype=np.float32)))


def prepare_runner(artifact: ModelArtifact, interpreters: int = 4):
    """A checked runner for the artifact, building the cached runtime first if needed."""
    meta, content = ensure_runtime(artifact)
    check_output_size(artifact.card, len(meta["probe_outputs"][0]), artifact.path)
    if meta["runtime"] == TFLiteRunner.name:
        runner = TFLiteRunner(content, interpreters)
        difference = probe_difference(runner, artifact, meta)
        if difference <= PARITY_TOLERANCE:
            return runner
        log.warning("TFLite runtime differs from %s by %.2g on the probe batch; using Keras", artifact.path, difference)
    else:
        log.warning("Using the Keras runtime for %s: %s", artifact.path, meta.get("reason", ""))
    runner = KerasRunner(artifact.path, artifact.input_size)
    runner.run(probe_batch(artifact.input_size)[:1])  # warm-up: traces the compiled call
    return runner


def probe_difference(runner, artifact: ModelArtifact, meta: dict) -> float:
    """Largest probability difference between the runner and the .h5 on the probe batch."""
    expected = artifact.probabilities(np.asarray(meta["probe_outputs"], dtype=np.float32))
    actual = artifact.probabilities(runner.run(probe_batch(artifact.input_size)))
    return float(np.abs(actual - expected).max())


def ensure_runtime(artifact: ModelArtifact) -> tuple[dict, bytes | None]:
    """The cached runtime (metadata, tflite bytes), built once per .h5 under a lock."""
    cached = _read_cache(artifact)
    if cached:
        return cached
    with _locked(artifact.path):
        return _read_cache(artifact) or _build(artifact)


def _read_cache(artifact: ModelArtifact) -> tuple[dict, bytes | None] | None:
    tflite_path, meta_path = runtime_paths(artifact.path)
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION or meta.get("h5_sha256") != artifact.sha256:
            return None
        if meta["runtime"] != TFLiteRunner.name:
            return meta, None
        content = tflite_path.read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    if sha256_hex(content) != meta.get("tflite_sha256"):
        return None
    return meta, content


def _build(artifact: ModelArtifact) -> tuple[dict, bytes | None]:
    tflite_path, meta_path = runtime_paths(artifact.path)
    log.warning("Preparing the fast runtime for %s (once per model, this takes a little while)", artifact.path)
    try:
        # Named like the runtime file so that version control ignores it should a crash leave it behind.
        scratch = Path(tempfile.mkdtemp(dir=artifact.path.parent, prefix=f".{artifact.path.stem}-", suffix=".tflite"))
    except OSError as exc:
        log.warning("Can't write beside %s (%s); the runtime is rebuilt at every start", artifact.path, exc.strerror)
        with tempfile.TemporaryDirectory(prefix="petclf-runtime-") as elsewhere:
            return _export(artifact.path, Path(elsewhere))
    try:
        meta, content = _export(artifact.path, scratch)
        if content is not None:
            os.replace(scratch / "model.tflite", tflite_path)
        os.replace(scratch / "runtime.json", meta_path)  # last: it commits the cache
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return meta, content


def _export(h5_path: Path, scratch: Path) -> tuple[dict, bytes | None]:
    """Convert with classifier.export: in a child process, so this process never imports
    TensorFlow, unless it has it loaded already (a training job), which saves the start-up."""
    if "tensorflow" in sys.modules:
        from classifier.export import export

        # The converter prints its SavedModel summary; stdout belongs to the command (`evaluate --json`).
        with redirect_stdout(sys.stderr):
            export(h5_path, scratch)
    else:
        _export_in_child(h5_path, scratch)
    meta = json.loads((scratch / "runtime.json").read_text())
    tflite = scratch / "model.tflite"
    return meta, tflite.read_bytes() if meta["runtime"] == TFLiteRunner.name else None


def _export_in_child(h5_path: Path, scratch: Path) -> None:
    command = [sys.executable, "-m", "classifier.export", str(h5_path), "--out", str(scratch)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"Preparing the runtime for {h5_path} took over {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        reason = lines[-1].removeprefix("error: ") if lines else done.stderr.strip()[-500:]
        raise ModelError(reason or f"Preparing the runtime for {h5_path} failed")


@contextmanager
def _quiet_native_stderr():
    """LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate" from C++ for every
    interpreter, with no switch to turn it off; keep it off the CLI's one-line error contract."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextmanager
def _locked(h5_path: Path):
    """Lock the model's folder (HDF5 itself locks the .h5 file, so that one can't be used)."""
    handle = os.open(h5_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock
