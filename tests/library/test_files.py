"""Reading a listed file: its bytes whole, in a buffer of its own size."""

import os
import tracemalloc

from library import files


def test_a_file_is_read_whole_into_a_buffer_of_its_size(tmp_path):
    path = tmp_path / "photo.jpg"
    data = os.urandom(1_000_000)
    path.write_bytes(data)
    tracemalloc.start()
    try:
        read, _ = files.read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == data
    assert peak < 3 * len(data)  # not a buffer of MAX_FILE_BYTES


def test_a_file_that_grew_after_its_size_was_taken_is_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"a" * 1000)
    before = os.stat(path)
    path.write_bytes(b"b" * 5000)  # still being written when it was listed
    monkeypatch.setattr(files.os, "stat", lambda _: before)
    read, _ = files.read(path)
    assert read == b"b" * 5000
