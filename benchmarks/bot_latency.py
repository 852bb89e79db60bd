"""Chat latency of the Telegram bot and throughput of the TCP classification server.

    python benchmarks/bot_latency.py [--model models/pets.h5] [--photos ../shared/datasets/pets]
                                     [--messages 30] [--clients 4] [--seconds 15]

Runs the real `petclf tcp-server` and `petclf bot` processes against the local Bot API
stand-in used by the tests, and prints:
- the time from an update appearing on the stand-in to the bot's reply arriving there
  (p50, p90, max over photos sent one after another; it covers long polling, getFile,
  the download, the TCP round trip with classification, and sendMessage);
- the TCP server's requests/s with N concurrent clients, each opening one connection per
  request as the original client does (and with one client, for comparison).
Photos are real ones from the shared pet set, as a phone would send them. Without
models/pets.h5 (and no --model), a stand-in model is trained on generated shapes for the
run and the output says so: by default a MobileNetV2 on the shared offline backbone (the
shipped architecture, so the same inference cost), or `--stand-in tiny_cnn` for a quick look
at the plumbing alone.
"""

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

# TensorFlow's start-up chatter would bury the figures
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from standin import stand_in_model  # noqa: E402  (benchmarks/standin.py)

from bot.tcp_client import classify  # noqa: E402
from tests.bot.conftest import TOKEN  # noqa: E402
from tests.bot.processes import start_bot, start_tcp_server  # noqa: E402
from tests.bot.standin import BotApiStandIn, Updates  # noqa: E402

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}


def load_photos(root: Path, count: int) -> list[bytes]:
    files = (
        sorted(p for p in root.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
        if root.is_dir()
        else []
    )
    if files:
        step = max(1, len(files) // count)
        return [p.read_bytes() for p in files[::step][:count]]
    from tests.imagegen import encode, shape_image

    print(f"no photos under {root}: using generated 1024×768 JPEGs")
    return [
        encode(shape_image(label, n, (1024, 768)), "JPEG", quality=90)
        for n, label in zip(range(count), itertools.cycle(("cat", "dog", "bird")))
    ]


def chat_latency(standin: BotApiStandIn, photos: list[bytes], messages: int) -> list[float]:
    updates = Updates(standin)
    latencies = []
    for n in range(messages):
        chat_id = 10_000 + n
        update_id = standin.push(updates.photo(chat_id, photos[n % len(photos)]))
        [reply] = standin.wait_for_replies(chat_id, timeout=120)
        latencies.append(reply["at"] - standin.pushed_at[update_id])
    return latencies


def throughput(port: int, photos: list[bytes], clients: int, seconds: float) -> tuple[float, int]:
    done, errors = [0] * clients, []
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        for n in itertools.count(index):
            if time.monotonic() >= deadline:
                return
            reply = classify(("127.0.0.1", port), photos[n % len(photos)], n)
            if "error" in reply:
                errors.append(reply["error"])
            done[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started), len(errors)


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, help="model to serve (default: models/pets.h5, else a stand-in)"
    )
    parser.add_argument(
        "--stand-in",
        default="mobilenet_v2",
        choices=("mobilenet_v2", "tiny_cnn"),
        help="architecture of the stand-in model trained when there is no models/pets.h5",
    )
    parser.add_argument("--photos", type=Path, default=REPO / ".." / "shared" / "datasets" / "pets")
    parser.add_argument(
        "--messages", type=int, default=30, help="photos sent to the bot, one after another"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent TCP clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each throughput run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = args.model or (REPO / "models" / "pets.h5")
        if not model.is_file():
            if args.model:
                sys.exit(f"no model at {model}")
            model = stand_in_model(workdir, args.stand_in)
        photos = load_photos(args.photos, 40)
        sizes = sorted(len(p) for p in photos)
        print(
            f"model: {model.name}; {len(photos)} photos, median {sizes[len(sizes) // 2] / 1024:.0f} KB; "
            f"{os.cpu_count()} CPU cores"
        )

        server, port = start_tcp_server(model, workdir / "server.log")
        standin = BotApiStandIn(TOKEN).start()
        bot = start_bot(standin.url, TOKEN, port, workdir / "bot.log")
        try:
            classify(("127.0.0.1", port), photos[0])  # warm the server's first request path
            latencies = chat_latency(standin, photos, args.messages)
            print(
                f"bot, update on the Bot API → reply arrives: p50 {percentile(latencies, 50) * 1000:.0f} ms, "
                f"p90 {percentile(latencies, 90) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
                f"({len(latencies)} photos, one after another)"
            )
            bot.stop()
            for clients in sorted({1, args.clients}):
                rate, errors = throughput(port, photos, clients, args.seconds)
                print(
                    f"tcp-server, {clients} concurrent client(s), one connection per request: "
                    f"{rate:.1f} requests/s ({errors} error replies)"
                )
        finally:
            bot.kill()
            server.stop()
            standin.close()


if __name__ == "__main__":
    main()
