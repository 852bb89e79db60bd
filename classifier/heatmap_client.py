"""Asking the heat-map service (run by `petclf worker`, see jobs/heatmap_service.py) why a model
answered as it did. Plain HTTP on a local socket: the web app and the bot call this without
loading TensorFlow.

    png = heatmap_png("models/pets.h5", photo_bytes)            # the top class's Grad-CAM overlay
    png = heatmap_png(path, photo_bytes, label="dog")           # where it saw a dog

Raises HeatmapUnavailable when no service answers, HeatmapRefused (with an HTTP status and a code)
when it answers that it can't make this map.
"""

import http.client
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from classifier.errors import ClassifierError

DEFAULT_ADDR = "127.0.0.1:9997"
ADDR_VARIABLE = "PETCLF_HEATMAP_ADDR"
PATH = "/v1/heatmap"
LABEL_HEADER = "X-Petclf-Label"
DEFAULT_TIMEOUT = 20.0  # the first map of a model not loaded yet takes a few seconds


class HeatmapError(ClassifierError):
    """Base class of the heat-map client's errors; `status` is the HTTP answer it calls for."""

    status = 500
    code = "heatmap_failed"


class HeatmapUnavailable(HeatmapError):
    """No heat-map service answers at the configured address, or it answered too late."""

    status = 503
    code = "heatmap_unavailable"


class HeatmapRefused(HeatmapError):
    """The service answered that it can't make this map (say, the model file is gone)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class HeatMap:
    png: bytes  # the padded photo with the map over it
    label: str  # the class it shows the evidence for


def heatmap_addr() -> tuple[str, int]:
    """PETCLF_HEATMAP_ADDR as (host, port); default 127.0.0.1:9997."""
    text = os.environ.get(ADDR_VARIABLE) or DEFAULT_ADDR
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise HeatmapError(f"{ADDR_VARIABLE} must be host:port (like {DEFAULT_ADDR}), not {text!r}")
    return host.strip("[]"), int(port)


def heatmap(
    model_path: str | os.PathLike,
    image: bytes,
    label: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> HeatMap:
    """The overlay for the photo `image` and the model at `model_path`; `label` None: the top class."""
    query = {"model": str(Path(model_path).absolute())}
    if label is not None:
        query["label"] = label
    status, headers, body = _request("POST", f"{PATH}?{urlencode(query)}", image, timeout)
    if status != 200:
        raise _refusal(status, body)
    return HeatMap(png=body, label=headers.get(LABEL_HEADER, label or ""))


def heatmap_png(
    model_path: str | os.PathLike,
    image: bytes,
    label: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    return heatmap(model_path, image, label, timeout).png


def ping(timeout: float = 1.0) -> bool:
    """Does a heat-map service answer (its models loaded and ready)?"""
    try:
        return _request("GET", "/healthz", None, timeout)[0] == 200
    except HeatmapUnavailable:
        return False


def _request(method: str, path: str, body: bytes | None, timeout: float) -> tuple[int, dict, bytes]:
    host, port = heatmap_addr()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    except (OSError, http.client.HTTPException) as exc:
        reason = "it took too long" if isinstance(exc, TimeoutError) else str(exc)
        raise HeatmapUnavailable(
            f"the heat-map service at {host}:{port} did not answer ({reason}); "
            "it runs with `petclf worker`"
        ) from None
    finally:
        connection.close()


def _refusal(status: int, body: bytes) -> HeatmapRefused:
    try:
        error = json.loads(body)["error"]
        return HeatmapRefused(status, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return HeatmapRefused(status, "heatmap_failed", f"the heat-map service answered {status}")
