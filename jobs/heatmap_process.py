"""The heat-map service as a child of `petclf worker`: started with it, restarted if it dies,
stopped with it (and killed by the kernel if the worker is killed outright)."""

import logging
import subprocess
import sys
import threading

from jobs.heatmap_service import CANNOT_LISTEN
from jobs.runner import die_with_parent

RESTART_SECONDS = 5.0
STOP_SECONDS = 5.0

log = logging.getLogger("petclf.worker")


class HeatmapProcess:
    def __init__(self):
        self._stopping = threading.Event()
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()  # a child is never started once stop() has looked
        self._thread = threading.Thread(target=self._supervise, name="heatmaps", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
        if self._thread.ident is not None:  # started
            self._thread.join(STOP_SECONDS)

    def _supervise(self) -> None:
        # The death signal follows the thread that started the child, so this thread starts it
        # and stays alive while it runs.
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "jobs.heatmap_service"],
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # Ctrl-C reaches the worker, which stops it in order
                    preexec_fn=die_with_parent,
                )
            code = self._child.wait()
            if self._stopping.is_set() or code == CANNOT_LISTEN:  # it logged why
                return
            log.warning("the heat-map service stopped (exit status %s); restarting it", code)
            self._stopping.wait(RESTART_SECONDS)
