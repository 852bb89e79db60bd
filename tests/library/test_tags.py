"""With a tags model (PETCLF_TAGS_MODEL), the library keeps each photo's tags and filters by them."""

import json
import shutil

from petclf.cli import main
from tests.training.test_tags import backbone_weights, mosaics, tags_model  # noqa: F401
from training.tag_labels import read_tag_labels


def _find(capsys, *filters) -> list[dict]:
    assert main(["library", "find", "--json", *filters]) == 0
    return json.loads(capsys.readouterr().out)["photos"]


def test_added_photos_get_their_tags_and_the_tag_filter_finds_them(
    library_home,
    tags_model,  # noqa: F811
    mosaics,  # noqa: F811
    monkeypatch,
    tmp_path,
    capsys,
):
    monkeypatch.setenv("PETCLF_TAGS_MODEL", str(tags_model[0]))
    labels = read_tag_labels(mosaics / "test" / "tags.csv", min_photos=1)
    folder = tmp_path / "album"
    folder.mkdir()
    for path in labels.paths[:8]:
        shutil.copy(path, folder / path.name)
    assert main(["library", "add", str(folder)]) == 0
    capsys.readouterr()

    photos = _find(capsys)
    assert len(photos) == 8
    tagged = {photo["name"]: set(photo["tags"]) for photo in photos}
    expected = {
        name: {tag for tag, has in zip(labels.tags, labels.targets[row]) if has}
        for row, name in enumerate(labels.names[:8])
    }
    assert sum(tagged[name] == expected[name] for name in expected) >= 6

    for tag in labels.tags:
        found = {photo["name"] for photo in _find(capsys, "--tag", tag)}
        assert found == {name for name, tags in tagged.items() if tag in tags}
    both = {photo["name"] for photo in _find(capsys, "--tag", "cat", "--tag", "dog")}
    assert both == {name for name, tags in tagged.items() if {"cat", "dog"} <= tags}
