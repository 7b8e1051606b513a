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
    data_folders = {
        ".".join(("tray_app", "resources", *d.relative_to(ROOT / "resources").parts))
        for d in (ROOT / "resources").rglob("*")
        if d.is_dir()
    }
    # Every data folder is a package of its own: setuptools warns ("Package would be ignored")
    # about a folder shipped only through its parent's package-data.
    assert set(config["packages"]) == in_tree | {"tray_app.resources"} | data_folders
    assert config["package-dir"]["tray_app.resources"] == "resources"
    shipped = {
        p
        for package, patterns in config["package-data"].items()
        for pat in patterns
        for p in (ROOT / "resources" / Path(*package.split(".")[2:])).glob(pat)
    }
    assert any(p.suffix == ".svg" for p in shipped) and any(p.suffix == ".json" for p in shipped)
    on_disk = {p for p in (ROOT / "resources").rglob("*") if p.is_file()}
    assert on_disk <= shipped, on_disk - shipped


# A stand-in interpreter for scripts/package.sh: `-m venv DIR` makes DIR/bin/python (itself),
# pip's answers come from the environment: FAKE_INDEX=up|down, FAKE_PROJECT=ok|broken.
FAKE_PYTHON = """#!/bin/sh
case "$*" in
  "-m venv "*) mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0 ;;
  "-c "*) echo "3.11.7 (fake)"; exit 0 ;;
  "-m pip index versions pip") [ "$FAKE_INDEX" = up ]; exit $? ;;
  "-m pip install -q --upgrade pip"|"-m pip install -q pyinstaller"*) [ "$FAKE_INDEX" = up ]; exit $? ;;
  "-m pip uninstall"*) exit 0 ;;
  "-m pip install -q .") [ "$FAKE_INDEX" = up ] && [ "$FAKE_PROJECT" = ok ]; exit $? ;;
esac
echo "fake python: unexpected $*" >&2
exit 9
"""


def _package(tmp_path: Path, index: str, project: str) -> tuple[int, str]:
    import os
    import subprocess

    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON, encoding="utf-8")
    python.chmod(0o755)
    env = {**os.environ, "PYTHON": str(python), "FAKE_INDEX": index, "FAKE_PROJECT": project,
           "PACKAGE_VENV": str(tmp_path / "venv"), "PACKAGE_DIST": str(tmp_path / "dist"),
           "PACKAGE_WORK": str(tmp_path / "work")}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh")], env=env,
                         capture_output=True, text=True, timeout=60)
    return run.returncode, run.stderr


def test_package_sh_says_no_build_environment_only_when_the_index_is_unreachable(tmp_path):
    # Exit 3 turns the bundle tests into a skip (a failure in CI): never for a real failure.
    code, err = _package(tmp_path, index="down", project="ok")
    assert code == 3 and "package index is unreachable" in err
    code, err = _package(tmp_path, index="up", project="broken")
    assert code == 1 and "a packaging failure" in err
