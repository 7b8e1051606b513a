"""Throwaway virtual environments for the peer tools, under build/ (git-ignored).

Each tool gets its own venv so that its dependencies never meet ours. Versions are pinned so a
rerun measures the same code; change them here to measure newer releases.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PeerEnv:
    name: str
    requirement: str  # what pip installs
    dist: str  # the distribution whose version is reported


PEERS: dict[str, PeerEnv] = {
    "codecarbon": PeerEnv("codecarbon", "codecarbon==3.3.2", "codecarbon"),
    # "zeus" is the current name on PyPI (zeus-ml stopped at 0.11); it does not need torch.
    "zeus": PeerEnv("zeus", "zeus==0.16.0", "zeus"),
}


def python_of(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(root: Path, peer: PeerEnv, create: bool = True) -> Path:
    """Path of the peer's interpreter, creating its venv and installing it when missing."""
    venv = root / peer.name
    python = python_of(venv)
    if python.exists() and version(python, peer.dist) is not None:
        return python
    if not create:
        raise RuntimeError(f"{venv} is missing; run without --no-setup to create it")
    print(f"setting up {venv} ({peer.requirement}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    peer.requirement], check=True)
    return python


def version(python: Path, dist: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None
