"""Training progress into the job's row: phase, step of total, the latest metrics and an ETA."""

import time

from store import Job, session

MIN_INTERVAL = 0.5  # seconds between writes within a phase: the page polls about once a second


class ProgressWriter:
    def __init__(self, job_id: str):
        self.job_id = job_id
        self.phase = None
        self.phase_started = 0.0
        self.last_write = 0.0

    def __call__(self, phase: str, step: int, total: int, metrics: dict | None = None) -> None:
        moment = time.monotonic()
        if phase != self.phase:
            self.phase, self.phase_started = phase, moment
        elif moment - self.last_write < MIN_INTERVAL and step < total:
            return
        self.last_write = moment
        elapsed = moment - self.phase_started
        eta = elapsed / step * (total - step) if step and total >= step else None
        with session() as db:
            job = db.get(Job, self.job_id)
            job.phase, job.step, job.total = phase, int(step), int(total)
            job.metrics = {key: round(float(value), 4) for key, value in (metrics or {}).items()}
            job.eta_seconds = round(eta, 1) if eta is not None else None

    def message(self, text: str) -> None:
        with session() as db:
            db.get(Job, self.job_id).message = text
