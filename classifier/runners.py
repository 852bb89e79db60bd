"""Runners that turn a batch of images into raw model outputs without TensorFlow, and the fixed
probe batch on which every runner is checked against the .h5's own outputs."""

import os
import queue
import sys
from contextlib import contextmanager

import numpy as np

from classifier.artifact import ModelArtifact
from classifier.errors import ModelError

PARITY_TOLERANCE = 1e-4  # max absolute difference in any label probability
PROBE_SEED = 240


def probe_batch(size: int) -> np.ndarray:
    """A fixed batch (white, noise, gradient, blocks), the same on every machine."""
    rng = np.random.RandomState(PROBE_SEED)
    white = np.full((size, size, 3), 255.0)
    noise = rng.uniform(0, 255, (size, size, 3))
    ramp = np.linspace(0, 255, size)
    gradient = np.stack(
        [np.add.outer(ramp, ramp) / 2, np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size))],
        -1,
    )
    blocks = np.kron(rng.uniform(0, 255, (8, 8, 3)), np.ones((size // 8 + 1, size // 8 + 1, 1)))[
        :size, :size
    ]
    return np.stack([white, noise, gradient, blocks]).astype(np.float32)


class TFLiteRunner:
    """Raw outputs from the TFLite file; a pool of interpreters so threads never share one."""

    name = "tflite"

    def __init__(self, model_content: bytes, interpreters: int = 4, precision: str = "float32"):
        self.precision = precision  # "int8" or "float32", as its runtime.json says
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


def probe_difference(runner, artifact: ModelArtifact, meta: dict) -> float:
    """Largest probability difference on the probe batch between the runner and the .h5, or, for
    an int8 runtime (checked against the .h5 on real photos when built), its own recorded outputs."""
    recorded = meta.get("runtime_probe_outputs") or meta["probe_outputs"]
    expected = artifact.probabilities(np.asarray(recorded, dtype=np.float32))
    actual = artifact.probabilities(runner.run(probe_batch(artifact.input_size)))
    return float(np.abs(actual - expected).max())


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
