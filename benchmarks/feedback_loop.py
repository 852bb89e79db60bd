"""The feedback loop, end to end: from accepting corrections to the retrained version serving.

    python benchmarks/feedback_loop.py [--model models/pets.h5] [--photos ../shared/datasets/pets]
                                       [--ood ../shared/datasets/ood] [--corrections 20]
                                       [--train-per-class 8] [--test-per-class 4]

Runs real gunicorn and a real `petclf worker` on a fresh PETCLF_HOME, with the shipped model
serving. Photos the model gets wrong (the first --corrections of them, in a seeded order: pets it
mistakes, and --ood photos it takes for a pet) are classified through POST /api/v1/predict and
corrected through POST /api/v1/feedback with their true class or "none", which creates the "pets" project (v1: the shipped model). An admin then adds a few
labelled photos per class (train and test sides) and accepts the corrections one by one through
the API; PETCLF_RETRAIN_AFTER makes the last acceptance queue the retraining. Prints how long
accepting took, how long the job waited and trained, and when POST /api/v1/projects/pets/predict
first answered from v2 (counted from the first acceptance), with the gate's figures: v1's and v2's
accuracy on the project's test photos, and the change.
"""

import argparse
import io
import os
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from projects.predictions import lookup  # noqa: E402
from tests.projects.helpers import start_worker  # noqa: E402
from tests.servers import GunicornServer  # noqa: E402

SHARED_PHOTOS = REPO / "../shared/datasets/pets"
SHARED_OOD = REPO / "../shared/datasets/ood"
TOKEN = "feedback-loop-benchmark"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT_S = 1800
SEED = 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "pets.h5")
    parser.add_argument(
        "--photos", type=Path, default=SHARED_PHOTOS, help="<class>/<photo> folders"
    )
    parser.add_argument(
        "--ood",
        type=Path,
        default=SHARED_OOD,
        help="photos of none of the classes (searched recursively)",
    )
    parser.add_argument("--corrections", type=int, default=20)
    parser.add_argument("--train-per-class", type=int, default=8)
    parser.add_argument("--test-per-class", type=int, default=4)
    args = parser.parse_args()
    if not args.photos.is_dir():
        sys.exit(f"{args.photos} is missing: give --photos a folder of <class>/<photo> folders.")
    if not args.model.is_file():
        sys.exit(f"{args.model} is missing: give --model a trained transfer-learning model.")

    labelled, candidates = pick_photos(
        args.photos, args.ood, args.train_per_class, args.test_per_class
    )
    with tempfile.TemporaryDirectory(prefix="petclf-feedback-bench-") as scratch:
        home = Path(scratch) / "home"
        env = {
            "PETCLF_HOME": str(home),
            "PETCLF_ADMIN_TOKEN": TOKEN,
            "PETCLF_RETRAIN_AFTER": str(args.corrections),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        for name in ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL"):
            os.environ.pop(name, None)
        os.environ.update(env, PETCLF_MODEL=str(args.model.resolve()))
        with (
            GunicornServer(args.model.resolve(), Path(scratch), workers=1, threads=4) as server,
            start_worker(home, env, log_name="worker.log"),
        ):
            run(server.url, labelled, candidates, args.corrections)


def pick_photos(root: Path, ood: Path, train: int, test: int):
    """({side: [(class, path)]} for the project's own photos, [(class or "none", path)] correction
    candidates)."""
    rng = random.Random(SEED)
    labelled: dict[str, list] = {"train": [], "test": []}
    candidates = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.is_file())
        rng.shuffle(files)
        labelled["train"] += [(folder.name, path) for path in files[:train]]
        labelled["test"] += [(folder.name, path) for path in files[train : train + test]]
        candidates += [(folder.name, path) for path in files[train + test :]]
    if ood.is_dir():
        candidates += [("none", path) for path in sorted(ood.rglob("*")) if path.is_file()]
    rng.shuffle(candidates)
    return labelled, candidates


def run(url: str, labelled: dict, candidates: list, wanted: int) -> None:
    ids, asked = wrong_answers(url, candidates, wanted)
    nones = sum(label == "none" for _, label in ids)
    print(f"corrections: {len(ids)} wrong answers among {asked} photos classified "
          f"({len(ids) - nones} pets mistaken, {nones} non-pets taken for a pet)")  # fmt: skip
    for prediction_id, label in ids:
        sent = post(url, "/api/v1/feedback", json={"prediction_id": prediction_id, "label": label})
        assert sent.status_code == 201, sent.text
    for side, photos in labelled.items():
        for label, path in photos:  # one a request: the upload limit is per request
            added = post(url, "/api/v1/projects/pets/photos", data={"class": label, "side": side},
                         files={"file": (path.name, path.read_bytes())}, headers=ADMIN)  # fmt: skip
            assert added.status_code == 200, added.text
    pending = get(url, "/api/v1/projects/pets/corrections", headers=ADMIN)["corrections"]
    test_photos = sum(len(p) for side, p in labelled.items() if side == "test")
    print(f"project pets: {sum(len(p) for p in labelled.values())} labelled photos "
          f"({test_photos} test) besides the corrections")  # fmt: skip

    started = time.monotonic()
    for correction in pending:
        accepted = post(url, f"/api/v1/projects/pets/corrections/{correction['id']}/accept",
                        headers=ADMIN)  # fmt: skip
        assert accepted.status_code == 200, accepted.text
    accepted_s = time.monotonic() - started
    job = wait_for_job(url)
    serving_s = wait_for_version(url, 2, started) if job["result"]["activated"] else None
    report(job, accepted_s, serving_s, len(pending))


def wrong_answers(url: str, candidates: list, wanted: int) -> tuple[list, int]:
    """(prediction id, true class or "none") of the first `wanted` photos the shipped model gets
    wrong: a pet taken for another or for none, or none taken for a pet."""
    found, asked = [], 0
    for label, path in candidates:
        answer = post(url, "/api/v1/predict", files={"file": (path.name, path.read_bytes())})
        asked += 1
        right = "unknown" if label == "none" else label
        if answer.status_code == 200 and answer.json()["label"] != right:
            found.append((answer.json()["id"], label))
            if len(found) == wanted:
                break
    if len(found) < wanted:
        sys.exit(f"only {len(found)} wrong answers among {asked} photos; ask for fewer corrections")
    return found, asked


def wait_for_job(url: str) -> dict:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        versions = get(url, "/api/v1/projects/pets/versions")["versions"]
        job_ids = [v["job_id"] for v in versions if v["number"] == 2]
        project = get(url, "/api/v1/projects/pets")
        if job_ids and project["job"] is None:
            return get(url, f"/api/v1/jobs/{job_ids[0]}")
        if project["job"] and project["job"]["state"] == "failed":
            sys.exit(f"the retraining failed: {project['job']['error']}")
        time.sleep(0.5)
    sys.exit(f"no retrained version within {TIMEOUT_S} s")


def wait_for_version(url: str, number: int, started: float) -> float:
    """Seconds from `started` until the project's predictions come from version `number`."""
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(photo, "PNG")
    while True:
        answer = post(
            url, "/api/v1/projects/pets/predict", files={"file": ("p.png", photo.getvalue())}
        )
        if answer.status_code == 200 and lookup(answer.json()["id"]).version == number:
            return time.monotonic() - started
        time.sleep(0.2)


def report(job: dict, accepted_s: float, serving_s: float | None, corrections: int) -> None:
    gate = job["result"]["gate"]
    queued = _seconds(job["created_at"], job["started_at"])
    trained = _seconds(job["started_at"], job["finished_at"])
    print(f"accepting {corrections} corrections: {accepted_s:.1f} s (the last one queued the job)")
    print(f"job: waited {queued:.1f} s for the worker, trained and compared in {trained:.1f} s")
    if serving_s is None:
        print(f"v2 not activated: {job['message']}")
    else:
        print(f"from the first acceptance to v2 serving: {serving_s:.1f} s")
    old, new = gate["active_accuracy"], gate["new_accuracy"]
    print(f"gate: {gate['decided_by']}: v1 {old:.1%}, v2 {new:.1%}, change {new - old:+.1%}")


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def post(url: str, path: str, **kwargs) -> requests.Response:
    return requests.post(f"{url}{path}", timeout=120, **kwargs)


def get(url: str, path: str, **kwargs) -> dict:
    answer = requests.get(f"{url}{path}", timeout=60, **kwargs)
    answer.raise_for_status()
    return answer.json()


if __name__ == "__main__":
    main()
