"""The wheel carries every package and the resources (icons, translations)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_package_and_the_resources():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    in_tree = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tray_app").rglob("__init__.py")
    }
    assert set(config["packages"]) == in_tree | {"tray_app.resources"}
    assert config["package-dir"]["tray_app.resources"] == "resources"
    patterns = config["package-data"]["tray_app.resources"]
    shipped = {p for pat in patterns for p in (ROOT / "resources").glob(pat)}
    assert any(p.suffix == ".svg" for p in shipped) and any(p.suffix == ".json" for p in shipped)
    on_disk = {p for p in (ROOT / "resources").rglob("*") if p.is_file()}
    assert on_disk <= shipped, on_disk - shipped
