"""`pip install .` brings every runtime dependency, in a range that admits the tested pins."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import petclf

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    """requirements.txt as {name: pinned version}."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix(
                "=="
            )
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _declared() -> dict[str, Requirement]:
    project = _project()
    lines = project["dependencies"] + [
        line for extra in project.get("optional-dependencies", {}).values() for line in extra
    ]
    return {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}


def test_every_pinned_requirement_is_declared_in_a_range_that_admits_the_pin():
    pins, declared = _pins(), _declared()
    assert set(pins) == set(declared)
    wrong = {
        name: (pin, str(declared[name].specifier))
        for name, pin in pins.items()
        if pin not in declared[name].specifier
    }
    assert not wrong


def test_the_version_comes_from_pyproject():
    assert petclf.__version__ == _project()["version"]
