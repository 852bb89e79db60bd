# gunicorn settings for the upload page and JSON API:
#     gunicorn -c deploy/gunicorn.conf.py "webapp:create_app()"
# Environment: PETCLF_BIND (default 127.0.0.1:8000; nginx in front), PETCLF_WORKERS (default 2),
# PETCLF_THREADS (default 4), PETCLF_MODEL, PETCLF_MAX_UPLOAD_MB. Command-line flags win.
import os
import shutil
import sys
import tempfile

bind = os.environ.get("PETCLF_BIND", "127.0.0.1:8000")
# Each worker is one process with its own small TFLite runtime (no TensorFlow import once the
# runtime is cached); threads overlap image decoding, which releases the GIL, with inference.
workers = int(os.environ.get("PETCLF_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("PETCLF_THREADS", "4"))
# No preload: each worker loads the model itself, so a loaded runtime is never forked.
preload_app = False
# The first start on a new model converts it once (see on_starting); later boots take a second.
timeout = 60
graceful_timeout = 30
# No keep-alive: a request sent on a kept-alive connection just as gunicorn closes it is lost
# (benchmarks/soak.py: 6 to 7 connection errors in 3,000 uploads with it, recycling or not; 0
# without). nginx in front opens one upstream connection per request anyway.
keepalive = 0
# Worker memory grows by a quarter over the first 1,500 requests (same soak), so recycle workers
# now and then; a recycle is a graceful stop, lossless without keep-alive. The jitter keeps them
# from restarting all at once.
max_requests = 2000
max_requests_jitter = 200
# Request line and header limits against oversized headers; the body limit is the app's.
limit_request_line = 8190
limit_request_fields = 100
accesslog = "-"
errorlog = "-"
loglevel = "info"
proc_name = "petclf-web"
# No runtime control socket: several masters on one host would share its default path, and the
# hardened service has no home directory to put it in.
control_socket_disable = True
# Trust X-Forwarded-* only from the local proxy (the app's ProxyFix trusts one hop).
forwarded_allow_ips = "127.0.0.1,::1"


def on_starting(server):
    """In the master, before any worker: refuse to start without a usable model, and build its
    fast runtime once (in a child process, so the master never imports TensorFlow); the workers
    then only load the cached file."""
    problem = _prepare_model()
    if problem:
        print(f"petclf web: error: {problem}", file=sys.stderr)
        sys.exit(1)
    # Workers write their metrics here; /metrics reports the sum over all workers.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="petclf-metrics-")
        os.environ["PETCLF_OWNS_METRICS_DIR"] = "1"
    _announce_admin_token()


def _announce_admin_token():
    """Without PETCLF_ADMIN_TOKEN, the first start generates one into PETCLF_HOME and shows it once."""
    from webapp.auth import TOKEN_FILE, admin_token

    token, created = admin_token()
    if created:
        print(
            f"petclf web: admin token for uploads and training: {token} (kept in PETCLF_HOME/{TOKEN_FILE})",
            flush=True,
        )


def on_reload(server):
    """HUP (a model update): prepare the new model's runtime before the new workers start."""
    problem = _prepare_model()
    if problem:
        print(f"petclf web: warning: {problem}", file=sys.stderr)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if os.environ.get("PETCLF_OWNS_METRICS_DIR"):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _prepare_model():
    """None when the model is usable and its runtime cached, else what is wrong with it."""
    from classifier import ClassifierError
    from classifier.artifact import model_path, open_artifact
    from classifier.runtime import ensure_runtime

    try:
        ensure_runtime(open_artifact(model_path()))
    except ClassifierError as exc:
        return str(exc)
    return None
