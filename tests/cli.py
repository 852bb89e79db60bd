"""The real `petclf` console script, run in a process of its own, as every CLI test runs it."""

import subprocess
import sys
from pathlib import Path

PETCLF = Path(sys.executable).with_name("petclf")  # the installed console script


def run_petclf(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`petclf ARGS…` with text output captured; `env` replaces the environment when given."""
    return subprocess.run(
        [str(PETCLF), *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )
