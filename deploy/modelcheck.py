"""Checks update-model.sh runs with the installation's Python (the app on PYTHONPATH).

modelcheck.py verify STAGED.h5 [--current LIVE.h5] [--origin NEW.h5 NEW.json]
    Load the model exactly as the services will (card schema, sha256, fast runtime, which
    is built and cached beside it now), classify a probe image, and print a summary.
    Exit 1 with one line on stderr when it is not fit to serve (naming the --origin files
    the operator gave rather than the staged copies).
modelcheck.py wait-served URL SHA256 [--timeout S]
    Poll URL/api/v1/model until the web app serves the card of that .h5.
    Exit 0 once it does, 1 when it still serves another model, 2 when URL never answered.
"""

import argparse
import json
import math
import sys
import time
import urllib.error
import urllib.request


def verify(args) -> int:
    from PIL import Image

    from classifier import load_engine
    from classifier.card import card_path, read_card

    engine = load_engine(args.model)
    card, labels = engine.card, engine.labels
    prediction = engine.predict_image(
        Image.new("RGB", (card["input_size"],) * 2, "white")
    ).to_dict()
    ranked = prediction["predictions"]
    if not ranked or any(
        p["label"] not in labels or not math.isfinite(p["proba"]) or not 0 <= p["proba"] <= 1
        for p in ranked
    ):
        raise ValueError(f"{args.model} gives predictions that don't fit its card: {ranked}")

    metrics = card.get("test_metrics") or {}
    accuracy = (
        f"test accuracy {metrics['accuracy']:.3f}" if "accuracy" in metrics else "no test metrics"
    )
    print(
        f"model {card['name']}: {len(labels)} labels, {accuracy}, runtime {engine.runtime}, sha256 {card['h5_sha256'][:12]}"
    )
    if args.current and card_path(args.current).is_file():
        old_labels = read_card(card_path(args.current))["labels"]
        if old_labels != labels:
            print(f"note: the labels change from {', '.join(old_labels)} to {', '.join(labels)}")
    return 0


def wait_served(args) -> int:
    deadline = time.monotonic() + args.timeout
    answered = False
    while True:
        try:
            with urllib.request.urlopen(
                f"{args.url.rstrip('/')}/api/v1/model", timeout=10
            ) as response:
                served = json.load(response).get("h5_sha256")
            answered = True
            if served == args.sha256:
                return 0
        except (OSError, ValueError, AttributeError):
            pass  # not up yet, restarting, or not our app: try again until the deadline
        if time.monotonic() > deadline:
            return 1 if answered else 2
        time.sleep(0.5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Model checks for deploy/update-model.sh.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check a model loads and predicts as its card says")
    check.add_argument("model")
    check.add_argument("--current", help="the live model, to point out label changes")
    check.add_argument(
        "--origin", nargs=2, metavar=("H5", "CARD"), help="the files the staged copies came from"
    )
    check.set_defaults(func=verify)
    wait = commands.add_parser("wait-served", help="wait until the web app serves a model")
    wait.add_argument("url")
    wait.add_argument("sha256")
    wait.add_argument("--timeout", type=float, default=120.0)
    wait.set_defaults(func=wait_served)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # any failure means "refuse this model": say why in one line
        message = str(exc) or type(exc).__name__
        if getattr(args, "origin", None):
            from classifier.card import card_path

            message = message.replace(str(card_path(args.model)), args.origin[1]).replace(
                args.model, args.origin[0]
            )
        print(f"error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
