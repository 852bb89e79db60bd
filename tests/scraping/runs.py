"""Running the real `petclf scrape` against the fake site, and what the misbehaving site holds."""

import json
import os
import subprocess
from pathlib import Path

from tests.cli import run_petclf

# Tile index -> how its image misbehaves; every other tile serves a distinct good photo.
MISBEHAVIOUR = {
    10: "dup_of:0",  # the same bytes as tile 0
    11: "near_of:1",  # tile 1 resized and re-encoded
    12: "html",  # an HTML error page served as a .jpg
    13: "404",
    14: "fallback",  # the large size is missing, the size the page showed exists
    15: "429",  # Retry-After: 1, then the photo
    16: "tiny",  # 60×40
    17: "blank",  # one flat colour
    18: "placeholder",  # redirects to a "photo unavailable" picture
    19: "503",  # always, with Retry-After: 0
}
GOOD = 24 - len(MISBEHAVIOUR) + 2  # the fallback and the 429 photos arrive in the end


def scrape_command(site_url: str, out: Path, *extra: str) -> list[str]:
    """The command line of a quick single-query Flickr run against the fake site."""
    return [
        "scrape",
        "--source",
        "flickr",
        "--query",
        "random",
        "--class",
        "cat",
        "--out",
        str(out),
        "--base-url",
        site_url,
        "--pages-per-second",
        "20",
        "--retries",
        "1",
        *extra,
    ]


def run_without_api_keys(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """`petclf ARGS…` without the caller's own Flickr and Imgur keys: each test says which it uses."""
    environment = {
        k: v for k, v in os.environ.items() if k not in ("FLICKR_API_KEY", "IMGUR_CLIENT_ID")
    }
    return run_petclf(*args, env={**environment, **(env or {})}, timeout=120)


def summary_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])["total"]
