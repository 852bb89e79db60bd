"""`petclf project …` through the real console entry point, on a store with no server running."""

import io
import json
import math
import re
import zipfile

import pytest

from classifier import load_engine
from projects import service
from store import session
from tests.cli import run_petclf
from tests.imagegen import encode, shape_image
from tests.projects.conftest import project_env
from tests.projects.helpers import (
    Terminal,
    is_running,
    training_child,
    wait_for_training,
    wait_until,
    write_shape_folders,
)

SUBCOMMANDS = (
    "create",
    "list",
    "add",
    "common",
    "common add",
    "train",
    "status",
    "predict",
    "export",
)


@pytest.fixture
def env(petclf_home, base_model) -> dict:
    return project_env(petclf_home, base_model)


def assert_one_error_line(done, *fragments: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petclf project: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def status(name: str, env: dict) -> dict:
    done = run_petclf("project", "status", name, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def project_names(env: dict) -> list[str]:
    done = run_petclf("project", "list", env=env)
    assert done.returncode == 0, done.stderr
    return (
        [line.split()[0] for line in done.stdout.splitlines()[1:]]
        if done.stdout.startswith("name")
        else []
    )


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command):
    done = run_petclf("project", *command.split(), "--help", env=None)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: petclf project {command}")


# adding photos


def test_add_stores_each_photo_once_and_reports_every_rejected_file(env, tmp_path):
    photos = write_shape_folders(tmp_path / "photos", ("cat", "dog"), per_class=6)
    (photos / "cat" / "nested").mkdir()
    (photos / "cat" / "nested" / "deep.png").write_bytes(encode(shape_image("cat", seed=77), "PNG"))
    (photos / "cat" / "notes.jpg").write_text("not a photo")
    (photos / "dog" / "copy.png").write_bytes((photos / "dog" / "dog0.png").read_bytes())
    (photos / "dog" / "cut.png").write_bytes((photos / "dog" / "dog1.png").read_bytes()[:300])
    assert run_petclf("project", "create", "pets", env=env).returncode == 0

    first = Terminal("project", "add", "pets", photos, env=env)
    code, out, screen = first.finish()
    assert code == 1  # some files were rejected; the others are stored
    assert out.splitlines()[0] == "pets: 13 stored, 1 duplicate, 2 rejected"
    notes, cut = out.splitlines()[1:]
    assert (
        notes
        == f"rejected {photos / 'cat' / 'notes.jpg'}: This is plain text, not a photo; use JPEG, PNG, GIF, WebP, BMP or TIFF."
    )
    # with its reason
    assert re.fullmatch(rf"rejected {re.escape(str(photos / 'dog' / 'cut.png'))}: \w.+", cut), cut
    # the progress bar drew on the terminal
    assert re.search(r"adding: 100%\|.*\| 16/16", screen), screen

    stored = status("pets", env)
    assert stored["photos"] == 13
    assert {label: sum(sides.values()) for label, sides in stored["classes"].items()} == {
        "cat": 7,
        "dog": 6,
    }

    again = run_petclf(
        "project", "add", "pets", photos / "dog", "--class", "dog", "--side", "test", env=env
    )
    assert again.returncode == 1 and again.stdout.startswith(
        "pets: 0 stored, 7 duplicate, 1 rejected"
    )
    flat = write_shape_folders(tmp_path / "more", ("bird",), per_class=5)
    added = run_petclf(
        "project", "add", "pets", flat / "bird", "--class", "bird", "--side", "test", env=env
    )
    assert added.returncode == 0 and added.stdout == "pets: 5 stored, 0 duplicate, 0 rejected\n", (
        added.stderr
    )
    assert status("pets", env)["classes"]["bird"] == {"train": 0, "test": 5}


def test_common_add_fills_the_shared_pool(env, tmp_path):
    folder = write_shape_folders(tmp_path / "none", ("bird",), per_class=4)
    done = run_petclf("project", "common", "add", folder, "--side", "train", env=env)
    assert done.returncode == 0 and done.stdout == "common: 4 stored, 0 duplicate, 0 rejected\n", (
        done.stderr
    )
    assert run_petclf("project", "create", "pets", env=env).returncode == 0
    assert status("pets", env)["common_pool"] == {"train": 4, "test": 0}


# bad input: one line on stderr, exit 1, nothing stored


@pytest.mark.parametrize(
    "command",
    [
        ("status", "nope"),
        ("add", "nope", "."),
        ("train", "nope"),
        ("predict", "nope", "x.png"),
        ("export", "nope", "--out", "x.zip"),
    ],
)
def test_an_unknown_project_is_one_line(env, command):
    assert_one_error_line(
        run_petclf("project", *command, env=env), "There is no project named nope."
    )
    assert project_names(env) == []


def test_bad_names_store_nothing(env, tmp_path):
    assert_one_error_line(
        run_petclf("project", "create", "pets", "--class", "a/b", env=env),
        "The class name 'a/b' can't contain",
    )
    assert_one_error_line(
        run_petclf("project", "create", "x" * 65, env=env), "is 65 characters long; the limit is 64"
    )
    assert project_names(env) == []  # the project of a refused class was not created either

    photos = write_shape_folders(tmp_path / "photos", ("cat",), per_class=5)
    (photos / "cat").rename(photos / ("y" * 65))
    write_shape_folders(photos, ("cat",), per_class=5, first_seed=10)
    assert run_petclf("project", "create", "pets", env=env).returncode == 0
    assert_one_error_line(
        run_petclf("project", "add", "pets", photos, env=env), "The class name", "the limit is 64"
    )
    assert_one_error_line(
        run_petclf("project", "add", "pets", photos / "cat", "--class", "..", env=env),
        "can't contain",
    )
    assert status("pets", env)["photos"] == 0  # not even the valid class's photos


def test_missing_and_empty_folders_are_one_line(env, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run_petclf("project", "create", "pets", env=env).returncode == 0
    cases = [
        (("add", "pets", tmp_path / "missing"), "does not exist"),
        (("add", "pets", tmp_path / "empty"), "has no class folders"),
        (("add", "pets", tmp_path / "empty", "--class", "cat"), "has no photos"),
        (("common", "add", tmp_path / "missing"), "does not exist"),
    ]
    for command, fragment in cases:
        assert_one_error_line(run_petclf("project", *command, env=env), str(tmp_path), fragment)


def test_training_needs_enough_photos_and_one_job_at_a_time(env, tmp_path):
    for name, per_class in (("few", 3), ("pets", 8)):
        photos = write_shape_folders(tmp_path / name, ("cat", "dog"), per_class=per_class)
        for command in (("create", name), ("add", name, photos)):
            assert run_petclf("project", *command, env=env).returncode == 0
    assert_one_error_line(
        run_petclf("project", "train", "few", env=env),
        "The class cat has 3 photos; add at least 2 more.",
    )
    assert status("few", env)["job"] is None

    queued = run_petclf("project", "train", "pets", "--no-wait", env=env)
    assert queued.returncode == 0, queued.stderr
    job_id = re.search(r"Queued job (\w+)", queued.stdout).group(1)
    assert status("pets", env)["job"]["id"] == job_id
    for flags in ((), ("--no-wait",)):
        assert_one_error_line(
            run_petclf("project", "train", "pets", *flags, env=env),
            f"is training already (job {job_id}, queued)",
        )


def test_a_project_without_a_model_cannot_predict_or_export(env, tmp_path):
    photo = tmp_path / "cat.png"
    photo.write_bytes(encode(shape_image("cat", seed=1), "PNG"))
    assert run_petclf("project", "create", "pets", env=env).returncode == 0
    assert_one_error_line(
        run_petclf("project", "predict", "pets", photo, env=env), "has no trained model yet"
    )
    assert_one_error_line(
        run_petclf("project", "export", "pets", "--out", tmp_path / "x.zip", env=env),
        "no trained model to export",
    )
    assert not (tmp_path / "x.zip").exists()


# a trained project


def test_train_runs_here_and_its_bar_follows_the_job(trained):
    code, out, screen = trained.train
    assert code == 0, screen
    assert re.fullmatch(
        r"v1 trained and activated: test accuracy \d+\.\d%, unknown threshold \d\.\d{4}\.\n", out
    )
    # The bar showed the job row's phases as the training child wrote them.
    assert re.search(r"loading: +\d+%\|", screen), screen
    assert "publishing" in screen


def test_status_and_list_show_the_active_version(trained):
    shown = status(trained.name, trained.env)
    assert shown["active_version"] == 1 and shown["job"] is None
    [version] = shown["versions"]
    assert version["number"] == 1 and version["active"] and version["labels"] == ["cat", "dog"]
    # An energy threshold is a log-sum-exp of logits: any finite number, its scale set by the backbone.
    assert 0 <= version["accuracy"] <= 1 and math.isfinite(version["threshold"])
    text = run_petclf("project", "status", trained.name, env=trained.env).stdout
    assert (
        f"v1 (active): accuracy {version['accuracy']:.1%}, unknown threshold {version['threshold']:.4f}"
        in text
    )
    listed = run_petclf("project", "list", env=trained.env).stdout.splitlines()
    assert listed[0].split() == ["name", "classes", "photos", "active", "job"]
    assert listed[1].split() == [trained.name, "cat,", "dog", "16", "v1", "-"]


def test_predict_answers_like_the_engine(trained, tmp_path):
    photos = [trained.photos / "cat" / "cat0.png", trained.photos / "dog" / "dog3.png"]
    broken = tmp_path / "broken.png"
    broken.write_text("text")
    done = run_petclf(
        "project", "predict", trained.name, "--json", *photos, broken, env=trained.env
    )
    assert done.returncode == 1  # one image failed; the others answered
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    engine = load_engine(trained.home / "projects" / trained.name / "v1.h5", threads=1)
    assert lines[:2] == [
        {"file": str(path), **engine.predict_bytes(path.read_bytes()).to_dict()} for path in photos
    ]
    assert lines[2]["file"] == str(broken) and lines[2]["error"]["message"].startswith(
        "This is plain text"
    )
    assert done.stderr == f"petclf project predict: {broken}: {lines[2]['error']['message']}\n"

    text = run_petclf("project", "predict", trained.name, photos[0], env=trained.env)
    assert text.returncode == 0, text.stderr
    header, *ranked = text.stdout.splitlines()
    assert header.startswith(f"{photos[0]}: {lines[0]['label']}")
    assert ranked == [
        f"{rank}. {item['label']} ({item['proba']:.4f})"
        for rank, item in enumerate(lines[0]["predictions"], 1)
    ]


def test_export_writes_the_version_zip(trained, tmp_path):
    out = tmp_path / "pets.zip"
    done = run_petclf(
        "project", "export", trained.name, "--version", "1", "--out", out, env=trained.env
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        assert sorted(archive.namelist()) == ["labels.txt", "v1.h5", "v1.json", "v1.tflite"]
        assert archive.read("labels.txt") == b"cat\ndog\n"
        assert (
            archive.read("v1.h5")
            == (trained.home / "projects" / trained.name / "v1.h5").read_bytes()
        )
    assert_one_error_line(
        run_petclf(
            "project", "export", trained.name, "--version", "7", "--out", out, env=trained.env
        ),
        "has no version 7",
    )


def test_no_forceful_keeps_the_existing_model(trained):
    assert_one_error_line(
        run_petclf("project", "train", trained.name, "--no-forceful", env=trained.env),
        "has a model already (v1)",
    )
    assert status(trained.name, trained.env)["job"] is None


def test_ctrl_c_cancels_the_training_and_v1_keeps_serving(in_trained_home):
    trained = in_trained_home
    terminal = Terminal("project", "train", trained.name, env=trained.env)

    def job_id():
        with session() as db:
            job = service.active_job(db, service.get(db, trained.name))
            return job and job.id

    job = wait_for_training(wait_until(job_id, 120, "the train command's job"))
    child = training_child(terminal.process.pid)
    terminal.interrupt()
    code, out, screen = terminal.finish(timeout=60)

    assert code == 130, screen
    assert "Cancelled: Cancelled; the previous version keeps serving." in screen and out == ""
    assert not is_running(child)
    shown = status(trained.name, trained.env)
    assert (
        shown["job"] is None
        and shown["active_version"] == 1
        and [v["number"] for v in shown["versions"]] == [1]
    )
    with session() as db:
        assert service.job(db, job["id"]).state == "cancelled"
    cat = run_petclf(
        "project", "predict", trained.name, trained.photos / "cat" / "cat2.png", env=trained.env
    )
    assert cat.returncode == 0 and cat.stdout.splitlines()[1].startswith("1. cat ("), cat.stdout
