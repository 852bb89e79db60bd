import io
import json
import shutil

import pytest
from PIL import Image

from tests.imagegen import encode, shape_image
from webapp import create_app


@pytest.fixture
def app(tiny_model):
    return create_app(model=tiny_model, max_upload_mb=1)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def unknown_model(tiny_model, tmp_path_factory):
    """The tiny model with a card whose threshold no photo reaches: everything is unknown."""
    folder = tmp_path_factory.mktemp("unknown_model")
    shutil.copy(tiny_model, folder / "tiny.h5")
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    card["unknown"].update(method="max_softmax", temperature=1.0, threshold=1.01)
    (folder / "tiny.json").write_text(json.dumps(card))
    return folder / "tiny.h5"


def cat_jpeg() -> bytes:
    return encode(shape_image("cat", 11, size=(320, 240)))


def truncated_jpeg() -> bytes:
    data = encode(shape_image("dog", 3, size=(900, 700)), quality=95)
    return data[: len(data) // 2]


def pixel_bomb() -> bytes:
    """A few kilobytes that claim 100 megapixels."""
    return encode(Image.new("1", (10_000, 10_000)), "PNG")


BAD_FILES = {
    # name: (bytes, status, code, words the message must contain)
    "empty": (b"", 400, "empty_file", "empty"),
    "text renamed .jpg": (b"hello, this is not a photo\n", 415, "unsupported_image", "plain text"),
    "html renamed .jpg": (
        b"<!doctype html><html><body>404</body></html>",
        415,
        "unsupported_image",
        "HTML page",
    ),
    "svg renamed .jpg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        415,
        "unsupported_image",
        "SVG",
    ),
    "truncated jpeg": (truncated_jpeg(), 422, "corrupt_image", "damaged"),
    "pixel bomb": (pixel_bomb(), 422, "too_many_pixels", "megapixels"),
}


def multipart(data: bytes, name: str = "photo.jpg") -> dict:
    return {"file": (io.BytesIO(data), name)}
