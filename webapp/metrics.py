"""Prometheus metrics: requests, latency, predictions per label, errors per code.

Under gunicorn, deploy/gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR so every worker writes its
figures there and `/metrics` answers with the sum over all workers, whichever worker serves it.
Without that variable (the dev server, tests) the figures are those of this process.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6, 1.2, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self):
        disable_created_metrics()  # the *_created series only add noise here
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "petclf_http_requests",
            "HTTP requests answered",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "petclf_http_request_duration_seconds",
            "Time to answer a request",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "petclf_predictions",
            "Images classified, by label given",
            ["label"],
            registry=self.registry,
        )
        self.errors = Counter(
            "petclf_errors", "Requests refused, by error code", ["code"], registry=self.registry
        )

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
