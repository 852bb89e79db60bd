"""`petclf serve`: the upload page and JSON API on Flask's development server."""

import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the upload page and JSON API (development server)",
        description="Run the upload page and JSON API on Flask's development server. "
        'For production use gunicorn: gunicorn -c deploy/gunicorn.conf.py "webapp:create_app()".',
    )
    parser.add_argument(
        "--host",
        default=None,
        help=f"address to listen on (default $PETCLF_HOST or {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port to listen on (default $PETCLF_PORT or {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--model", default=None, help="the model's .h5 (default $PETCLF_MODEL or models/pets.h5)"
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=None,
        help="largest upload accepted (default $PETCLF_MAX_UPLOAD_MB or 10)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="Flask debug mode: reloader and tracebacks (never in production)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    from webapp.app import create_app

    app = create_app(model=args.model, max_upload_mb=args.max_upload_mb)
    host = args.host or os.environ.get("PETCLF_HOST") or DEFAULT_HOST
    port = args.port or int(os.environ.get("PETCLF_PORT") or DEFAULT_PORT)
    app.run(host=host, port=port, debug=args.debug, threaded=True, use_reloader=args.debug)
    return 0
