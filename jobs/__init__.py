"""The job queue (one Huey instance), its tasks, and `petclf worker`.

A training job runs in a child process of the worker, so its memory is returned when it ends and
a hard cancel can kill it; it writes its progress to its row in the store.
"""

from jobs.queue import enqueue

__all__ = ["enqueue"]
