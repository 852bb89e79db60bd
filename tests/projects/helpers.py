"""Helpers for the projects tests: generated photos into a project, a real worker process, waiting on a job,
the `petclf` CLI (plain or on a terminal), and the processes a job runs in."""

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from projects import service
from projects.photos import Incoming, add_photos
from store import Job, session
from tests.imagegen import encode, shape_image


def shape_photos(label: str, count: int, first_seed: int = 0) -> list[Incoming]:
    return [
        Incoming(f"{label}{n}.png", encode(shape_image(label, seed=first_seed + n), "PNG"))
        for n in range(count)
    ]


def add_shapes(db, project, labels, per_class: int = 8) -> None:
    for label in labels:
        add_photos(db, project, label, shape_photos(label, per_class))


@contextlib.contextmanager
def start_worker(
    home: Path, env: dict | None = None, log_name: str = "worker.log", heatmaps: bool = False
):
    """A real `petclf worker` process with this test's environment; stopped (SIGTERM, then SIGKILL) at the end.

    `heatmaps`: also run its heat-map service (set PETCLF_HEATMAP_ADDR to a free port in `env`)."""
    log_path = home.parent / log_name
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "petclf", "worker", *(() if heatmaps else ("--no-heatmaps",))],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def job_state(job_id: str) -> dict:
    with session() as db:
        return service.job_dict(db.get(Job, job_id))


def wait_for_job(
    job_id: str,
    timeout: float,
    seen_phases: set | None = None,
    until=("done", "failed", "cancelled"),
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = job_state(job_id)
        if seen_phases is not None and job["phase"]:
            seen_phases.add(job["phase"])
        if job["state"] in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job_state(job_id)} after {timeout} s")


def wait_until(condition, timeout: float, what: str):
    """Poll `condition()` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


# What training.train reports from a project's training child, before anything is published.
# Together they last seconds, though any one of them (a linear head especially) can be over
# between two polls of the job's row.
TRAIN_PHASES = ("loading", "head", "evaluating", "saving")
# The child's phases from its start: "preparing" includes importing TensorFlow (seconds).
TRAINING_PHASES = ("preparing", *TRAIN_PHASES)


def wait_for_training(job_id: str, timeout: float = 300) -> dict:
    """The job's row once its training child runs, before anything of it is published."""

    def training():
        job = job_state(job_id)
        assert job["state"] in ("queued", "running"), job  # it ended before it could be stopped
        return job if job["phase"].startswith(TRAINING_PHASES) else None

    return wait_until(training, timeout, f"job {job_id} training")


def write_shape_folders(root: Path, labels, per_class: int, first_seed: int = 0) -> Path:
    """root/<label>/<label><n>.png of generated shapes, as a person's folder of photos per class."""
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
        for photo in shape_photos(label, per_class, first_seed):
            (root / label / photo.name).write_bytes(photo.data)
    return root


class Terminal:
    """`petclf` with its stderr on a pseudo-terminal, as a person runs it: progress bars draw there.
    It leads its own process group, as a shell's foreground job does, so Ctrl-C is `interrupt()`."""

    def __init__(self, *args, env: dict):
        master, slave = pty.openpty()
        # a new terminal is 0 columns wide
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "petclf", *map(str, args)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self._screen = bytearray()
        self._reader = threading.Thread(target=self._read, args=(master,), daemon=True)
        self._reader.start()

    def _read(self, master: int) -> None:
        with contextlib.suppress(OSError):  # EIO once the process has closed the terminal
            while chunk := os.read(master, 4096):
                self._screen += chunk
        os.close(master)

    def interrupt(self) -> None:
        """What Ctrl-C does: SIGINT to the terminal's foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout: float = 600) -> tuple[int, str, str]:
        """(exit code, stdout, everything drawn on the terminal)."""
        out, _ = self.process.communicate(timeout=timeout)
        self._reader.join(timeout=10)
        return self.process.returncode, out.decode(), self._screen.decode(errors="replace")


def child_pids(pid: int) -> list[int]:
    """The children of a process, whichever of its threads started them."""
    children = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def training_child(parent_pid: int, timeout: float = 60) -> int:
    """The pid of the `python -m jobs.child` process a worker (or the CLI) runs a job in."""

    def find():
        return next((pid for pid in child_pids(parent_pid) if b"jobs.child" in _cmdline(pid)), None)

    return wait_until(find, timeout, f"the training process of {parent_pid}")


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
