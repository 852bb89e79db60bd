"""A fresh PETCLF_HOME for one test: its own SQLite store and queue, nothing inherited."""

from pathlib import Path

STATE_VARIABLES = ("PETCLF_DATABASE_URL", "PETCLF_QUEUE_URL", "PETCLF_ADMIN_TOKEN")


def fresh_home(
    tmp_path: Path, monkeypatch, *, model: Path | None = None, token: str | None = None
) -> Path:
    """Point PETCLF_HOME at an empty folder; optionally the shipped model and a known admin token."""
    home = tmp_path / "home"
    monkeypatch.setenv("PETCLF_HOME", str(home))
    for name in STATE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if model is not None:
        monkeypatch.setenv("PETCLF_MODEL", str(model))
    if token is not None:
        monkeypatch.setenv("PETCLF_ADMIN_TOKEN", token)
    return home
