"""The fast runtime: a TFLite file derived from the .h5, cached beside it, checked before use.

Files beside `models/<name>.h5`:
- `<name>.tflite`        the converted model;
- `<name>.runtime.json`  which .h5 (sha256) and .tflite (sha256) it belongs to, and the Keras
                         outputs on a fixed probe batch, so every process can check its runtime
                         against the .h5 without importing TensorFlow; for an int8 runtime
                         (`build_runtime` with photos, see classifier.export) also its own outputs
                         there and how it agreed with the .h5 on real photos.

Building needs TensorFlow, so it runs in a child process (`classifier.export`): a web worker
that finds a valid cache never imports TensorFlow. A lock on the model's folder makes concurrent
workers build once; files appear by atomic rename, the metadata last.
"""

import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from classifier import export
from classifier.artifact import ModelArtifact
from classifier.card import check_output_size
from classifier.errors import ModelError
from classifier.runners import PARITY_TOLERANCE, TFLiteRunner, probe_batch, probe_difference
from preprocessing.dataset import sha256_hex

log = logging.getLogger(__name__)

BUILD_TIMEOUT_S = 900


def runtime_paths(h5_path: Path) -> tuple[Path, Path]:
    return h5_path.with_suffix(".tflite"), h5_path.with_suffix(".runtime.json")


def prepare_runner(artifact: ModelArtifact, interpreters: int = 4):
    """A checked runner for the artifact, building the cached runtime first if needed."""
    meta, content = ensure_runtime(artifact)
    check_output_size(artifact.card, len(meta["probe_outputs"][0]), artifact.path)
    if meta["runtime"] == TFLiteRunner.name and content is not None:
        tflite = TFLiteRunner(content, interpreters, meta.get("precision", "float32"))
        difference = probe_difference(tflite, artifact, meta)
        if difference <= PARITY_TOLERANCE:
            return tflite
        log.warning(
            "TFLite runtime differs from %s by %.2g on the probe batch; using Keras",
            artifact.path,
            difference,
        )
    else:
        log.warning("Using the Keras runtime for %s: %s", artifact.path, meta.get("reason", ""))
    runner = export.KerasRunner(artifact.path, artifact.input_size)
    runner.run(probe_batch(artifact.input_size)[:1])  # warm-up: traces the compiled call
    return runner


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
        if meta.get("format") != export.FORMAT_VERSION or meta.get("h5_sha256") != artifact.sha256:
            return None
        if meta["runtime"] != TFLiteRunner.name:
            return meta, None
        content = tflite_path.read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    if sha256_hex(content) != meta.get("tflite_sha256"):
        return None
    return meta, content


def build_runtime(artifact: ModelArtifact, photos: export.Int8Photos) -> dict:
    """Build the runtime now, replacing any cache: int8 when it answers as the .h5 on the check
    photos, else float. Imports TensorFlow (training has it loaded)."""
    with _locked(artifact.path):
        meta, _ = _build(artifact, photos)
    return meta


def _build(
    artifact: ModelArtifact, photos: export.Int8Photos | None = None
) -> tuple[dict, bytes | None]:
    tflite_path, meta_path = runtime_paths(artifact.path)
    log.warning(
        "Preparing the fast runtime for %s (once per model, this takes a little while)",
        artifact.path,
    )
    try:
        # Named like the runtime file so that version control ignores it should a crash leave it behind.
        scratch = Path(
            tempfile.mkdtemp(
                dir=artifact.path.parent, prefix=f".{artifact.path.stem}-", suffix=".tflite"
            )
        )
    except OSError as exc:
        log.warning(
            "Can't write beside %s (%s); the runtime is rebuilt at every start",
            artifact.path,
            exc.strerror,
        )
        with tempfile.TemporaryDirectory(prefix="petclf-runtime-") as elsewhere:
            return _export(artifact.path, Path(elsewhere), photos)
    try:
        meta, content = _export(artifact.path, scratch, photos)
        if content is not None:
            os.replace(scratch / "model.tflite", tflite_path)
        os.replace(scratch / "runtime.json", meta_path)  # last: it commits the cache
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return meta, content


def _export(
    h5_path: Path, scratch: Path, photos: export.Int8Photos | None = None
) -> tuple[dict, bytes | None]:
    """Convert with classifier.export: in a child process, so this process never imports
    TensorFlow, unless it has it loaded already or brings photos (training), which saves the start-up."""
    if photos is not None or "tensorflow" in sys.modules:
        # The converter prints its SavedModel summary; stdout belongs to the command (`evaluate --json`).
        with redirect_stdout(sys.stderr):
            export.export(h5_path, scratch, photos)
    else:
        _export_in_child(h5_path, scratch)
    meta = json.loads((scratch / "runtime.json").read_text())
    tflite = scratch / "model.tflite"
    return meta, tflite.read_bytes() if meta["runtime"] == TFLiteRunner.name else None


def _export_in_child(h5_path: Path, scratch: Path) -> None:
    command = [sys.executable, "-m", "classifier.export", str(h5_path), "--out", str(scratch)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise ModelError(
            f"Preparing the runtime for {h5_path} took over {BUILD_TIMEOUT_S} s"
        ) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        reason = lines[-1].removeprefix("error: ") if lines else done.stderr.strip()[-500:]
        raise ModelError(reason or f"Preparing the runtime for {h5_path} failed")


@contextmanager
def _locked(h5_path: Path):
    """Lock the model's folder (HDF5 itself locks the .h5 file, so that one can't be used)."""
    handle = os.open(h5_path.parent, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # releases the lock
